package media

import (
	"context"
	"log/slog"
	"time"

	"github.com/hotline-ivr/hotline/media/dtmf"
)

// Digits received from the caller. Three routes can bring a key press: RFC 4733
// telephone-events (the RTP reader's dtmf.Receiver), SIP INFO (InjectDigit, from
// the SIP layer's goroutine) and tones in the audio (the in-band dtmf.Detector on the
// clock goroutine). Carriers and phones often use two at once, so every digit passes one
// dtmf.Merger per session, under digitMu, and a press that arrives by two routes within
// Config.DTMFMergeWindow is reported once.

// Digits delivers each DTMF digit the caller pressed, once, whatever route it took. It
// holds 64 digits of type-ahead; later ones are dropped and counted. It is never closed:
// select on it together with the call's context.
func (s *Session) Digits() <-chan byte { return s.digits }

// InjectDigit delivers a digit that arrived by signalling (SIP INFO). If the same key
// press also arrived as a telephone-event or a tone, it is reported once.
func (s *Session) InjectDigit(d byte) {
	s.digitFrom(d, dtmf.RouteSIPInfo, time.Now())
}

// digitFrom passes a digit recognised by route at time at through the merger, counts it
// by route (reported or duplicate) and delivers it. It never blocks and never allocates.
func (s *Session) digitFrom(d byte, route dtmf.Route, at time.Time) {
	if d >= 'a' && d <= 'd' {
		d -= 'a' - 'A' // one spelling for flows, as the merger compares them
	}
	if _, ok := dtmf.CodeFromDigit(d); !ok {
		return // not a key press (a SIP INFO with a flash or garbage): nothing to report
	}
	s.digitMu.Lock()
	report := s.merger.Add(d, route, at)
	s.digitMu.Unlock()
	m := s.eng.metrics
	if !report {
		switch route {
		case dtmf.RouteRFC4733:
			m.dupRFC4733.Inc()
		case dtmf.RouteSIPInfo:
			m.dupInfo.Inc()
		default:
			m.dupInband.Inc()
		}
		return
	}
	switch route {
	case dtmf.RouteRFC4733:
		m.dtmfRFC4733.Inc()
	case dtmf.RouteSIPInfo:
		m.dtmfInfo.Inc()
	default:
		m.dtmfInband.Inc()
	}
	s.deliverDigit(d)
}

// deliverDigit never blocks: the receive loop and the clock call it, and a flow that
// does not read its digits must not stall the caller's RTP.
func (s *Session) deliverDigit(d byte) {
	select {
	case s.digits <- d:
		if s.log.Enabled(context.Background(), slog.LevelDebug) {
			s.log.Debug("dtmf digit", "digit", string(d))
		}
	default:
		s.eng.metrics.dtmfDropped.Inc()
	}
}
