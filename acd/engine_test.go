package acd

import (
	"context"
	"errors"
	"slices"
	"testing"
	"testing/synctest"
	"time"
)

const oneQueue = `
engine: {timezone: UTC, auto_break_after: 2, missed_pause: 10s}
agents:
  - {id: a, skills: {billing: 3}, presence: available}
  - {id: b, skills: {billing: 5}, presence: available}
queues:
  billing: {skills: {billing: 2}, wrap_up: 10s, ring_timeout: 15s, whisper: true}
`

func TestEnqueueConnects(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, oneQueue, nil)
		defer h.close()
		c := &fakeCaller{talk: time.Minute}
		start := time.Now()
		r := <-h.call("c1", Request{Queue: "billing", Priority: 3}, c, 0)
		if r.err != nil || r.res.Outcome != OutcomeCompleted || r.res.End != EndAgent {
			t.Fatalf("result %+v, %v", r.res, r.err)
		}
		// a has been idle longest (logged in first): it rings, answers after 2 s.
		if r.res.Agent != "a" || r.res.Wait != 2*time.Second || r.res.Talk != time.Minute {
			t.Errorf("result %+v", r.res)
		}
		if got := time.Since(start); got != 62*time.Second {
			t.Errorf("Enqueue took %v", got)
		}
		want := []string{"ENTERQUEUE", "RINGAGENT:a", "CONNECT:a", "COMPLETEAGENT:a"}
		if got := h.types("c1"); !slices.Equal(got, want) {
			t.Errorf("events %v, want %v", got, want)
		}
		if l := c.bridged; l == nil || !slices.Equal(l.whispers, []string{"billing, billing"}) || l.hangups == 0 {
			t.Errorf("leg = %+v", l)
		}
		pop := <-h.pops
		if pop.Agent != "a" || pop.CallerNumber != "+1555c1" || pop.Queue != "billing" || pop.Intent != "billing" || pop.Priority != 3 || pop.Type != "offer" {
			t.Errorf("screen-pop %+v", pop)
		}
		if a := h.agent("a"); a.Activity != ActivityWrapUp || a.Calls != 1 {
			t.Errorf("agent after call: %+v", a)
		}
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if a := h.agent("a"); a.Activity != ActivityIdle {
			t.Errorf("agent after wrap-up: %+v", a)
		}
		f := h.e.Today("billing")
		if aht, _ := f.AHT(); f.Offered != 1 || f.Answered != 1 || f.Handled != 1 || aht != 70*time.Second {
			t.Errorf("figures %+v (AHT %v)", f.Counts, aht)
		}
	})
}

// TestRingTimeoutNextAgentAutoBreak: an agent who does not answer is rung for the
// ring timeout, the call goes to the next agent, and after auto_break_after misses
// in a row the agent is put on break.
func TestRingTimeoutNextAgentAutoBreak(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, oneQueue, map[string]agentBehaviour{
			"a": answerAfter(time.Hour), // never answers
			"b": answerAfter(3 * time.Second),
		})
		defer h.close()
		r := <-h.call("c1", Request{Queue: "billing"}, &fakeCaller{talk: 30 * time.Second}, 0)
		if r.res.Agent != "b" || r.res.Wait != 18*time.Second {
			t.Fatalf("first call %+v", r.res)
		}
		want := []string{"ENTERQUEUE", "RINGAGENT:a", "RINGNOANSWER:a", "RINGAGENT:b", "CONNECT:b", "COMPLETEAGENT:b"}
		if got := h.types("c1"); !slices.Equal(got, want) {
			t.Errorf("events %v, want %v", got, want)
		}
		if a := h.agent("a"); a.Missed != 1 || a.Presence != PresenceAvailable {
			t.Errorf("after one miss: %+v", a)
		}
		// b is in wrap-up for 10 s; a missed pause is over: a rings again, misses again.
		time.Sleep(time.Second)
		r = <-h.call("c2", Request{Queue: "billing"}, &fakeCaller{talk: 30 * time.Second}, 0)
		if r.res.Agent != "b" {
			t.Fatalf("second call %+v", r.res)
		}
		if a := h.agent("a"); a.Presence != PresenceBreak || a.Reason != AutoBreakReason {
			t.Errorf("after two misses a is %+v", a)
		}
		var reasons []string
		for _, ev := range h.log.Events() {
			if ev.Type == EventRingNoAnswer {
				reasons = append(reasons, ev.Reason)
				if ev.RingMS != 15_000 {
					t.Errorf("rang %d ms", ev.RingMS)
				}
			}
		}
		if !slices.Equal(reasons, []string{"no_answer", "no_answer"}) {
			t.Errorf("RINGNOANSWER reasons %v", reasons)
		}
	})
}

