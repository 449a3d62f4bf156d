package agents

import (
	"testing"
	"time"
)

// onHold and onPacing are what the gate calls; they must do nothing
// without hooks, and call every set given.
func TestOnHoldAndOnPacing(t *testing.T) {
	t.Parallel()
	c, err := NewClient(WithAPIKey("k"), WithBaseURL("http://127.0.0.1:1"))
	if err != nil {
		t.Fatal(err)
	}
	hold := HoldEvent{Until: time.Unix(100, 0), Duration: time.Second, RequestID: "req_1"}
	pacing := PacingEvent{Rate: 12.5, Concurrency: 4, Limit: 50, Reason: "429"}
	c.onHold(hold) // no hooks: nothing happens, nothing panics
	c.onPacing(pacing)

	var holds []HoldEvent
	var paces []PacingEvent
	record := Hooks{
		OnHold:   func(ev HoldEvent) { holds = append(holds, ev) },
		OnPacing: func(ev PacingEvent) { paces = append(paces, ev) },
	}
	c, err = NewClient(WithAPIKey("k"), WithBaseURL("http://127.0.0.1:1"), WithHooks(record), WithHooks(record))
	if err != nil {
		t.Fatal(err)
	}
	c.onHold(hold)
	c.onPacing(pacing)
	if len(holds) != 2 || holds[0] != hold || len(paces) != 2 || paces[1] != pacing {
		t.Errorf("holds %v, paces %v; want each event twice", holds, paces)
	}
}
