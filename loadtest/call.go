package loadtest

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/emiago/sipgo"

	"github.com/hotline-ivr/hotline/sip/sdp"
)

// Call is what one generated call experienced, as its caller would tell it.
type Call struct {
	ID    int       `json:"id"`
	Start time.Time `json:"start"`
	// Status is the final response to the INVITE; 0 if none came.
	Status int `json:"status"`
	// Setup is INVITE to 200 OK; FirstAudio is 200 OK to the first speech frame
	// received; Response is the start of the caller's input (first digit or phrase
	// packet sent) to the first speech frame of the engine's answer: engines act on
	// the first RFC 4733 packet of a key, before its end packets. Zero when not
	// reached.
	Setup      time.Duration `json:"setup_ns"`
	FirstAudio time.Duration `json:"first_audio_ns"`
	Response   time.Duration `json:"response_ns"`
	// GreetingOnTime and ResponseOnTime say whether those prompts began within
	// their windows (FirstAudioTimeout, ResponseTimeout).
	GreetingOnTime bool `json:"greeting_on_time"`
	ResponseOnTime bool `json:"response_on_time"`
	// Completed is true when the whole script ran and the call ended cleanly;
	// otherwise Failure names the step that failed, for counting.
	Completed bool   `json:"completed"`
	Failure   string `json:"failure,omitempty"`
	Detail    string `json:"detail,omitempty"`
	// EndedBy is "engine" (its BYE) or "caller" (ours).
	EndedBy  string        `json:"ended_by,omitempty"`
	Duration time.Duration `json:"duration_ns"`
	Media    CallMedia     `json:"media"`
}

// CallMedia is the RTP of one call as the caller measured it.
type CallMedia struct {
	Sent         uint64  `json:"sent"`
	Received     uint64  `json:"received"`
	Expected     uint64  `json:"expected"`
	Lost         uint64  `json:"lost"`
	LateOrDup    uint64  `json:"late_or_duplicate"`
	JitterMs     float64 `json:"jitter_ms"`
	MaxJitterMs  float64 `json:"max_jitter_ms"`
	MaxGapMs     float64 `json:"max_gap_ms"`
	SpeechFrames uint64  `json:"speech_frames"`
	Frames       uint64  `json:"frames"`
	// Skipped counts frames this generator was too late to send: its own fault.
	Skipped uint64 `json:"skipped,omitempty"`
}

// errEngineHangup means the engine sent BYE before the script expected it.
var errEngineHangup = errors.New("engine hung up")

// callRun is one call in progress: the script's view of its dialog and stream.
type callRun struct {
	g       *generator
	r       *Call
	dlg     *sipgo.DialogClientSession
	st      *stream
	history []event // events received so far, for waits that look back
}

// runCall places one call and runs the script; it always returns the call's record.
// The result is named so the deferred collection of the media figures lands in it.
func (g *generator) runCall(ctx context.Context, id int) (r Call) {
	r = Call{ID: id, Start: time.Now()}
	defer func() { r.Duration = time.Since(r.Start) }()
	cfg := &g.cfg
	ctx, cancel := context.WithTimeout(ctx, cfg.CallTimeout)
	defer cancel()

	sock := g.media.pick()
	offer := g.offer(sock.local)
	body := offer.Marshal()
	setupCtx, setupCancel := context.WithTimeout(ctx, cfg.SetupTimeout)
	t0 := time.Now()
	dlg, err := g.sip.invite(setupCtx, id, body)
	setupCancel()
	if err != nil {
		var se *setupError
		if errors.As(err, &se) {
			r.Status, r.Failure = se.status, se.class
		} else {
			r.Failure = "setup"
		}
		r.Detail = err.Error()
		return r
	}
	r.Setup = time.Since(t0)
	r.Status = dlg.InviteResponse.StatusCode
	answered := time.Now()
	defer dlg.Close()

	c := &callRun{g: g, r: &r, dlg: dlg}
	params, err := g.negotiate(offer, dlg.InviteResponse.Body())
	if err != nil {
		r.Failure, r.Detail = "sdp answer", err.Error()
		_ = dlg.Ack(ctx)
		c.bye()
		return r
	}
	c.st = newStream(params, g.speechThreshold, cfg.PromptGap, cfg.Ptime)
	c.st.start(sock, answered)
	defer c.collect()
	if err := dlg.Ack(ctx); err != nil {
		r.Failure, r.Detail = "ack", err.Error()
		c.bye()
		return r
	}

	var step string
	switch cfg.Mode {
	case ModeSignalling:
		step, err = c.hold(ctx, cfg.Hold)
	case ModeGreeting:
		if step, err = c.greeting(ctx, answered); err == nil {
			step, err = c.hold(ctx, cfg.Hold)
		}
	default:
		step, err = c.ivr(ctx, answered)
	}
	switch {
	case errors.Is(err, errEngineHangup):
		r.EndedBy = "engine"
		r.Failure, r.Detail = step+": engine hung up first", err.Error()
	case err != nil:
		r.Failure, r.Detail = step, err.Error()
		c.bye()
	case cfg.Mode == ModeIVR && cfg.Hangup == HangupEngine:
		if err := c.awaitBye(ctx); err != nil {
			r.Failure, r.Detail = "engine BYE", err.Error()
			c.bye()
			return r
		}
		r.EndedBy = "engine"
		r.Completed = true
	default:
		if err := c.bye(); err != nil {
			r.Failure, r.Detail = "caller BYE", err.Error()
			return r
		}
		r.Completed = true
	}
	return r
}

