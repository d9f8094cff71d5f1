package acd

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"testing/synctest"
	"time"
)

const busyQueues = `
engine: {timezone: UTC}
agents:
  - {id: a, skills: {x: 3}}
queues:
  small: {max_size: 2}
  slow: {max_wait: 1m, overflow: backup, skills: {x: 5}}
  backup: {skills: {x: 1}}
  strict: {max_wait: 30s}
  picky: {skills: {x: 4}, join_when_empty: false}
  leaving: {leave_when_empty: true, empty: no_available}
`

func TestFullOverflowTimeoutClosed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, busyQueues, nil)
		defer h.close()
		ctx := context.Background()
		// a is offline: nobody answers. small holds two calls; the third is refused.
		h.call("s1", Request{Queue: "small"}, &fakeCaller{}, time.Hour)
		h.call("s2", Request{Queue: "small"}, &fakeCaller{}, time.Hour)
		synctest.Wait()
		if r := <-h.call("s3", Request{Queue: "small"}, &fakeCaller{}, 0); r.res.Outcome != OutcomeFull || r.err != nil {
			t.Errorf("third call in max_size 2: %+v %v", r.res, r.err)
		}
		if len(h.types("s3")) != 0 {
			t.Errorf("a refused call was logged: %v", h.types("s3"))
		}
		// max_wait with no overflow: timeout, EXITTIMEOUT.
		if r := <-h.call("t1", Request{Queue: "strict"}, &fakeCaller{}, 0); r.res.Outcome != OutcomeTimeout || r.res.Wait != 30*time.Second {
			t.Errorf("strict: %+v", r.res)
		}
		if got := h.types("t1"); !slices.Equal(got, []string{"ENTERQUEUE", "EXITTIMEOUT"}) {
			t.Errorf("strict events %v", got)
		}
		// The flow's own timeout wins over a longer max_wait.
		if r := <-h.call("t2", Request{Queue: "strict", Timeout: 20 * time.Second}, &fakeCaller{}, 0); r.res.Outcome != OutcomeTimeout || r.res.Wait != 20*time.Second {
			t.Errorf("flow timeout: %+v", r.res)
		}
		// picky refuses callers while no agent with x >= 4 is logged in.
		if r := <-h.call("p1", Request{Queue: "picky"}, &fakeCaller{}, 0); r.res.Outcome != OutcomeClosed {
			t.Errorf("picky: %+v", r.res)
		}
		// slow overflows to backup after 1 m, where a (x 3 < 5) qualifies; a logs in then.
		ch := h.call("o1", Request{Queue: "slow"}, &fakeCaller{talk: time.Minute}, 0)
		h.e.SetPresence(ctx, "a", PresenceAvailable, "")
		r := <-ch
		if r.res.Outcome != OutcomeCompleted || r.res.Queue != "backup" || r.res.Agent != "a" || r.res.Wait != 62*time.Second {
			t.Errorf("overflow: %+v", r.res)
		}
		if got, want := h.types("o1"), []string{"ENTERQUEUE", "OVERFLOW", "ENTERQUEUE", "RINGAGENT:a", "CONNECT:a", "COMPLETEAGENT:a"}; !slices.Equal(got, want) {
			t.Errorf("overflow events %v, want %v", got, want)
		}
		// leaving: callers leave with closed once no agent is available. a is busy
		// on a long call but available: l1 waits; a chooses a break: l1 leaves.
		busy := h.call("busy", Request{Queue: "backup"}, &fakeCaller{talk: 10 * time.Minute}, 0)
		time.Sleep(5 * time.Second)
		ch = h.call("l1", Request{Queue: "leaving"}, &fakeCaller{}, 0)
		time.Sleep(time.Minute)
		h.e.SetPresence(ctx, "a", PresenceBreak, "meeting")
		if r := <-ch; r.res.Outcome != OutcomeClosed || r.res.Wait != time.Minute {
			t.Errorf("leave when empty: %+v", r.res)
		}
		if got := h.types("l1"); !slices.Equal(got, []string{"ENTERQUEUE", "OVERFLOW"}) {
			t.Errorf("leaving events %v", got)
		}
		if r := <-busy; r.res.Outcome != OutcomeCompleted {
			t.Errorf("busy call %+v", r.res)
		}
		if a := h.agent("a"); a.State() != StateBreak {
			t.Errorf("after the call a is %v", a.State())
		}
		f := h.e.Today("slow")
		if f.Overflowed != 1 || f.FlowedOut() != 1 {
			t.Errorf("slow figures %+v", f.Counts)
		}
		if f := h.e.Today("leaving"); f.Closed != 1 {
			t.Errorf("leaving figures %+v", f.Counts)
		}
	})
}

