package webrtc

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/webrtc/v4"

	"github.com/hotline-ivr/hotline/ivr"
	"github.com/hotline-ivr/hotline/media"
)

var (
	// ErrCallEnded is returned by a Call's methods once the call has ended.
	ErrCallEnded = errors.New("webrtc: call ended")
	// ErrNotAnswered is returned by Play before Answer or EarlyMedia: as on a SIP
	// leg, nothing reaches the caller before the call is connected.
	ErrNotAnswered = errors.New("webrtc: call not answered")
)

// Call is one browser call: the page's signalling socket, a PeerConnection and the
// media session its audio runs through. It satisfies the flow runtime's Channel and
// CallerAudio, so a browser caller runs the same flows as a SIP caller. Every method
// is safe for concurrent use.
type Call struct {
	id, caller, called string
	ep                 *Endpoint
	log                *slog.Logger
	sig                *signaller
	ctx                context.Context
	cancel             context.CancelCauseFunc
	started            time.Time

	pc    *webrtc.PeerConnection
	track *rtpTrack
	sess  *media.Session
	neg   negotiated

	connected, failed  chan struct{}
	connOnce, failOnce sync.Once
	done               chan struct{}
	endOnce            sync.Once
	wg                 sync.WaitGroup // pion readers of this call
	mu                 sync.Mutex     // guards state, reason, ending, counted, and setting pc and sess
	state, reason      string
	ending, counted    bool
	answeredAt         time.Time
	source             string // the page's address (the WebSocket request's RemoteAddr)
	release            func() // the admission's, called once when the call ends; nil: none
}

// Admitted reports whether the endpoint's admission (WithAdmission) took the call
// before its media was set up, so the handler need not admit it again.
func (c *Call) Admitted() bool { return c.release != nil }

// ID is the call id, the key of the call in logs and records ("webrtc-" + 24 hex).
func (c *Call) ID() string { return c.id }

// Caller is the page's "from" (DefaultCaller when it named none).
func (c *Call) Caller() string { return c.caller }

// Called is the page's "to" (Config.DefaultCalled when it named none): cmd picks the
// flow by it, as for a SIP call's Request-URI.
func (c *Call) Called() string { return c.called }

// Logger is the call's logger; every line carries the call_id.
func (c *Call) Logger() *slog.Logger { return c.log }

// Context ends when the call ends, whoever ended it.
func (c *Call) Context() context.Context { return c.ctx }

// Done is closed when the call has ended and its media, PeerConnection and
// goroutines are released.
func (c *Call) Done() <-chan struct{} { return c.done }

// Cause tells why the call ended ("" while it is up): hangup (the engine), caller
// (the page hung up or was closed), ice_failed, rtp_timeout, shutdown.
func (c *Call) Cause() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reason
}

// Source is the address the page connected from (host:port of the WebSocket
// request; behind a reverse proxy, the proxy's), for records and the live calls list.
func (c *Call) Source() string { return c.source }

// AnsweredAt is when Answer connected the call (zero if it never did).
func (c *Call) AnsweredAt() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.answeredAt
}

// Reject refuses a call that was not answered (the engine is draining or full, no
// flow for the number): the page gets error "busy" with the reason, then state
// ended, and the call is released. Cause reports reason.
func (c *Call) Reject(ctx context.Context, reason string) error {
	c.end(reason, errBusy, "the service cannot take your call now ("+reason+")")
	return nil
}

// Media is the call's media session, for bridges and recorders (AddSink,
// AddStereoSink, SendDigits, Quality). The call owns it: never Configure or Close it.
func (c *Call) Media() *media.Session { return c.sess }

// Codec names the negotiated audio codec ("opus/48000/2", "PCMU/8000"…).
func (c *Call) Codec() string { return c.neg.rtpName }

// SampleRate is the PCM rate prompts must have: 48000 with Opus, 8000 with G.711.
func (c *Call) SampleRate() int { return c.sess.SampleRate() }