// collect stops the stream and copies its measurements into the record.
func (c *callRun) collect() {
	c.st.stop()
	m := c.st.result()
	c.r.Media = CallMedia{
		Sent: m.sent, Received: m.received, Expected: m.expected, Lost: m.lost,
		LateOrDup: m.lateOrDup, JitterMs: round3(m.jitter / 1e6), MaxJitterMs: round3(m.maxJitter / 1e6),
		MaxGapMs: round3(float64(m.maxGap) / 1e6), SpeechFrames: m.speechFrames, Frames: m.frames,
		Skipped: m.skipped,
	}
}

// ivr runs the menu script; it returns the step that failed and why.
func (c *callRun) ivr(ctx context.Context, answered time.Time) (string, error) {
	cfg := &c.g.cfg
	if step, err := c.greeting(ctx, answered); err != nil {
		return step, err
	}
	if _, err := c.wait(ctx, evOffset, c.first(evOnset), cfg.PromptTimeout); err != nil {
		return "prompts end", err
	}
	var inputStart int64
	if cfg.Digits != "-" {
		c.st.send(&command{digits: cfg.Digits})
		if _, err := c.wait(ctx, evDigitSent, 0, time.Duration(len(cfg.Digits))*(cfg.DigitDuration+200*time.Millisecond)+2*time.Second); err != nil {
			return "digits", err
		}
		inputStart = c.first(evInputStart)
	}
	if ph := c.g.audio.phrase; ph != nil {
		c.st.send(&command{clip: ph})
		if _, err := c.wait(ctx, evPhraseSent, 0, time.Duration(len(ph.frames))*cfg.Ptime+2*time.Second); err != nil {
			return "phrase", err
		}
		if inputStart == 0 {
			inputStart = c.first(evInputStart)
		}
	}
	e, err := c.wait(ctx, evOnset, inputStart, cfg.ResponseTimeout)
	if err != nil {
		return "response", err
	}
	c.r.Response = time.Duration(e.at - inputStart)
	c.r.ResponseOnTime = true
	if cfg.Hangup == HangupCaller {
		return c.hold(ctx, cfg.Hold)
	}
	return "", nil
}

// greeting waits for the first speech frame after the answer.
func (c *callRun) greeting(ctx context.Context, answered time.Time) (string, error) {
	e, err := c.wait(ctx, evOnset, answered.UnixNano(), c.g.cfg.FirstAudioTimeout)
	if err != nil {
		return "greeting", err
	}
	c.r.FirstAudio = max(0, time.Duration(e.at-answered.UnixNano()))
	c.r.GreetingOnTime = true
	return "", nil
}

// hold keeps the call up for d, unless the engine hangs up first.
func (c *callRun) hold(ctx context.Context, d time.Duration) (string, error) {
	if d <= 0 {
		return "", nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return "", nil
	case <-c.dlg.Context().Done():
		return "hold", errEngineHangup
	case <-ctx.Done():
		return "hold", fmt.Errorf("call timeout: %w", ctx.Err())
	}
}

