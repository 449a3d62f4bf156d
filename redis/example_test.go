package agentsredis_test

import (
	"context"
	"fmt"
	"log"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	agents "github.com/agentsapi/agents-go"
	"github.com/agentsapi/agents-go/internal/fakeapi"
	agentsredis "github.com/agentsapi/agents-go/redis"
)

// Every process of a fleet makes its Client this way, with the same API
// key and Redis: together they send at most the key's 50 requests a
// second. Here an in-process Redis and the SDK's fake API stand in.
func Example() {
	mr, err := miniredis.Run()
	if err != nil {
		log.Fatal(err)
	}
	defer mr.Close()
	api := fakeapi.New()
	defer api.Close()

	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr(), ContextTimeoutEnabled: true})
	defer rdb.Close()
	limiter := agentsredis.New(rdb, fakeapi.DefaultKey, agentsredis.Options{Limit: 50})
	c, err := agents.NewClient(
		agents.WithBaseURL(api.URL),
		agents.WithAPIKey(fakeapi.DefaultKey),
		agents.WithPacer(limiter.Pacer),
	)
	if err != nil {
		log.Fatal(err)
	}
	n := 0
	for _, err := range c.AllSessions(context.Background(), "agt_customer_support", agents.ListSessionsParams{}) {
		if err != nil {
			log.Fatal(err)
		}
		n++
	}
	fmt.Println(n, "sessions, paced with the fleet through Redis")
	// Output: 127 sessions, paced with the fleet through Redis
}