// Digits delivers the caller's keypad presses, once each: RFC 4733 events from the
// page's RTCDTMFSender, and "dtmf" signalling messages.
func (c *Call) Digits() <-chan byte { return c.sess.Digits() }

// Ring tells the page the call is ringing.
func (c *Call) Ring(ctx context.Context) error { return c.setState(stateRinging) }

// EarlyMedia starts the audio before answering: it waits for ICE and DTLS.
func (c *Call) EarlyMedia(ctx context.Context) error {
	if err := c.waitConnected(ctx); err != nil {
		return err
	}
	c.sess.Start()
	return c.setState(stateEarly)
}

// Answer connects the call: it returns once ICE and DTLS are up (the page's media
// can flow both ways), or with ErrCallEnded when they never come up
// (Config.ICETimeout) or the page hung up, or ctx's error.
func (c *Call) Answer(ctx context.Context) error {
	if err := c.waitConnected(ctx); err != nil {
		return err
	}
	c.sess.Start()
	c.mu.Lock()
	if c.answeredAt.IsZero() {
		c.answeredAt = time.Now()
	}
	c.mu.Unlock()
	return c.setState(stateAnswered)
}

// Play sends audio to the caller; see media.Session.Play. Before Answer or
// EarlyMedia it returns ErrNotAnswered.
func (c *Call) Play(ctx context.Context, src media.Source) error {
	c.mu.Lock()
	st, ending := c.state, c.ending
	c.mu.Unlock()
	switch {
	case ending:
		return ErrCallEnded
	case st != stateEarly && st != stateAnswered:
		return ErrNotAnswered
	}
	err := c.sess.Play(ctx, src)
	if errors.Is(err, media.ErrClosed) {
		return ErrCallEnded
	}
	return err
}

// Hangup ends the call from the engine's side: the page is told ("state" ended,
// reason "hangup") and everything is released before it returns. Idempotent.
func (c *Call) Hangup(ctx context.Context) error {
	c.end("hangup", "", "")
	return nil
}

// ListenAudio hands sink every frame of the caller's audio, decoded at SampleRate,
// until stop is called (idempotent; once it has returned sink is not called again).
func (c *Call) ListenAudio(sink ivr.AudioSink) (stop func()) {
	return sync.OnceFunc(c.sess.AddSink(sinkAdapter{sink}))
}

// sinkAdapter turns the flow runtime's AudioSink into a media.Sink.
type sinkAdapter struct{ s ivr.AudioSink }

func (a sinkAdapter) WriteAudio(pcm []int16) { _ = a.s.WriteSample(pcm) }

func (c *Call) setState(st string) error {
	c.mu.Lock()
	if c.ending {
		c.mu.Unlock()
		return ErrCallEnded
	}
	c.state = st
	c.mu.Unlock()
	c.sig.send(message{Type: msgState, State: st, CallID: c.id})
	c.log.Debug("call state", "state", st)
	return nil
}

func (c *Call) waitConnected(ctx context.Context) error {
	select {
	case <-c.connected:
		return nil
	case <-c.ctx.Done():
		return ErrCallEnded
	case <-ctx.Done():
		if c.ctx.Err() != nil {
			return ErrCallEnded // the handler's ctx is usually the call's own
		}
		return ctx.Err()
	}
}

// onConnectionState is pion's callback (on a goroutine of pion's): it only signals.
func (c *Call) onConnectionState(s webrtc.PeerConnectionState) {
	c.log.Debug("peer connection state", "state", s.String())
	switch s {
	case webrtc.PeerConnectionStateConnected:
		c.connOnce.Do(func() { close(c.connected) })
	case webrtc.PeerConnectionStateFailed:
		c.failOnce.Do(func() { close(c.failed) })
	}
}

