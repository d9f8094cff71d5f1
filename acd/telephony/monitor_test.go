package telephony

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"net/netip"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hotline-ivr/hotline/media"
	"github.com/hotline-ivr/hotline/media/bridge"
	"github.com/hotline-ivr/hotline/media/codec"
)

// loopLeg returns two PCMU sessions sending to each other on loopback: near is the
// engine's side of a call, far the phone.
func loopLeg(t *testing.T, eng *media.Engine) (near, far *media.Session) {
	t.Helper()
	var err error
	if near, err = eng.NewSession(nil); err != nil {
		t.Fatal(err)
	}
	if far, err = eng.NewSession(nil); err != nil {
		t.Fatal(err)
	}
	for _, s := range [][2]*media.Session{{near, far}, {far, near}} {
		if err := s[0].Configure(media.Params{Codec: codec.PCMU, PayloadType: 0, DTMFPayloadType: 101,
			Remote: s[1].LocalAddr(), Send: true, Recv: true, SignalingSource: netip.MustParseAddr("127.0.0.1")}); err != nil {
			t.Fatal(err)
		}
		s[0].Start()
	}
	t.Cleanup(func() { near.Close(); far.Close() })
	return near, far
}

// hears records what far hears for d and says whether freq is in it.
func hears(far *media.Session, freq float64, d time.Duration) float64 {
	r := &Recorder{}
	remove := far.AddSink(r)
	time.Sleep(d)
	remove()
	return ToneLevel(r.Take(), 8000, freq)
}

// TestMonitorSwitchesBridgeAndMixer: a caller talking to an agent is joinable; a
// whispering supervisor is heard by the agent and not by the caller and hears both;
// a second supervisor is refused while one is in; when the supervisor leaves the
// two are bridged again; when the conversation ends the call is no longer joinable.
func TestMonitorSwitchesBridgeAndMixer(t *testing.T) {
	eng, err := media.NewEngine(media.Config{BindIP: netip.MustParseAddr("127.0.0.1"), PortMin: 43500, PortMax: 43999},
		media.WithRegistry(prometheus.NewRegistry()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(eng.Close)
	callerNear, callerFar := loopLeg(t, eng)
	agentNear, agentFar := loopLeg(t, eng)
	supNear, supFar := loopLeg(t, eng)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for _, p := range []struct {
		s    *media.Session
		freq float64
	}{{callerFar, 500}, {agentFar, 900}, {supFar, 1700}} {
		go func() { _ = p.s.Play(ctx, &ToneSource{W: 2 * math.Pi * p.freq / 8000}) }()
	}

	q := &Queue{log: slog.New(slog.DiscardHandler)}
	c := &caller{q: q, id: "c1", log: q.log}
	if _, ok := q.Talking("c1"); ok {
		t.Fatal("talking before the bridge")
	}
	if _, err := q.Monitor(ctx, "c1", supNear, MonitorListen, nil); !errors.Is(err, ErrNotTalking) {
		t.Fatalf("Monitor before the bridge: %v", err)
	}
	cctx, endCall := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- c.converse(cctx, bridge.NewDigitLeg(callerNear, nil, nil), bridge.NewDigitLeg(agentNear, nil, nil), nil, nil)
	}()
	for i := 0; ; i++ {
		if _, ok := q.Talking("c1"); ok {
			break
		}
		if i == 250 {
			t.Fatal("the conversation never became joinable")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if lvl := hears(callerFar, 900, 500*time.Millisecond); lvl < 0.3 {
		t.Errorf("bridged: the caller does not hear the agent (%.2f)", lvl)
	}

	leave := make(chan struct{})
	left, err := q.Monitor(ctx, "c1", supNear, MonitorWhisper, leave)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := q.Monitor(ctx, "c1", supNear, MonitorBarge, nil); !errors.Is(err, ErrMonitored) {
		t.Errorf("a second supervisor: %v, want ErrMonitored", err)
	}
	time.Sleep(200 * time.Millisecond)
	if lvl := hears(callerFar, 1700, 600*time.Millisecond); lvl > 0.05 {
		t.Errorf("whisper: the caller hears the supervisor (%.2f)", lvl)
	}
	if lvl := hears(agentFar, 1700, 600*time.Millisecond); lvl < 0.1 {
		t.Errorf("whisper: the agent does not hear the supervisor (%.2f)", lvl)
	}
	sup := &Recorder{}
	remove := supFar.AddSink(sup)
	time.Sleep(600 * time.Millisecond)
	remove()
	heard := sup.Take()
	if a, b := ToneLevel(heard, 8000, 500), ToneLevel(heard, 8000, 900); a < 0.1 || b < 0.1 {
		t.Errorf("whisper: the supervisor hears the caller %.2f and the agent %.2f", a, b)
	}

	close(leave)
	select {
	case <-left:
	case <-time.After(10 * time.Second):
		t.Fatal("the supervisor did not leave")
	}
	time.Sleep(200 * time.Millisecond)
	if lvl := hears(callerFar, 900, 500*time.Millisecond); lvl < 0.3 {
		t.Errorf("after the supervisor left: the caller does not hear the agent (%.2f)", lvl)
	}
	if lvl := hears(agentFar, 1700, 500*time.Millisecond); lvl > 0.05 {
		t.Errorf("after the supervisor left: the agent still hears them (%.2f)", lvl)
	}
	// The next supervisor may join again.
	leave2 := make(chan struct{})
	left2, err := q.Monitor(ctx, "c1", supNear, MonitorListen, leave2)
	if err != nil {
		t.Fatalf("a supervisor after the first: %v", err)
	}

	endCall() // the call ends with the supervisor in
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("converse: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("converse did not return when the call ended")
	}
	<-left2
	if _, ok := q.Talking("c1"); ok {
		t.Error("still joinable after the call ended")
	}
	if _, err := q.Monitor(ctx, "c1", supNear, MonitorListen, nil); !errors.Is(err, ErrNotTalking) {
		t.Errorf("Monitor after the call: %v", err)
	}
}

// TestParseMonitorMode: the API's spellings, and a refusal for anything else.
func TestParseMonitorMode(t *testing.T) {
	for _, m := range []MonitorMode{MonitorListen, MonitorWhisper, MonitorBarge} {
		if got, err := ParseMonitorMode(m.String()); err != nil || got != m {
			t.Errorf("%s: %v %v", m, got, err)
		}
	}
	if _, err := ParseMonitorMode("spy"); err == nil {
		t.Error("spy accepted")
	}
}
