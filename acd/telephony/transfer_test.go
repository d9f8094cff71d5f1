package telephony

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hotline-ivr/hotline/acd"
	"github.com/hotline-ivr/hotline/ivr"
	"github.com/hotline-ivr/hotline/media"
	"github.com/hotline-ivr/hotline/media/bridge"
)

// fakeChan is a caller's channel over a media session: music on hold plays into it.
type fakeChan struct {
	ivr.Channel
	s    *media.Session
	done chan struct{}
}

func (f *fakeChan) SampleRate() int                                  { return 8000 }
func (f *fakeChan) Play(ctx context.Context, src media.Source) error { return f.s.Play(ctx, src) }
func (f *fakeChan) Digits() <-chan byte                              { return nil }
func (f *fakeChan) Media() *media.Session                            { return f.s }
func (f *fakeChan) Done() <-chan struct{}                            { return f.done }

// fakeLeg is an answered leg (agent or transfer target) over a media session.
type fakeLeg struct {
	s    *media.Session
	done chan struct{}
	once sync.Once
	hung atomic.Bool
}

func newFakeLeg(s *media.Session) *fakeLeg { return &fakeLeg{s: s, done: make(chan struct{})} }

func (l *fakeLeg) Whisper(context.Context, string) error { return nil }
func (l *fakeLeg) Hangup(context.Context) error {
	l.once.Do(func() { l.hung.Store(true); close(l.done) })
	return nil
}
func (l *fakeLeg) Media() bridge.Session { return l.s }
func (l *fakeLeg) Done() <-chan struct{} { return l.done }

// fakeDialer answers transfers with leg, or fails with err.
type fakeDialer struct {
	mu    sync.Mutex
	leg   *fakeLeg
	err   error
	dials []string
}

func (d *fakeDialer) DialTransfer(ctx context.Context, callID, to string) (MediaLeg, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.dials = append(d.dials, to)
	if d.err != nil {
		return nil, d.err
	}
	return d.leg, nil
}

// transferRig is a caller, an agent and a target, each playing its own tone from
// the far end: caller 500 Hz, agent 900 Hz, target 1300 Hz.
type transferRig struct {
	q                           *Queue
	c                           *caller
	agent, target               *fakeLeg
	callerFar, agentFar, tgtFar *media.Session
	dialer                      *fakeDialer
}

