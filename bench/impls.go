package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/agentsapi/agents-go"
	"github.com/hashicorp/go-retryablehttp"
	"golang.org/x/time/rate"
)

// An impl is one way of calling the endpoint. newCaller builds what one
// client (one process) holds; the returned func makes one call and
// reports whether it got the page. release frees the client's idle
// connections once the cell is over.
type impl struct {
	name      string
	newCaller func(t target) (call func(context.Context) error, release func(), err error)
	// redis says the impl shares its limit through the lab's Redis.
	redis bool
}

// target is what a client is built against: the cell's server, and for
// the redis impls the shape's limit and the lab's Redis.
type target struct {
	baseURL string
	limit   float64 // the shape's limit in requests a second
	redis   *labRedis
}

const (
	implSDK        = "sdk"
	implRetryable  = "retryablehttp"
	implHand       = "hand"
	implSDKSharedT = "sdk-tuned-transport"
)

var impls = map[string]impl{
	implSDK:        {name: implSDK, newCaller: newSDKCaller},
	implRetryable:  {name: implRetryable, newCaller: newRetryableCaller},
	implHand:       {name: implHand, newCaller: newHandCaller},
	implSDKSharedT: {name: implSDKSharedT, newCaller: newSDKTunedCaller},
	implRedis:      {name: implRedis, newCaller: newRedisCaller(true), redis: true},
	implRedisLearn: {name: implRedisLearn, newCaller: newRedisCaller(false), redis: true},
}

// newSDKCaller is the SDK exactly as a user gets it: the default Client,
// its own transport, default retries and adaptive pacing.
func newSDKCaller(t target) (func(context.Context) error, func(), error) {
	var opts []agents.Option
	if r, err := strconv.ParseFloat(os.Getenv("LAB_FIXED_RATE"), 64); err == nil {
		opts = append(opts, agents.WithRateLimit(rate.Limit(r), 1)) // to study jitter
	}
	return sdkCaller(t.baseURL, opts...)
}

// newSDKTunedCaller is the default Client given the hand-written
// client's transport settings, to tell the SDK's own cost apart from
// its default transport's small idle pool in the unlimited cell.
func newSDKTunedCaller(t target) (func(context.Context) error, func(), error) {
	hc := &http.Client{Transport: tunedTransport()}
	call, stop, err := sdkCaller(t.baseURL, agents.WithHTTPClient(hc))
	if err != nil {
		return nil, nil, err
	}
	return call, func() { stop(); hc.CloseIdleConnections() }, nil
}

// sdkCaller builds a Client with opts after the lab's base URL and key,
// and a call that fetches and checks one page with it.
func sdkCaller(baseURL string, opts ...agents.Option) (func(context.Context) error, func(), error) {
	c, err := agents.NewClient(append([]agents.Option{agents.WithBaseURL(baseURL), agents.WithAPIKey(apiKey)}, opts...)...)
	if err != nil {
		return nil, nil, err
	}
	call := func(ctx context.Context) error {
		p, err := c.ListSessions(ctx, agentKey, agents.ListSessionsParams{})
		if err != nil {
			return err
		}
		return checkPage(p.Sessions)
	}
	return call, watchPacing(c), nil
}

// newRetryableCaller is "plain go-retryablehttp (10 s)" of issue 10: its
// defaults (4 retries, 1 s minimum wait, Retry-After in seconds or an
// RFC 1123 date honoured) with the longest wait raised to 10 s.
func newRetryableCaller(t target) (func(context.Context) error, func(), error) {
	rc := retryablehttp.NewClient()
	rc.Logger = nil
	rc.RetryWaitMax = 10 * time.Second
	url := t.baseURL + sessionsPath
	call := func(ctx context.Context) error {
		req, err := retryablehttp.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+apiKey)
		req.Header.Set("Accept", "application/json")
		resp, err := rc.Do(req)
		if err != nil {
			return err
		}
		return decodePage(resp)
	}
	return call, rc.HTTPClient.CloseIdleConnections, nil
}

// tunedTransport is the hand-written client's transport: its own pool,
// big enough that 64 goroutines never close connections.
func tunedTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 64
	t.MaxIdleConnsPerHost = 64
	return t
}

// newHandCaller is the baseline of the unlimited cell: what a user would
// write with net/http and encoding/json alone, no retries.
func newHandCaller(t target) (func(context.Context) error, func(), error) {
	hc := &http.Client{Transport: tunedTransport()}
	url := t.baseURL + sessionsPath
	call := func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+apiKey)
		req.Header.Set("Accept", "application/json")
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		return decodePage(resp)
	}
	return call, hc.CloseIdleConnections, nil
}

type wirePage struct {
	Sessions []struct {
		ID        string            `json:"id"`
		AgentKey  string            `json:"agent_key"`
		Metadata  map[string]string `json:"metadata"`
		Enabled   bool              `json:"enabled"`
		CreatedAt time.Time         `json:"created_at"`
	} `json:"sessions"`
	Metadata struct {
		PageKey    string `json:"page_key"`
		TotalCount int    `json:"total_count"`
	} `json:"metadata"`
}

func decodePage(resp *http.Response) error {
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, resp.Body)
		return fmt.Errorf("bench: HTTP %d", resp.StatusCode)
	}
	var p wirePage
	if err := json.NewDecoder(resp.Body).Decode(&p); err != nil {
		return fmt.Errorf("bench: decoding the page: %w", err)
	}
	_, _ = io.Copy(io.Discard, resp.Body) // let the connection be reused
	if len(p.Sessions) != 1 {
		return fmt.Errorf("bench: page has %d sessions, want 1", len(p.Sessions))
	}
	return nil
}

func checkPage(s []agents.Session) error {
	if len(s) != 1 {
		return fmt.Errorf("bench: page has %d sessions, want 1", len(s))
	}
	return nil
}

// watchPacing prints the Client's PacingStats every 250 ms to stderr
// while LAB_PACING is set, to see what the pacer believes over a run;
// the returned func stops it.
func watchPacing(c *agents.Client) func() {
	if os.Getenv("LAB_PACING") == "" {
		return func() {}
	}
	stop := make(chan struct{})
	start := time.Now()
	go func() {
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				s := c.PacingStats()
				hold := ""
				if !s.HoldUntil.IsZero() {
					hold = " hold " + time.Until(s.HoldUntil).Round(time.Millisecond).String()
				}
				fmt.Fprintf(os.Stderr, "pacing %5.2fs %-8s rate %6.1f conc %2d inflight %2d server %d/%v rem %d req %d 429 %d holds %d%s\n",
					time.Since(start).Seconds(), s.Mode, s.Rate, s.Concurrency, s.InFlight, s.ServerLimit, s.ServerWindow, s.ServerRemaining, s.Requests, s.Throttled, s.Holds, hold)
			}
		}
	}()
	return func() { close(stop) }
}
