package bridge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/hotline-ivr/hotline/media"
)

// Session is what the bridge needs of a call leg's media; *media.Session is one.
// Defined here, by its consumer, so tests and other transports can stand in.
type Session interface {
	// SampleRate is the rate of the leg's Sinks and Sources (0 before negotiation).
	SampleRate() int
	// Play sends a Source to the leg until it ends or ctx ends.
	Play(ctx context.Context, src media.Source) error
	// AddSink delivers the leg's decoded audio to a Sink until remove is called.
	AddSink(s media.Sink) (remove func())
	// Digits delivers the keys the leg's party pressed.
	Digits() <-chan byte
	// SendDigits sends keys to the leg's party.
	SendDigits(ctx context.Context, digits string, mode media.DTMFMode) error
}

var _ Session = (*media.Session)(nil)

// ErrSessionClosed is returned by Run when one side's session closed (its call
// ended) while the bridge ran.
var ErrSessionClosed = errors.New("bridge: a session closed")

// Side names a leg of a bridge.
type Side uint8

// Sides. The zero value is SideUnknown.
const (
	SideUnknown Side = iota
	SideA
	SideB
)

func (s Side) String() string {
	switch s {
	case SideA:
		return "a"
	case SideB:
		return "b"
	}
	return "unknown"
}

// ClosedError says which side's session closed; it wraps ErrSessionClosed.
type ClosedError struct {
	Side Side
	Err  error // the Play error that revealed it
}

func (e *ClosedError) Error() string {
	return fmt.Sprintf("bridge: side %s closed: %v", e.Side, e.Err)
}

// Unwrap lets errors.Is match ErrSessionClosed and the session's own error.
func (e *ClosedError) Unwrap() []error { return []error{ErrSessionClosed, e.Err} }

// Bridge joins two call legs both ways: what A says is resampled to B's rate and
// played to B, and the other way round. Each direction is a pipe: a Sink on the
// speaker's session writes into a bounded lock-free ring, and a Source on the
// listener's session reads it on the listener's own clock tick, so the two legs
// may use any codecs and rates (G.711 at 8 kHz, G.722 at 16 kHz, Opus at 48 kHz)
// and never wait for each other. The ring adds one to two frames of delay; an
// underrun plays silence, an overflow drops and counts.
type Bridge struct {
	a, b     Session
	ab, ba   *pipe
	dtmf     bool
	dtmfMode media.DTMFMode
	log      *slog.Logger

	mu      sync.Mutex
	running bool
}

// Option configures a Bridge.
type Option func(*Bridge)

// WithDTMF regenerates the keys pressed on either side toward the other. A listener
// that is a DigitRouter (a DigitLeg) chooses its own route (RFC 4733, SIP INFO or
// tones, from what its peer negotiated); any other gets SendDigits in mode
// (media.DTMFRFC4733 for telephone-events, media.DTMFAuto to fall back to tones when
// the listener negotiated none). Without it the bridge does not read Digits, and
// whoever owns the call may.
func WithDTMF(mode media.DTMFMode) Option {
	return func(b *Bridge) { b.dtmf, b.dtmfMode = true, mode }
}

// WithLogger sets the logger (scoped to the call by the caller: call_id).
func WithLogger(l *slog.Logger) Option { return func(b *Bridge) { b.log = l } }

// New prepares a bridge between a and b; Run connects them.
func New(a, b Session, opts ...Option) (*Bridge, error) {
	if a == nil || b == nil {
		return nil, errors.New("bridge: nil session")
	}
	br := &Bridge{a: a, b: b, ab: newPipe(a, b), ba: newPipe(b, a), log: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		o(br)
	}
	return br, nil
}

// Stats returns both directions' counters: AB is what A said to B.
func (br *Bridge) Stats() (ab, ba DirStats) { return br.ab.st.snapshot(), br.ba.st.snapshot() }

// Run connects the legs and returns when ctx ends (nil) or when a leg's session
// closes (a *ClosedError). It takes over both legs' outgoing audio while it runs:
// another Play on either leg is interrupted. A Bridge runs once.
func (br *Bridge) Run(ctx context.Context) error {
	br.mu.Lock()
	if br.running {
		br.mu.Unlock()
		return errors.New("bridge: already run")
	}
	br.running = true
	br.mu.Unlock()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	removeA := br.a.AddSink(br.ab)
	removeB := br.b.AddSink(br.ba)
	defer removeA()
	defer removeB()

	var digitsToB, digitsToA <-chan byte
	if br.dtmf {
		digitsToB, digitsToA = br.a.Digits(), br.b.Digits()
	}
	errs := make(chan error, 2)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); errs <- br.feed(ctx, SideB, br.b, br.ab, digitsToB) }()
	go func() { defer wg.Done(); errs <- br.feed(ctx, SideA, br.a, br.ba, digitsToA) }()
	var err error
	select {
	case <-ctx.Done():
	case err = <-errs:
	}
	cancel()
	wg.Wait()
	br.ab.closed.Store(true)
	br.ba.closed.Store(true)
	ab, ba := br.Stats()
	br.log.Info("bridge ended", "ab_frames", ab.Frames, "ab_underruns", ab.Underruns, "ab_dropped", ab.Dropped,
		"ba_frames", ba.Frames, "ba_underruns", ba.Underruns, "ba_dropped", ba.Dropped, "err", err)
	return err
}

// feed plays src to the listener (side) until ctx ends or its session closes, and
// sends it the keys that arrive on digits (the other side's). Playback restarts
// after a key, and after a Play that someone else interrupted.
func (br *Bridge) feed(ctx context.Context, side Side, to Session, src *pipe, digits <-chan byte) error {
	for ctx.Err() == nil {
		pctx, stop := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- to.Play(pctx, src) }()
		select {
		case <-ctx.Done():
			stop()
			<-done
			return nil
		case err := <-done:
			stop()
			switch {
			case ctx.Err() != nil:
				return nil
			case errors.Is(err, media.ErrInterrupted):
				continue // another Play took the leg for a moment: take it back
			case err == nil:
				continue // unreachable: the pipe never ends while the bridge runs
			}
			return &ClosedError{Side: side, Err: err}
		case d := <-digits:
			stop()
			<-done
			if err := br.sendDigit(ctx, to, d); err != nil && ctx.Err() == nil {
				br.log.Info("bridge: digit not forwarded", "to", side.String(), "digit", string(d), "err", err)
				if errors.Is(err, media.ErrClosed) {
					return &ClosedError{Side: side, Err: err}
				}
			}
		}
	}
	return nil
}

// sendDigit sends one key to the listener: by its own route when it has one, else
// with SendDigits in the bridge's mode.
func (br *Bridge) sendDigit(ctx context.Context, to Session, d byte) error {
	if r, ok := to.(DigitRouter); ok {
		return r.RouteDigits(ctx, string(d))
	}
	return to.SendDigits(ctx, string(d), br.dtmfMode)
}