func newTransferRig(t *testing.T, ports int) *transferRig {
	t.Helper()
	eng, err := media.NewEngine(media.Config{BindIP: netip.MustParseAddr("127.0.0.1"), PortMin: ports, PortMax: ports + 499},
		media.WithRegistry(prometheus.NewRegistry()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(eng.Close)
	callerNear, callerFar := loopLeg(t, eng)
	agentNear, agentFar := loopLeg(t, eng)
	tgtNear, tgtFar := loopLeg(t, eng)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	for _, p := range []struct {
		s    *media.Session
		freq float64
	}{{callerFar, 500}, {agentFar, 900}, {tgtFar, 1300}} {
		go func() { _ = p.s.Play(ctx, &ToneSource{W: 2 * math.Pi * p.freq / 8000}) }()
	}
	music, err := bridge.NewMusic("")
	if err != nil {
		t.Fatal(err)
	}
	if err := music.Prepare(8000); err != nil {
		t.Fatal(err)
	}
	r := &transferRig{agent: newFakeLeg(agentNear), target: newFakeLeg(tgtNear),
		callerFar: callerFar, agentFar: agentFar, tgtFar: tgtFar}
	r.dialer = &fakeDialer{leg: r.target}
	r.q = &Queue{log: slog.New(slog.DiscardHandler), music: music, transfers: r.dialer, promptEvery: time.Minute}
	r.c = &caller{q: r.q, id: "c1", ch: &fakeChan{s: callerNear, done: make(chan struct{})}, log: r.q.log}
	return r
}

// bridge runs the caller's Bridge with the agent and waits until it is talking.
// bridgeEnded waits for Bridge's result on done; why says what should have ended it.
func bridgeEnded(t *testing.T, done <-chan acd.BridgeResult, why string) acd.BridgeResult {
	t.Helper()
	select {
	case res := <-done:
		return res
	case <-time.After(10 * time.Second):
		t.Fatal("Bridge did not return " + why)
		return acd.BridgeResult{}
	}
}

func (r *transferRig) bridge(t *testing.T, ctx context.Context) <-chan acd.BridgeResult {
	t.Helper()
	out := make(chan acd.BridgeResult, 1)
	go func() {
		res, err := r.c.Bridge(ctx, r.agent)
		if err != nil {
			t.Errorf("Bridge: %v", err)
		}
		out <- res
	}()
	until(t, 5*time.Second, "the conversation to be registered", func() bool { _, ok := r.q.Talking("c1"); return ok })
	return out
}

// hearsSoon listens to far in 300 ms stretches until freq dominates (share ≥ 0.3)
// or ten tries passed, and returns the last share: a loaded machine may take a
// moment to switch a bridge.
func hearsSoon(far *media.Session, freq float64) float64 {
	var lvl float64
	for range 10 {
		if lvl = hears(far, freq, 300*time.Millisecond); lvl >= 0.3 {
			break
		}
	}
	return lvl
}

// heardFrames records what far hears for d.
func heardFrames(far *media.Session, d time.Duration) []int16 {
	rec := &Recorder{}
	remove := far.AddSink(rec)
	time.Sleep(d)
	remove()
	return rec.Take()
}

// until polls cond (every 20 ms) and fails the test when it is still false after within.
func until(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	for i := 0; i < int(within/(20*time.Millisecond)); i++ {
		if cond() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

// frameDB returns the dBFS of each 20 ms frame of pcm.
func frameDB(pcm []int16, rate int) []float64 {
	n := rate / 50
	var out []float64
	for ; len(pcm) >= n; pcm = pcm[n:] {
		var sum float64
		for _, v := range pcm[:n] {
			sum += float64(v) * float64(v)
		}
		out = append(out, 20*math.Log10(math.Max(math.Sqrt(sum/float64(n)), 1)/32768))
	}
	return out
}

// loudShare is the share of pcm's 20 ms frames above -50 dBFS.
func loudShare(pcm []int16) float64 {
	lv := frameDB(pcm, 8000)
	if len(lv) == 0 {
		return 0
	}
	n := 0
	for _, l := range lv {
		if l > -50 {
			n++
		}
	}
	return float64(n) / float64(len(lv))
}

// TestAttendedTransferConsultsThenHandsOver: an attended transfer puts the caller on
// music on hold (never silence) while the agent talks to the target; completing
// it ends the bridge with EndTransfer to the target, and ConnectTransfer bridges
// the caller to the target already on the line until the target hangs up.
func TestAttendedTransferConsultsThenHandsOver(t *testing.T) {
	r := newTransferRig(t, 44000)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := r.bridge(t, ctx)
	if lvl := hearsSoon(r.callerFar, 900); lvl < 0.3 {
		t.Errorf("bridged: the caller does not hear the agent (%.2f)", lvl)
	}
	if err := r.q.CompleteTransfer("c1"); !errors.Is(err, ErrNoConsultation) {
		t.Errorf("complete without a transfer: %v", err)
	}
	if err := r.q.Transfer(ctx, "c1", "bob", TransferAttended); err != nil {
		t.Fatalf("attended transfer: %v", err)
	}
	until(t, 5*time.Second, "the target to answer", func() bool { _, ans := r.q.Consulting("c1"); return ans })
	if err := r.q.Transfer(ctx, "c1", "carol", TransferBlind); !errors.Is(err, ErrTransferring) {
		t.Errorf("a second transfer during the consultation: %v", err)
	}
	time.Sleep(200 * time.Millisecond)
	heard := heardFrames(r.callerFar, 600*time.Millisecond)
	if a, b, l := ToneLevel(heard, 8000, 900), ToneLevel(heard, 8000, 1300), loudShare(heard); a > 0.5 || b > 0.5 || l < 0.5 {
		t.Errorf("consulting: the caller hears agent %.2f, target %.2f, sound in %.0f%% of frames; want music only", a, b, 100*l)
	}
	if lvl := hearsSoon(r.agentFar, 1300); lvl < 0.3 {
		t.Errorf("consulting: the agent does not hear the target (%.2f)", lvl)
	}
	if lvl := hearsSoon(r.tgtFar, 900); lvl < 0.3 {
		t.Errorf("consulting: the target does not hear the agent (%.2f)", lvl)
	}
	if err := r.q.CompleteTransfer("c1"); err != nil {
		t.Fatalf("complete: %v", err)
	}
	res := bridgeEnded(t, done, "after the transfer completed")
	if res.End != acd.EndTransfer || res.To != "bob" {
		t.Fatalf("Bridge = %+v, want EndTransfer to bob", res)
	}
	if r.target.hung.Load() {
		t.Fatal("the target was hung up on completion")
	}
	connected := make(chan acd.BridgeResult, 1)
	go func() {
		res, err := r.c.ConnectTransfer(ctx, "bob")
		if err != nil {
			t.Errorf("ConnectTransfer: %v", err)
		}
		connected <- res
	}()
	time.Sleep(200 * time.Millisecond)
	if lvl := hearsSoon(r.callerFar, 1300); lvl < 0.3 {
		t.Errorf("transferred: the caller does not hear the target (%.2f)", lvl)
	}
	if lvl := hearsSoon(r.tgtFar, 500); lvl < 0.3 {
		t.Errorf("transferred: the target does not hear the caller (%.2f)", lvl)
	}
	if len(r.dialer.dials) != 1 {
		t.Errorf("dials %v: the answered target was dialled again", r.dialer.dials)
	}
	_ = r.target.Hangup(ctx) // the target hangs up: the caller goes back to the flow
	select {
	case res = <-connected:
	case <-time.After(10 * time.Second):
		t.Fatal("ConnectTransfer did not return when the target hung up")
	}
	if res.End != acd.EndAgent {
		t.Errorf("ConnectTransfer = %+v, want EndAgent", res)
	}
}

// TestAttendedTransferCancelAndNoAnswer: cancelling hangs the target up and
// bridges caller and agent again; a target who does not answer brings the agent
// back too; the conversation stays transferable.
func TestAttendedTransferCancelAndNoAnswer(t *testing.T) {
	r := newTransferRig(t, 44500)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := r.bridge(t, ctx)
	if err := r.q.Transfer(ctx, "c1", "bob", TransferAttended); err != nil {
		t.Fatalf("attended transfer: %v", err)
	}
	until(t, 5*time.Second, "the target to answer", func() bool { _, ans := r.q.Consulting("c1"); return ans })
	if err := r.q.CancelTransfer("c1"); err != nil {
		t.Fatalf("cancel: %v", err)
	}
	until(t, 5*time.Second, "the consultation to end", func() bool { c, _ := r.q.Consulting("c1"); return !c })
	if !r.target.hung.Load() {
		t.Error("the target was not hung up on cancel")
	}
	time.Sleep(200 * time.Millisecond)
	if lvl := hearsSoon(r.callerFar, 900); lvl < 0.3 {
		t.Errorf("after cancel: the caller does not hear the agent (%.2f)", lvl)
	}

	r.dialer.mu.Lock()
	r.dialer.err = errors.New("no answer")
	r.dialer.mu.Unlock()
	if err := r.q.Transfer(ctx, "c1", "bob", TransferAttended); err != nil {
		t.Fatalf("second attended transfer: %v", err)
	}
	until(t, 5*time.Second, "the failed consultation to end", func() bool { c, _ := r.q.Consulting("c1"); return !c })
	time.Sleep(200 * time.Millisecond)
	if lvl := hearsSoon(r.callerFar, 900); lvl < 0.3 {
		t.Errorf("after no answer: the caller does not hear the agent (%.2f)", lvl)
	}
	_ = r.agent.Hangup(ctx)
	res := bridgeEnded(t, done, "when the agent hung up")
	if res.End != acd.EndAgent {
		t.Errorf("Bridge = %+v, want EndAgent", res)
	}
}

// TestBlindTransferReleasesAgentAndFailsBack: a blind transfer ends the bridge at
// once with EndTransfer; a target who cannot be reached makes ConnectTransfer
// return acd.ErrTransferFailed (the ACD queues the caller again).
func TestBlindTransferReleasesAgentAndFailsBack(t *testing.T) {
	r := newTransferRig(t, 45000)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := r.bridge(t, ctx)
	if err := r.q.Transfer(ctx, "c1", "", TransferBlind); err == nil {
		t.Error("a transfer without a target was taken")
	}
	if err := r.q.Transfer(ctx, "nobody", "bob", TransferBlind); !errors.Is(err, ErrNotTalking) {
		t.Errorf("a transfer of an unknown call: %v", err)
	}
	if err := r.q.Transfer(ctx, "c1", "2001", TransferBlind); err != nil {
		t.Fatalf("blind transfer: %v", err)
	}
	res := bridgeEnded(t, done, "on a blind transfer")
	if res.End != acd.EndTransfer || res.To != "2001" {
		t.Fatalf("Bridge = %+v, want EndTransfer to 2001", res)
	}
	r.dialer.mu.Lock()
	r.dialer.err = errors.New("busy")
	r.dialer.mu.Unlock()
	if _, err := r.c.ConnectTransfer(ctx, "2001"); !errors.Is(err, acd.ErrTransferFailed) {
		t.Errorf("ConnectTransfer to an unreachable target: %v, want ErrTransferFailed", err)
	}
}

func TestParseTransferMode(t *testing.T) {
	for _, s := range []string{"blind", "attended"} {
		m, err := ParseTransferMode(s)
		if err != nil || m.String() != s {
			t.Errorf("ParseTransferMode(%q) = %v, %v", s, m, err)
		}
	}
	if _, err := ParseTransferMode("warm"); err == nil {
		t.Error("ParseTransferMode(warm) took it")
	}
}

// softLeg is a softphone's leg: it says how the agent ended it.
type softLeg struct {
	*fakeLeg
	to string
}

func (l *softLeg) End() (acd.BridgeEnd, string) { return acd.EndTransfer, l.to }

// TestSoftphoneTransferEndsBridge: a softphone leg that ends with the page's
// transfer (End says EndTransfer and where) ends the bridge with EndTransfer to
// that target, for the ACD to queue or connect.
func TestSoftphoneTransferEndsBridge(t *testing.T) {
	r := newTransferRig(t, 45500)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	leg := &softLeg{fakeLeg: r.agent, to: "tech"}
	out := make(chan acd.BridgeResult, 1)
	go func() {
		res, err := r.c.Bridge(ctx, leg)
		if err != nil {
			t.Errorf("Bridge: %v", err)
		}
		out <- res
	}()
	until(t, 5*time.Second, "the conversation to be registered", func() bool { _, ok := r.q.Talking("c1"); return ok })
	_ = leg.Hangup(ctx) // the page's transfer button closes the leg
	res := bridgeEnded(t, out, "when the softphone transferred")
	if res.End != acd.EndTransfer || res.To != "tech" {
		t.Errorf("Bridge = %+v, want EndTransfer to tech", res)
	}
}

// TestAttendedTransferAgentHangsUpCompletes: the agent hanging up while consulting
// with an answered target hands the caller over (as a phone's attended transfer
// does); the caller hanging up instead hangs the target up.
func TestAttendedTransferAgentHangsUpCompletes(t *testing.T) {
	r := newTransferRig(t, 46000)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := r.bridge(t, ctx)
	if err := r.q.Transfer(ctx, "c1", "bob", TransferAttended); err != nil {
		t.Fatalf("attended transfer: %v", err)
	}
	until(t, 5*time.Second, "the target to answer", func() bool { _, ans := r.q.Consulting("c1"); return ans })
	_ = r.agent.Hangup(ctx)
	res := bridgeEnded(t, done, "when the agent hung up")
	if res.End != acd.EndTransfer || res.To != "bob" || r.c.pending != r.target {
		t.Fatalf("Bridge = %+v (pending %v), want EndTransfer to bob with the target on the line", res, r.c.pending)
	}
	if r.target.hung.Load() {
		t.Error("the target was hung up")
	}

	r2 := newTransferRig(t, 46500)
	ctx2, cancel2 := context.WithCancel(context.Background())
	done2 := r2.bridge(t, ctx2)
	if err := r2.q.Transfer(ctx2, "c1", "bob", TransferAttended); err != nil {
		t.Fatalf("attended transfer: %v", err)
	}
	until(t, 5*time.Second, "the target to answer", func() bool { _, ans := r2.q.Consulting("c1"); return ans })
	cancel2() // the caller hangs up
	res = bridgeEnded(t, done2, "when the caller hung up")
	if res.End != acd.EndCaller {
		t.Errorf("Bridge = %+v, want EndCaller", res)
	}
	until(t, 5*time.Second, "the target hung up", r2.target.hung.Load)
}
