package media

import (
	"errors"
	"log/slog"
	"net/netip"
	"sync"
	"time"
)

// Transport sessions: the whole per-call pipeline (clock pacing, jitter buffer, decode
// with FEC and concealment, VAD, DTMF in both directions, sinks, Play, Digits) over a
// packet carrier that is not the session's own UDP socket. WebRTC is the reason: pion
// owns the ICE sockets and does DTLS-SRTP and RTCP itself, so the session hands it
// plaintext RTP to send and is handed the plaintext RTP pion decrypted.
//
// What changes against a socket session: no ports are taken, no receive goroutines run
// (the carrier's reader calls DeliverRTP), there is no symmetric RTP latching (the
// carrier authenticated the peer: SRTP), Params.Remote is ignored, and RTCP reports are
// sent only when the carrier implements RTCPWriter (pion sends its own). The clock tick
// does the housekeeping the receive loop does for sockets: DTMF digits whose end
// packets were lost, and the RTP timeout.

// PacketTransport carries a transport session's outgoing RTP.
type PacketTransport interface {
	// WriteRTP sends one RTP packet (header and payload, as the session built it).
	// It runs on the media clock goroutine shared by many calls, so it must not block;
	// pkt is reused once it returns, so a carrier that queues it must copy it. An
	// error counts as a send error and the packet's sequence number is reused.
	WriteRTP(pkt []byte) error
}

// RTCPWriter is optionally implemented by a PacketTransport that wants the session's
// own RTCP reports (RFC 3550 §6) as well; carriers that report themselves (pion's
// interceptors) leave it out and the session sends none. The rules of WriteRTP apply.
type RTCPWriter interface {
	WriteRTCP(pkt []byte) error
}

// ErrNilTransport is returned by NewTransportSession without a transport.
var ErrNilTransport = errors.New("media: transport session without a transport")

// transportRx is the receive state of a transport session: the carrier's reader owns
// it through DeliverRTP, and the clock's housekeeping borrows it, so a mutex of the
// session's own (never shared between calls) serialises the two. Lock order: rx.mu
// before sendMu (handleRTCP takes sendMu); tick releases sendMu before taking rx.mu.
type transportRx struct {
	mu       sync.Mutex
	st       *rxState
	nextHK   time.Time // next housekeeping due (clock goroutine, under mu)
	rtcpOut  RTCPWriter
	transmit PacketTransport
}

// NewTransportSession returns a session whose RTP goes out through t and comes in
// through DeliverRTP, instead of a UDP socket of its own. It takes no port. Lifecycle
// and API are those of NewSession (Configure, Start, Play, Digits, SendDigits, sinks,
// VAD, Close); Params.Remote, RemoteRTCP, RTCPMux and SignalingSource are ignored.
// log should carry the call's id.
func (e *Engine) NewTransportSession(t PacketTransport, log *slog.Logger) (*Session, error) {
	if t == nil {
		return nil, ErrNilTransport
	}
	if log == nil {
		log = e.log
	}
	s := newSession(e, nil, 0, nil, 0, log)
	s.local, s.rtcpLocal = netip.AddrPort{}, netip.AddrPort{}
	s.tp = &transportRx{st: newRxState(), transmit: t}
	s.tp.rtcpOut, _ = t.(RTCPWriter)
	close(s.recvDone) // no receive goroutines to wait for
	close(s.rtcpDone)
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil, ErrEngineClosed
	}
	e.sessions[s] = struct{}{}
	e.mu.Unlock()
	e.metrics.sessions.Inc()
	return s, nil
}

// DeliverRTP hands the session one received RTP packet (or multiplexed RTCP) of a
// transport session, received at now: it goes through the same accounting as a
// socket's packets (jitter buffer, telephone-events to digits, RFC 3550 statistics).
// pkt is not kept after it returns. It does not allocate. Calls are serialised per
// session; a socket session, or a closed one, ignores it.
func (s *Session) DeliverRTP(pkt []byte, now time.Time) {
	tp := s.tp
	if tp == nil || s.closed.Load() {
		return
	}
	tp.mu.Lock()
	s.handlePacket(pkt, netip.AddrPort{}, now, tp.st)
	tp.mu.Unlock()
}

// IsTransport reports whether the session runs over a PacketTransport (it has no
// socket, and LocalAddr and RTCPAddr are the zero address).
func (s *Session) IsTransport() bool { return s.tp != nil }

// transportHousekeep runs from the clock tick, outside sendMu: what the receive
// loop's deadline does for a socket session, at most every housekeepEvery.
func (s *Session) transportHousekeep(now time.Time) {
	tp := s.tp
	tp.mu.Lock()
	defer tp.mu.Unlock()
	if now.Before(tp.nextHK) {
		return
	}
	tp.nextHK = now.Add(housekeepEvery)
	s.housekeep(now, tp.st.dtmf)
}