// onTrack starts reading the caller's audio into the media session.
func (c *Call) onTrack(tr *webrtc.TrackRemote, recv *webrtc.RTPReceiver) {
	c.log.Debug("remote track", "codec", tr.Codec().MimeType, "payload_type", tr.PayloadType())
	c.goRun(func() {
		buf := make([]byte, 1500) // one per call, reused for every packet
		for {
			n, _, err := tr.Read(buf)
			if err != nil && n == 0 {
				return // the PeerConnection closed
			}
			// An error with a packet is a payload type pion does not know: the
			// session counts it as garbage rather than the call losing its audio.
			c.sess.DeliverRTP(buf[:n], time.Now())
		}
	})
	c.goRun(func() { drainRTCP(recv.Read) })
}

// drainRTCP reads a sender's or receiver's RTCP so pion's interceptors see the
// browser's reports; the packets themselves are theirs.
func drainRTCP(read func([]byte) (int, interceptor.Attributes, error)) {
	buf := make([]byte, 1500)
	for {
		if _, _, err := read(buf); err != nil {
			return
		}
	}
}

// setUp records part of the call's setup (f assigns it) unless the call is already
// ending, in which case the caller releases what it made.
func (c *Call) setUp(f func()) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ending {
		return false
	}
	f()
	return true
}

// goRun starts a goroutine the call owns and end waits for; none starts once the
// call is ending.
func (c *Call) goRun(f func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ending {
		return
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		f()
	}()
}

// watch ends the call when ICE does not connect in time, fails later, or the
// caller's RTP stops (media.Config.Timeout).
func (c *Call) watch() {
	timer := time.NewTimer(c.ep.cfg.ICETimeout)
	defer timer.Stop()
	select {
	case <-c.connected:
		c.log.Info("browser connected", "after", time.Since(c.started).Round(time.Millisecond))
	case <-c.failed:
		c.iceFailed("ICE/DTLS negotiation failed")
		return
	case <-timer.C:
		c.iceFailed("ICE/DTLS did not connect within " + c.ep.cfg.ICETimeout.String())
		return
	case <-c.ctx.Done():
		return
	}
	select {
	case <-c.failed:
		c.iceFailed("the connection to the browser was lost")
	case <-c.sess.TimedOut():
		c.end("rtp_timeout", "", "")
	case <-c.ctx.Done():
	}
}

func (c *Call) iceFailed(detail string) {
	c.ep.m.iceFailures.Inc()
	c.log.Warn("browser call without media", "error", detail)
	c.end("ice_failed", errICE, detail)
}

// end ends the call once: tells the page (an error first when code is set), cancels
// the call's context, closes the media session and the PeerConnection, and waits for
// the call's pion readers. It runs its teardown whatever ctx the caller had.
func (c *Call) end(reason, code, detail string) {
	c.endOnce.Do(func() {
		// Endpoint.Close may end a call still negotiating on the signalling
		// goroutine: what it set up so far is read under mu, and setUp refuses the rest.
		c.mu.Lock()
		c.ending, c.reason = true, reason
		sess, pc, counted := c.sess, c.pc, c.counted
		c.mu.Unlock()
		if c.cancel != nil {
			c.cancel(ErrCallEnded)
		}
		if code != "" {
			c.ep.m.sigError(code)
			c.sig.send(message{Type: msgError, Code: code, Message: detail})
		}
		c.sig.send(message{Type: msgState, State: stateEnded, Reason: reason, CallID: c.id})
		c.sig.close(reason)
		if sess != nil {
			sess.Close() // first: no more writes to the track
		}
		if pc != nil {
			if err := pc.Close(); err != nil {
				c.log.Debug("closing peer connection", "error", err)
			}
		}
		c.wg.Wait()
		if counted {
			c.ep.m.active.Dec()
		}
		c.ep.forget(c)
		if c.release != nil {
			c.release()
		}
		attrs := []any{"reason", reason, "duration", time.Since(c.started).Round(time.Millisecond)}
		if sess != nil {
			st := sess.Stats()
			attrs = append(attrs, "packets_sent", st.PacketsSent, "packets_received", st.PacketsReceived)
		}
		c.log.Info("browser call ended", attrs...)
		close(c.done)
	})
}
