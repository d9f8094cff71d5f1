package acd

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// transferringCaller is a fakeCaller that connects transfers outside the queues
// itself (TransferCaller): the first failing ones return ErrTransferFailed, the
// others talk for talk.
type transferringCaller struct {
	*fakeCaller
	failing int
	talk    time.Duration

	mu  sync.Mutex
	tos []string
}

func (c *transferringCaller) ConnectTransfer(ctx context.Context, to string) (BridgeResult, error) {
	c.mu.Lock()
	c.tos = append(c.tos, to)
	fail := len(c.tos) <= c.failing
	c.mu.Unlock()
	if fail {
		time.Sleep(20 * time.Second) // the target rings out
		return BridgeResult{}, fmt.Errorf("no answer: %w", ErrTransferFailed)
	}
	select {
	case <-time.After(c.talk):
		return BridgeResult{End: EndAgent}, nil
	case <-ctx.Done():
		return BridgeResult{End: EndCaller}, nil
	}
}

const transferCfg = `
engine: {timezone: UTC}
agents: [{id: a, presence: available}]
queues: {sales: {wrap_up: 5s}}
`

// TestTransferToNumberEndsTalkAtTransfer: a transfer to a target outside the queues
// records TRANSFER with the agent's talk time up to the transfer (not the time the
// caller then spends with the target), starts the agent's wrap-up, and completes
// with TransferTo.
func TestTransferToNumberEndsTalkAtTransfer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, transferCfg, nil)
		defer h.close()
		c := &transferringCaller{fakeCaller: &fakeCaller{talk: 30 * time.Second, transferTo: "2001"}, talk: 2 * time.Minute}
		out := make(chan callResult, 1)
		go func() {
			res, err := h.e.Enqueue(context.Background(), Call{ID: "c", Caller: "+1555"}, Request{Queue: "sales"}, c)
			out <- callResult{res, err}
		}()
		r := <-out
		if r.err != nil || r.res.Outcome != OutcomeCompleted || r.res.TransferTo != "2001" || r.res.End != EndTransfer || r.res.Talk != 30*time.Second {
			t.Fatalf("result %+v %v: want completed, transferred to 2001 after 30 s of talk", r.res, r.err)
		}
		want := []string{"ENTERQUEUE", "RINGAGENT:a", "CONNECT:a", "TRANSFER:a"}
		if got := h.types("c"); !slices.Equal(got, want) {
			t.Errorf("events %v, want %v", got, want)
		}
		for _, ev := range h.log.Events() {
			if ev.Type == EventTransfer && (ev.TalkMS != 30000 || ev.To != "2001") {
				t.Errorf("TRANSFER %+v: want talk 30 s, to 2001", ev)
			}
		}
		if f := h.e.Today("sales"); f.Transfers != 1 || f.Answered != 1 {
			t.Errorf("figures %+v: want one answered call, one transfer", f)
		}
	})
}

// TestTransferNotAnsweredRequeues: when the target is not reached the caller is
// queued again in the queue they came from, and the next agent's conversation is
// recorded as usual.
func TestTransferNotAnsweredRequeues(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, transferCfg, nil)
		defer h.close()
		c := &transferringCaller{fakeCaller: &fakeCaller{talk: 30 * time.Second, transferTo: "bob"}, failing: 1}
		out := make(chan callResult, 1)
		go func() {
			res, err := h.e.Enqueue(context.Background(), Call{ID: "c", Caller: "+1555"}, Request{Queue: "sales"}, c)
			out <- callResult{res, err}
		}()
		r := <-out
		if r.err != nil || r.res.Outcome != OutcomeCompleted || r.res.TransferTo != "" || r.res.End != EndAgent {
			t.Fatalf("result %+v %v: want completed by the agent after the failed transfer", r.res, r.err)
		}
		want := []string{"ENTERQUEUE", "RINGAGENT:a", "CONNECT:a", "TRANSFER:a", "ENTERQUEUE", "RINGAGENT:a", "CONNECT:a", "COMPLETEAGENT:a"}
		if got := h.types("c"); !slices.Equal(got, want) {
			t.Errorf("events %v, want %v", got, want)
		}
		if !slices.Equal(c.tos, []string{"bob"}) {
			t.Errorf("ConnectTransfer calls %v, want [bob]", c.tos)
		}
	})
}

// TestEngageHoldsOffers: an engaged agent (ringing or talking on a transfer the
// telephony side placed) is offered no queue call until released.
func TestEngageHoldsOffers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, transferCfg, nil)
		defer h.close()
		release := h.e.Engage("a")
		ch := h.call("c", Request{Queue: "sales"}, &fakeCaller{talk: 10 * time.Second}, 0)
		time.Sleep(time.Minute)
		synctest.Wait()
		if got := h.types("c"); !slices.Equal(got, []string{"ENTERQUEUE"}) {
			t.Fatalf("events while engaged %v, want only ENTERQUEUE", got)
		}
		release()
		release() // idempotent
		r := <-ch
		if r.res.Outcome != OutcomeCompleted || r.res.Agent != "a" {
			t.Errorf("after release: %+v %v", r.res, r.err)
		}
	})
}
