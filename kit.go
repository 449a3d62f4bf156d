package agents

import (
	"time"

	"github.com/agentsapi/agents-go/internal/kit"
)

func init() {
	kit.WaitScale = func(f float64) any {
		return Option(func(c *config) { c.waitScale = f })
	}
}

// scaled is d as the Client sleeps it: what the server named, times the
// test kit's scale when one is set (see internal/kit).
func scaled(d time.Duration, f float64) time.Duration {
	if f <= 0 || f == 1 {
		return d
	}
	return time.Duration(float64(d) * f)
}