// wait returns the first event of kind k dated after after (ns), looking at events
// already received first, or fails after timeout or when the engine hangs up.
func (c *callRun) wait(ctx context.Context, k eventKind, after int64, timeout time.Duration) (event, error) {
	for _, e := range c.history {
		if e.kind == k && e.at > after {
			return e, nil
		}
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	for {
		select {
		case e := <-c.st.events:
			c.history = append(c.history, e)
			if e.kind == k && e.at > after {
				return e, nil
			}
		case <-t.C:
			return event{}, fmt.Errorf("no %s within %v", k, timeout)
		case <-c.dlg.Context().Done():
			return event{}, errEngineHangup
		case <-ctx.Done():
			return event{}, fmt.Errorf("call timeout: %w", ctx.Err())
		}
	}
}

// first returns the time of the first event of kind k received so far, or 0.
func (c *callRun) first(k eventKind) int64 {
	for _, e := range c.history {
		if e.kind == k {
			return e.at
		}
	}
	return 0
}

// awaitBye waits for the engine to end the call.
func (c *callRun) awaitBye(ctx context.Context) error {
	select {
	case <-c.dlg.Context().Done():
		return nil
	case <-ctx.Done():
		return fmt.Errorf("no BYE from the engine within the call timeout (%v)", c.g.cfg.CallTimeout)
	}
}

// bye ends the call from our side. It runs without the call's context, which may be
// cancelled already: a call that ends must still be released on the engine.
func (c *callRun) bye() error {
	if c.dlg.Context().Err() != nil {
		c.r.EndedBy = "engine"
		return nil // the engine's BYE came first
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(context.Background()), 5*time.Second)
	defer cancel()
	c.r.EndedBy = "caller"
	if err := c.dlg.Bye(ctx); err != nil && c.dlg.Context().Err() == nil {
		return err
	}
	return nil
}

// offer builds the SDP offer for a call whose media uses local: the run's codec plus
// telephone-event, and a=rtcp pointing at the same port, so the engine's RTCP comes
// to the socket we read (RFC 3605) and is counted there.
func (g *generator) offer(local netip.AddrPort) *sdp.Session {
	s := sdp.Offer(g.sdpCfg, local, sdp.NewOrigin(uint64(time.Now().UnixNano()), local.Addr()), sdp.SendRecv)
	for i := range s.Media {
		s.Media[i].Attributes = append(s.Media[i].Attributes, sdp.Attribute{Key: "rtcp", Value: fmt.Sprint(local.Port())})
	}
	return s
}

// negotiate reads the engine's answer and returns the call's stream parameters.
func (g *generator) negotiate(offer *sdp.Session, body []byte) (streamParams, error) {
	ans, err := sdp.Parse(body)
	if err != nil {
		return streamParams{}, err
	}
	n, err := sdp.NegotiateAnswer(offer, ans, g.sdpCfg)
	if err != nil {
		return streamParams{}, err
	}
	c := g.audio.codec
	if !strings.EqualFold(n.Codec.Name, c.Name()) {
		return streamParams{}, fmt.Errorf("engine chose %s, the run sends %s", n.Codec, c.Name())
	}
	p := streamParams{
		remote:     n.Remote,
		sending:    g.cfg.Mode != ModeSignalling && n.CanSend(),
		pt:         n.Codec.PT,
		clockRate:  uint32(c.ClockRate()),
		tsPerFrame: uint32(c.ClockRate() * int(g.cfg.Ptime/time.Millisecond) / 1000),
		ptimeMs:    int(g.cfg.Ptime / time.Millisecond),
		idle:       g.audio.idle,
		digitDur:   g.cfg.DigitDuration,
		energy:     g.energy,
	}
	if n.DTMF != nil {
		p.hasDTMF, p.dtmfPT, p.dtmfRate = true, n.DTMF.PT, n.DTMF.ClockRate
	}
	if p.energy == nil {
		if p.dec, err = c.NewDecoder(); err != nil {
			return streamParams{}, err
		}
	}
	return p, nil
}
