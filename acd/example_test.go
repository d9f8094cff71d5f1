package acd_test

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/hotline-ivr/hotline/acd"
)

// phone is an agent's Endpoint that answers at once (the SIP or WebRTC side
// implements the real one).
type phone struct{}

func (phone) Offer(_ context.Context, o acd.Offer) (acd.Leg, acd.OfferResult, error) {
	fmt.Printf("screen-pop for %s: %s from %s in %s\n", o.Agent, o.CallID, o.ScreenPop.CallerNumber, o.Queue)
	return leg{}, acd.OfferAnswered, nil
}

type leg struct{}

func (leg) Whisper(context.Context, string) error { return nil }
func (leg) Hangup(context.Context) error          { return nil }

// caller is the waiting caller's leg: it holds until interrupted, and talks for a
// moment before the agent hangs up.
type caller struct{}

func (caller) Hold(ctx context.Context) (byte, error) { <-ctx.Done(); return 0, nil }
func (caller) Announce(context.Context, acd.Announcement) (byte, error) {
	return 0, nil
}
func (caller) Bridge(context.Context, acd.Leg) (acd.BridgeResult, error) {
	time.Sleep(10 * time.Millisecond)
	return acd.BridgeResult{End: acd.EndAgent}, nil
}

func ExampleEngine_Enqueue() {
	cfg, err := acd.ParseConfig("acd.yaml", []byte(`
agents:
  - {id: alice, name: Alice, extension: "1001", skills: {billing: 4}, presence: available}
queues:
  billing: {skills: {billing: 3}, wrap_up: 10s}
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	log := &acd.MemLog{}
	e, err := acd.NewEngine(acd.WithConfig(cfg), acd.WithEventLog(log))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer e.Close()
	e.SetEndpoint("alice", phone{}) // her phone registered

	res, err := e.Enqueue(context.Background(),
		acd.Call{ID: "call-1", Caller: "+15550100", Intent: "invoice"},
		acd.Request{Queue: "billing", Priority: 5}, caller{})
	fmt.Println(res.Outcome, res.Agent, err)
	for _, ev := range log.Events() {
		if ev.Type != acd.EventAgentState {
			fmt.Println(strings.TrimSpace(string(ev.Type) + " " + ev.Agent))
		}
	}
	// Output:
	// screen-pop for alice: call-1 from +15550100 in billing
	// completed alice <nil>
	// ENTERQUEUE
	// RINGAGENT alice
	// CONNECT alice
	// COMPLETEAGENT alice
}

func ExampleParseConfig() {
	_, err := acd.ParseConfig("acd.yaml", []byte("queues:\n  billing: {stratgy: ring_all, ring_timeout: 0}\n"))
	fmt.Println(err)
	// Output:
	// acd.yaml:2:13: queues.billing: unknown key "stratgy" (did you mean "strategy"?)
	// acd.yaml:2:46: queues.billing.ring_timeout must be more than 0 and at most 24h, got "0"
}