// TestPriorityOrderThroughEngine: with one agent, calls are answered by priority,
// then by age.
func TestPriorityOrderThroughEngine(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, `
engine: {timezone: UTC}
agents: [{id: a}]
queues: {q: {}}
`, nil)
		defer h.close()
		prios := []int{1, 5, 5, 9, 0, 9}
		results := make([]<-chan callResult, len(prios))
		for i, p := range prios {
			results[i] = h.call(fmt.Sprint(i), Request{Queue: "q", Priority: p}, &fakeCaller{talk: time.Minute}, 0)
			time.Sleep(time.Second)
		}
		h.e.SetPresence(context.Background(), "a", PresenceAvailable, "")
		for _, r := range results {
			<-r
		}
		var order []string
		for _, ev := range h.log.Events() {
			if ev.Type == EventConnect {
				order = append(order, ev.CallID)
			}
		}
		if want := []string{"3", "5", "1", "2", "0", "4"}; !slices.Equal(order, want) {
			t.Errorf("answer order %v, want %v", order, want)
		}
	})
}

// TestRelaxationThroughEngine: an expert-only call goes to a novice once relaxed.
func TestRelaxationThroughEngine(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, `
engine: {timezone: UTC}
agents: [{id: novice, skills: {fr: 2}, presence: available}]
queues:
  q:
    skills: {fr: 5}
    relax: [{after: 40s, lower: 2}, {after: 90s, lower: 1}]
`, nil)
		defer h.close()
		r := <-h.call("c", Request{Queue: "q"}, &fakeCaller{talk: time.Second}, 0)
		if r.res.Agent != "novice" || r.res.Wait != 92*time.Second {
			t.Errorf("relaxed: %+v", r.res)
		}
		pop := <-h.pops
		if pop.Skills["fr"] != 2 || pop.WaitSeconds != 90 {
			t.Errorf("screen-pop requirement %v after %v s", pop.Skills, pop.WaitSeconds)
		}
	})
}

func TestAnnouncements(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, `
engine: {timezone: UTC}
agents: [{id: a, presence: available}, {id: b, presence: available}]
queues: {q: {announce_first: 5s, announce_every: 30s, expected_aht: 2m}}
`, map[string]agentBehaviour{"a": answerAfter(time.Second), "b": answerAfter(time.Second)})
		defer h.close()
		// Two long calls occupy both agents; the third waits in position 1.
		r1 := h.call("1", Request{Queue: "q"}, &fakeCaller{talk: 10 * time.Minute}, 0)
		r2 := h.call("2", Request{Queue: "q"}, &fakeCaller{talk: 10 * time.Minute}, 0)
		defer func() { <-r1; <-r2 }()
		time.Sleep(2 * time.Second)
		c3 := &fakeCaller{}
		h.call("3", Request{Queue: "q", AnnouncePosition: true, AnnounceWait: true}, c3, 66*time.Second)
		c4 := &fakeCaller{}
		h.call("4", Request{Queue: "q", AnnouncePosition: true}, c4, 40*time.Second)
		time.Sleep(70 * time.Second)
		synctest.Wait()
		anns := c3.announcements()
		if len(anns) != 3 { // at 5 s, 35 s, 65 s
			t.Fatalf("announcements %+v", anns)
		}
		// position 1, nobody idle, 2 agents, AHT 2 m: 1 × 2 m ÷ 2 = 1 m, plus the 1 s
		// agents took to answer.
		if a := anns[0]; a.Position != 1 || !a.WaitKnown || a.Wait != time.Minute+time.Second || a.OfferCallback {
			t.Errorf("first announcement %+v", a)
		}
		if a := c4.announcements()[0]; a.Position != 2 || a.WaitKnown {
			t.Errorf("c4's announcement %+v", a)
		}
		st, err := h.e.Status(context.Background(), "q")
		if err != nil || st.Waiting != 0 || st.AgentsStaffed != 2 || st.AgentsAvailable != 0 || st.EstimatedWait != time.Minute+time.Second {
			t.Errorf("status %+v %v", st, err)
		}
	})
}

func TestTransferToQueue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, `
engine: {timezone: UTC}
agents: [{id: a, skills: {s: 1}, presence: available}, {id: b, skills: {t: 1}, presence: available}]
queues: {sales: {skills: {s: 1}}, tech: {skills: {t: 1}}}
`, nil)
		defer h.close()
		c := &fakeCaller{talk: 30 * time.Second, transferTo: "tech"}
		r := <-h.call("c", Request{Queue: "sales"}, c, 0)
		if r.res.Outcome != OutcomeCompleted || r.res.Queue != "tech" || r.res.Agent != "b" {
			t.Fatalf("after transfer: %+v", r.res)
		}
		want := []string{"ENTERQUEUE", "RINGAGENT:a", "CONNECT:a", "TRANSFER:a", "ENTERQUEUE", "RINGAGENT:b", "CONNECT:b", "COMPLETEAGENT:b"}
		if got := h.types("c"); !slices.Equal(got, want) {
			t.Errorf("events %v, want %v", got, want)
		}
	})
}

