package telephony_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hotline-ivr/hotline/acd"
	"github.com/hotline-ivr/hotline/acd/telephony"
	"github.com/hotline-ivr/hotline/sip"
)

// TestCallerHearsHoldMusic: with no phone registered for the queue's agent, a
// caller who dials in waits in the queue hearing music on hold (no silent frame),
// and hanging up ends the wait as an abandon: Enqueue returns the hang-up.
func TestCallerHearsHoldMusic(t *testing.T) {
	requireTool(t, "espeak-ng", "espeak-ng")
	p := newPBX(t)
	carrier := newCarrier(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	call, err := carrier.Dial(ctx, sip.DialRequest{Target: "sip:support@" + p.udp,
		CallerID: sip.CallerID{Policy: sip.CallerIDPass, Number: callerID}})
	if err != nil {
		t.Fatalf("the caller's call: %v", err)
	}
	heard := &telephony.Recorder{}
	call.Media().AddSink(heard)
	waitFor(t, 10*time.Second, "the call waits in the queue", func() bool {
		st, err := p.acd.Status(context.Background(), "support")
		return err == nil && st.Waiting == 1
	})
	time.Sleep(500 * time.Millisecond)
	heard.Take()
	time.Sleep(2 * time.Second)
	levels := frameLevels(heard.Take(), call.SampleRate())
	if len(levels) < 50 {
		t.Fatalf("%d frames heard in 2 s", len(levels))
	}
	for i, l := range levels {
		if l < -45 {
			t.Fatalf("frame %d of the hold music at %.1f dBFS: the caller heard silence", i, l)
		}
	}
	if err := call.Hangup(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-p.queue.done:
		if !errors.Is(r.err, context.Canceled) || r.res.Agent != "" {
			t.Errorf("Enqueue %+v, %v; want the caller's hang-up", r.res, r.err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Enqueue did not return after the caller hung up")
	}
	waitFor(t, 5*time.Second, "ABANDON logged", func() bool {
		return hasEvent(p.events, acd.EventAbandon, "") || hasEvent(p.events, acd.EventShortAbandon, "")
	})
}
