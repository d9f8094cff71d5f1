package acd

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"testing/synctest"
	"time"
)

const cbConfig = `
engine: {timezone: UTC}
agents: [{id: a, presence: available}]
queues:
  q: {callback_retry: 1m, callback_attempts: 2, announce_first: 5s, announce_every: 20s}
  t: {max_wait: 2m, callback_on_timeout: true}
`

// TestCallbackKeepsPlace: a caller who takes a callback is dialled back before a
// caller who arrived after them and stayed on the line.
func TestCallbackKeepsPlace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, cbConfig, nil)
		defer h.close()
		busy := h.call("busy", Request{Queue: "q"}, &fakeCaller{talk: 5 * time.Minute}, 0)
		time.Sleep(10 * time.Second)
		cA := &fakeCaller{key: '1', keyAt: 30 * time.Second}
		rA := h.call("A", Request{Queue: "q", Callback: true, CallbackAfter: 20 * time.Second}, cA, 0)
		time.Sleep(10 * time.Second)
		rB := h.call("B", Request{Queue: "q"}, &fakeCaller{talk: time.Minute}, 0)
		r := <-rA
		if r.res.Outcome != OutcomeCallback || r.res.CallbackID != "cb-A" || r.err != nil {
			t.Fatalf("A: %+v %v", r.res, r.err)
		}
		// The callback is offered once allowed (after 20 s): the announcement at 5 s had
		// nothing to say and was skipped, the one at 25 s offers it.
		anns := cA.announcements()
		if len(anns) != 1 || !anns[0].OfferCallback || anns[0].CallbackKey != '1' {
			t.Errorf("announcements %+v", anns)
		}
		<-busy
		rb := <-rB
		if rb.res.Agent != "a" {
			t.Fatalf("B: %+v", rb.res)
		}
		var order []string
		for _, ev := range h.log.Events() {
			if ev.Type == EventConnect || ev.Type == EventCallbackConnected {
				order = append(order, string(ev.Type)+":"+ev.CallID)
			}
		}
		if want := []string{"CONNECT:busy", "CALLBACKCONNECTED:cb-A", "CONNECT:B"}; !slices.Equal(order, want) {
			t.Errorf("order %v, want %v", order, want)
		}
		if got := h.types("A"); !slices.Equal(got, []string{"ENTERQUEUE", "CALLBACKREQUESTED"}) {
			t.Errorf("A events %v", got)
		}
		if got := h.types("cb-A"); !slices.Equal(got, []string{"RINGAGENT:a", "CALLBACKCONNECTED:a", "COMPLETEAGENT:a"}) {
			t.Errorf("callback events %v", got)
		}
		if cbs, _ := h.e.callbacks.Load(context.Background()); len(cbs) != 0 {
			t.Errorf("callbacks left: %+v", cbs)
		}
		f := h.e.Today("q")
		if f.CallbacksRequested != 1 || f.CallbacksConnected != 1 || f.Answered != 2 || f.Handled != 3 || f.FlowedOut() != 1 {
			t.Errorf("figures %+v", f.Counts)
		}
		// B waited through the callback's conversation: callback + 5 s dial + 1 m talk.
		if rb.res.Wait < 5*time.Minute {
			t.Errorf("B waited %v", rb.res.Wait)
		}
	})
}

func TestCallbackRetryAndGiveUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, cbConfig, nil)
		defer h.close()
		h.dialer.unreachable["+1555X"] = 1  // answers the second attempt
		h.dialer.unreachable["+1555Y"] = 99 // never
		h.e.SetPresence(context.Background(), "a", PresenceBreak, "")
		for _, id := range []string{"X", "Y"} {
			r := <-h.call(id, Request{Queue: "q", Callback: true}, &fakeCaller{key: '1', keyAt: time.Second}, 0)
			if r.res.Outcome != OutcomeCallback {
				t.Fatalf("%s: %+v", id, r.res)
			}
		}
		h.e.SetPresence(context.Background(), "a", PresenceAvailable, "")
		time.Sleep(10 * time.Minute)
		synctest.Wait()
		if got, want := h.dialer.calls(), []string{"cb-X", "cb-Y", "cb-X", "cb-Y"}; !slices.Equal(got, want) {
			t.Errorf("dialled %v, want %v", got, want)
		}
		if got := h.types("cb-X"); slices.Index(got, "CALLBACKCONNECTED:a") < 0 {
			t.Errorf("X never connected: %v", got)
		}
		if cbs, _ := h.e.callbacks.Load(context.Background()); len(cbs) != 0 {
			t.Errorf("callbacks left after giving up: %+v", cbs)
		}
	})
}

func TestCallbackOnTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, cbConfig, nil)
		defer h.close()
		h.e.SetPresence(context.Background(), "a", PresenceOffline, "")
		r := <-h.call("c", Request{Queue: "t", Callback: true}, &fakeCaller{}, 0)
		if r.res.Outcome != OutcomeCallback || r.res.Wait != 2*time.Minute {
			t.Fatalf("%+v", r.res)
		}
		if evs := h.log.Events(); evs[len(evs)-1].Type != EventCallbackRequested || evs[len(evs)-1].Reason != "timeout" {
			t.Errorf("last event %+v", evs[len(evs)-1])
		}
		// Without callback allowed by the flow, the same wait times out.
		if r := <-h.call("d", Request{Queue: "t"}, &fakeCaller{}, 0); r.res.Outcome != OutcomeTimeout {
			t.Errorf("%+v", r.res)
		}
	})
}

// TestCallbackSurvivesRestart: a pending callback written to the file store by one
// engine is dialled by the next one, keeping its place.
func TestCallbackSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	synctest.Test(t, func(t *testing.T) {
		store, err := OpenFileCallbacks(filepath.Join(dir, "callbacks.json"))
		if err != nil {
			t.Fatal(err)
		}
		logPath := filepath.Join(dir, "queue.jsonl")
		flog, err := OpenFileLog(logPath, true)
		if err != nil {
			t.Fatal(err)
		}
		h := newHarness(t, cbConfig, nil, WithCallbackStore(store), WithEventLog(flog))
		h.e.SetPresence(context.Background(), "a", PresenceOffline, "")
		r := <-h.call("c", Request{Queue: "q", Callback: true, CallbackNumber: "+33100"}, &fakeCaller{key: '1', keyAt: 3 * time.Second}, 0)
		if r.res.Outcome != OutcomeCallback {
			t.Fatalf("%+v", r.res)
		}
		h.close()
		flog.Close()
		before := h.e.Today("q")

		store2, err := OpenFileCallbacks(filepath.Join(dir, "callbacks.json"))
		if err != nil {
			t.Fatal(err)
		}
		flog2, err := OpenFileLog(logPath, true)
		if err != nil {
			t.Fatal(err)
		}
		defer flog2.Close()
		h2 := newHarness(t, cbConfig, nil, WithCallbackStore(store2), WithEventLog(flog2))
		defer h2.close()
		// Today's figures came back from the log.
		if after := h2.e.Today("q"); after.Offered != before.Offered || after.CallbacksRequested != 1 {
			t.Errorf("figures after restart %+v, before %+v", after.Counts, before.Counts)
		}
		time.Sleep(2 * time.Minute)
		synctest.Wait()
		if got := h2.dialer.calls(); !slices.Equal(got, []string{"cb-c"}) {
			t.Fatalf("dialled after restart: %v", got)
		}
		if cbs, _ := store2.Load(context.Background()); len(cbs) != 0 {
			t.Errorf("callback still pending: %+v", cbs)
		}
	})
}