// TestStuckEndpointReconciled: an endpoint that ignores its context never returns in
// time; after ring timeout + grace the reconciler gives the call to the next agent
// and the late answer is hung up.
func TestStuckEndpointReconciled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, oneQueue, map[string]agentBehaviour{
			"a": func(Offer) (time.Duration, OfferResult, bool) { return time.Minute, OfferAnswered, true },
		})
		defer h.close()
		r := <-h.call("c1", Request{Queue: "billing"}, &fakeCaller{talk: 30 * time.Second}, 0)
		// 15 s ring timeout + 5 s grace, then b answers in 2 s.
		if r.res.Agent != "b" || r.res.Wait != 22*time.Second {
			t.Fatalf("result %+v", r.res)
		}
		var expired bool
		for _, ev := range h.log.Events() {
			if ev.Type == EventRingNoAnswer && ev.Agent == "a" && ev.Reason == "timeout" && ev.RingMS == 20_000 {
				expired = true
			}
		}
		if !expired {
			t.Errorf("no reconciled RINGNOANSWER: %v", h.types("c1"))
		}
		time.Sleep(time.Minute) // the stuck endpoint finally "answers"
		synctest.Wait()
		if a := h.agent("a"); a.Activity == ActivityOnCall || a.Activity == ActivityRinging {
			t.Errorf("late answer connected: %+v", a)
		}
	})
}

func TestAbandonWhileWaitingAndRinging(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, oneQueue, map[string]agentBehaviour{
			"a": answerAfter(time.Hour), "b": answerAfter(time.Hour),
		})
		defer h.close()
		h.e.SetPresence(context.Background(), "b", PresenceOffline, "")
		// c1 hangs up after 3 s, while a rings: a short abandon; a is freed, not missed.
		r := <-h.call("c1", Request{Queue: "billing"}, &fakeCaller{}, 3*time.Second)
		if r.res.Outcome != OutcomeAbandoned || !errors.Is(r.err, context.Canceled) {
			t.Fatalf("c1 %+v %v", r.res, r.err)
		}
		synctest.Wait()
		if a := h.agent("a"); a.Activity != ActivityIdle || a.Missed != 0 {
			t.Errorf("agent after the caller left: %+v", a)
		}
		if got, want := h.types("c1"), []string{"ENTERQUEUE", "RINGAGENT:a", "SHORTABANDON"}; !slices.Equal(got, want) {
			t.Errorf("c1 events %v, want %v", got, want)
		}
		// c2 waits with nobody available and hangs up after 40 s: an abandon.
		h.e.SetPresence(context.Background(), "a", PresenceBreak, "lunch")
		r = <-h.call("c2", Request{Queue: "billing"}, &fakeCaller{}, 40*time.Second)
		if r.res.Outcome != OutcomeAbandoned || r.res.Wait != 40*time.Second {
			t.Fatalf("c2 %+v", r.res)
		}
		if got, want := h.types("c2"), []string{"ENTERQUEUE", "ABANDON"}; !slices.Equal(got, want) {
			t.Errorf("c2 events %v, want %v", got, want)
		}
		f := h.e.Today("billing")
		if f.Offered != 2 || f.Abandoned != 1 || f.ShortAbandoned != 1 {
			t.Errorf("figures %+v", f.Counts)
		}
		if r, ok := f.AbandonRate(); !ok || r != 1 {
			t.Errorf("abandonment rate %v %v", r, ok)
		}
	})
}

// TestRingAll: every eligible agent rings; the first to answer wins, the others are
// cancelled without a miss.
func TestRingAll(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, `
engine: {timezone: UTC}
agents:
  - {id: a, presence: available}
  - {id: b, presence: available}
  - {id: c, presence: available}
queues:
  all: {strategy: ring_all}
`, map[string]agentBehaviour{"a": answerAfter(9 * time.Second), "b": answerAfter(4 * time.Second), "c": answerAfter(6 * time.Second)})
		defer h.close()
		r := <-h.call("c1", Request{Queue: "all"}, &fakeCaller{talk: time.Second}, 0)
		if r.res.Agent != "b" || r.res.Wait != 4*time.Second {
			t.Fatalf("result %+v", r.res)
		}
		got := h.types("c1")
		slices.Sort(got[1:4])
		if want := []string{"ENTERQUEUE", "RINGAGENT:a", "RINGAGENT:b", "RINGAGENT:c", "CONNECT:b", "COMPLETEAGENT:b"}; !slices.Equal(got, want) {
			t.Errorf("events %v, want %v", got, want)
		}
		for _, id := range []string{"a", "c"} {
			if a := h.agent(id); a.Missed != 0 || a.Activity != ActivityIdle {
				t.Errorf("ring-all loser %s: %+v", id, a)
			}
		}
	})
}
