module github.com/agentsapi/agents-go/examples

go 1.26.0

require (
	github.com/agentsapi/agents-go v0.0.0
	golang.org/x/time v0.16.0
)

require (
	github.com/hashicorp/go-cleanhttp v0.5.2 // indirect
	github.com/hashicorp/go-retryablehttp v0.7.8 // indirect
)

replace github.com/agentsapi/agents-go => ../
