package telephony

import (
	"context"
	"log/slog"
	"net/netip"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hotline-ivr/hotline/media"
	"github.com/hotline-ivr/hotline/media/bridge"
)

// TestDTMFPassthroughInConversation: with WithDTMFPassthrough a key the caller
// presses while talking to the agent reaches the agent's phone, and one the agent
// presses reaches the caller, each once.
func TestDTMFPassthroughInConversation(t *testing.T) {
	eng, err := media.NewEngine(media.Config{BindIP: netip.MustParseAddr("127.0.0.1"), PortMin: 44000, PortMax: 44199},
		media.WithRegistry(prometheus.NewRegistry()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(eng.Close)
	callerNear, callerFar := loopLeg(t, eng)
	agentNear, agentFar := loopLeg(t, eng)
	q := &Queue{log: slog.New(slog.DiscardHandler)}
	WithDTMFPassthrough(media.DTMFAuto)(q)
	c := &caller{q: q, id: "c1", log: q.log}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- c.converse(ctx, bridge.NewDigitLeg(callerNear, nil, nil), bridge.NewDigitLeg(agentNear, nil, nil), nil,
			[]bridge.Option{bridge.WithDTMF(q.dtmfMode)})
	}()
	defer func() {
		cancel()
		<-done
	}()
	for i := 0; ; i++ {
		if _, ok := q.Talking("c1"); ok {
			break
		}
		if i == 250 {
			t.Fatal("the conversation never started")
		}
		time.Sleep(20 * time.Millisecond)
	}
	expect := func(from, to *media.Session, key byte, who string) {
		t.Helper()
		if err := from.SendDigits(ctx, string(key), media.DTMFRFC4733); err != nil {
			t.Fatalf("%s presses %c: %v", who, key, err)
		}
		select {
		case d := <-to.Digits():
			if d != key {
				t.Errorf("%s pressed %c, the other side got %c", who, key, d)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s pressed %c: it never reached the other side", who, key)
		}
		select {
		case d := <-to.Digits():
			t.Errorf("%s pressed %c once, the other side got another %c", who, key, d)
		case <-time.After(300 * time.Millisecond):
		}
	}
	expect(callerFar, agentFar, '5', "the caller")
	expect(agentFar, callerFar, '#', "the agent")
}
