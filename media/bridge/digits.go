package bridge

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/hotline-ivr/hotline/media"
)

// DigitRouter is an optional interface of a Session: a leg that chooses the route of
// the keys a bridge forwards to it (RFC 4733, SIP INFO or tones, from what its own
// peer negotiated). The bridge calls RouteDigits instead of SendDigits with the
// bridge-wide mode, so two legs of one bridge may each get the keys their own way.
// *DigitLeg is one.
type DigitRouter interface {
	RouteDigits(ctx context.Context, digits string) error
}

// InfoSender sends keys in the signalling, as SIP INFO requests
// (application/dtmf-relay), to a peer that takes DTMF only there (old carriers and
// PBXs that negotiate no telephone-event); *sip.Call is one.
type InfoSender interface {
	SendInfoDigits(ctx context.Context, digits string, duration time.Duration) error
}

// InfoAllower is an optional interface of an InfoSender that knows whether its peer
// accepts INFO (its Allow header, RFC 3261 §20.5). Without it INFO is tried, and a
// refusal sends the leg's later keys as tones.
type InfoAllower interface {
	AllowsInfo() bool
}

// DigitRoute is the way a key reached a leg.
type DigitRoute uint8

// Routes. The zero value is RouteNone (nothing sent yet).
const (
	RouteNone    DigitRoute = iota
	RouteRFC4733            // telephone-events in the RTP stream
	RouteInfo               // SIP INFO requests
	RouteInband             // tones in the audio
)

func (r DigitRoute) String() string {
	switch r {
	case RouteRFC4733:
		return "rfc4733"
	case RouteInfo:
		return "info"
	case RouteInband:
		return "inband"
	}
	return "none"
}

// InfoDuration is the Duration a forwarded key announces in its INFO body: the
// length of the tones SendDigits plays (100 ms) would be shorter than what many
// PBXs accept as a key press, so the common 160 ms.
const InfoDuration = 160 * time.Millisecond

// DigitLeg is a bridge Session that sends the keys forwarded to it the way its peer
// negotiated: RFC 4733 telephone-events when the SDP had telephone-event, else SIP
// INFO when the leg has signalling that carries it (and the peer did not refuse it),
// else in-band tones. The choice is made at every key press, so a re-INVITE that adds
// or drops telephone-event takes effect at the next key. All other methods are the
// wrapped Session's.
type DigitLeg struct {
	Session
	info    InfoSender
	log     *slog.Logger
	noInfo  atomic.Bool // the peer refused an INFO: tones from now on
	last    atomic.Uint32
	counted [RouteInband + 1]atomic.Uint64
}

var (
	_ Session     = (*DigitLeg)(nil)
	_ DigitRouter = (*DigitLeg)(nil)
)

// NewDigitLeg wraps s; info is the leg's signalling for SIP INFO (nil when it has
// none: a WebRTC leg, a test session), log receives a line when INFO is refused
// (scoped to the call: call_id).
func NewDigitLeg(s Session, info InfoSender, log *slog.Logger) *DigitLeg {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &DigitLeg{Session: s, info: info, log: log}
}

// RouteDigits sends digits to the leg's peer by the first route it supports (see
// DigitLeg). Errors are the route's: media.ErrClosed when the session closed, ctx's
// when it ended.
func (l *DigitLeg) RouteDigits(ctx context.Context, digits string) error {
	err := l.Session.SendDigits(ctx, digits, media.DTMFRFC4733)
	if !errors.Is(err, media.ErrNoTelephoneEvent) {
		if err == nil {
			l.note(RouteRFC4733, len(digits))
		}
		return err
	}
	if l.infoAllowed() {
		err := l.info.SendInfoDigits(ctx, digits, InfoDuration)
		if err == nil {
			l.note(RouteInfo, len(digits))
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		// A peer that answers INFO with 405/415/501 (or not at all) takes no keys in
		// the signalling: tones from now on, starting with these.
		l.noInfo.Store(true)
		l.log.Info("bridge: peer refused DTMF by SIP INFO; sending tones", "digits", len(digits), "err", err)
	}
	if err := l.Session.SendDigits(ctx, digits, media.DTMFInband); err != nil {
		return err
	}
	l.note(RouteInband, len(digits))
	return nil
}

func (l *DigitLeg) infoAllowed() bool {
	if l.info == nil || l.noInfo.Load() {
		return false
	}
	if a, ok := l.info.(InfoAllower); ok {
		return a.AllowsInfo()
	}
	return true
}

func (l *DigitLeg) note(r DigitRoute, n int) {
	l.last.Store(uint32(r))
	l.counted[r].Add(uint64(n))
}

// LastRoute is the route of the last key sent (RouteNone before the first): for logs
// and tests.
func (l *DigitLeg) LastRoute() DigitRoute { return DigitRoute(l.last.Load()) }

// Sent is the number of keys sent by route r.
func (l *DigitLeg) Sent(r DigitRoute) uint64 {
	if r > RouteInband {
		return 0
	}
	return l.counted[r].Load()
}