func TestInvalidRequests(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, "queues: {q: {}}\nengine: {timezone: UTC}\n", nil)
		defer h.close()
		ctx := context.Background()
		for _, tc := range []struct {
			call Call
			req  Request
			c    Caller
		}{
			{Call{}, Request{Queue: "q"}, &fakeCaller{}},
			{Call{ID: "x"}, Request{Queue: "q"}, nil},
			{Call{ID: "x"}, Request{Queue: "q", Priority: 11}, &fakeCaller{}},
			{Call{ID: "x"}, Request{Queue: "q", Skills: Skills{"a": 0}}, &fakeCaller{}},
			{Call{ID: "x"}, Request{Queue: "nope"}, &fakeCaller{}},
		} {
			if r, err := h.e.Enqueue(ctx, tc.call, tc.req, tc.c); r.Outcome != OutcomeError || err == nil {
				t.Errorf("%+v %+v: %+v %v", tc.call, tc.req, r, err)
			}
		}
		h.e.Close()
		if r, err := h.e.Enqueue(ctx, Call{ID: "y"}, Request{Queue: "q"}, &fakeCaller{}); r.Outcome != OutcomeError || err != ErrClosed {
			t.Errorf("after Close: %+v %v", r, err)
		}
	})
}

// TestCloseWhileWaiting: Close ends waits with the error outcome and an EXITTIMEOUT
// (reason shutdown), so the log accounts for every offered call.
func TestCloseWhileWaiting(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, "queues: {q: {}}\nengine: {timezone: UTC}\n", nil)
		ch := h.call("c", Request{Queue: "q"}, &fakeCaller{}, 0)
		time.Sleep(time.Minute)
		h.close()
		r := <-ch
		if r.res.Outcome != OutcomeError || r.err != ErrClosed {
			t.Errorf("%+v %v", r.res, r.err)
		}
		evs := h.log.Events()
		if last := evs[len(evs)-1]; last.Type != EventExitTimeout || last.Reason != "shutdown" {
			t.Errorf("last event %+v", last)
		}
	})
}

func TestAgentAPI(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, `
engine: {timezone: UTC}
agents: [{id: a, presence: available}]
queues: {q: {wrap_up: 1m}}
`, nil)
		defer h.close()
		ctx := context.Background()
		<-h.call("c1", Request{Queue: "q"}, &fakeCaller{talk: time.Second}, 0)
		if a := h.agent("a"); a.Activity != ActivityWrapUp {
			t.Fatalf("after the call: %+v", a)
		}
		// Ready ends wrap-up early; the next call is answered at once.
		time.Sleep(10 * time.Second)
		if err := h.e.Ready(ctx, "a"); err != nil {
			t.Fatal(err)
		}
		if r := <-h.call("c2", Request{Queue: "q"}, &fakeCaller{talk: time.Second}, 0); r.res.Wait != 2*time.Second {
			t.Errorf("after Ready: %+v", r.res)
		}
		f := h.e.Today("q")
		if aht, _ := f.AHT(); f.Handled != 1 || aht != 11*time.Second { // c1: 1 s talk + 10 s wrap-up
			t.Errorf("AHT %v over %d handled", aht, f.Handled)
		}
		// AddQueue validates like the config file, then serves calls.
		bad := DefaultQueue("new")
		bad.Overflow = "nowhere"
		bad.MaxWait = time.Minute
		if err := h.e.AddQueue(bad); err == nil {
			t.Error("AddQueue accepted an unknown overflow queue")
		}
		if err := h.e.AddQueue(DefaultQueue("new")); err != nil {
			t.Fatal(err)
		}
		h.e.Ready(ctx, "a")
		if r := <-h.call("c3", Request{Queue: "new"}, &fakeCaller{talk: time.Second}, 0); r.res.Outcome != OutcomeCompleted {
			t.Errorf("new queue: %+v", r.res)
		}
		// An agent on a call cannot be removed; afterwards they can, and are gone.
		busy := h.call("c4", Request{Queue: "new"}, &fakeCaller{talk: time.Minute}, 0)
		time.Sleep(5 * time.Second)
		if err := h.e.RemoveAgent(ctx, "a"); err == nil {
			t.Error("removed an agent on a call")
		}
		<-busy
		if err := h.e.RemoveAgent(ctx, "a"); err != nil {
			t.Fatal(err)
		}
		if as, _ := h.e.Agents(ctx); len(as) != 0 {
			t.Errorf("agents left: %+v", as)
		}
		if err := h.e.SetPresence(ctx, "a", PresenceAvailable, ""); err == nil {
			t.Error("presence of a removed agent")
		}
		if err := h.e.AddAgent(ctx, Agent{ID: "b", Skills: Skills{"x": 6}}); err == nil {
			t.Error("skill level 6 accepted")
		}
	})
}
