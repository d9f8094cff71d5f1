package sip

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"time"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/hotline-ivr/hotline/media"
	"github.com/hotline-ivr/hotline/sip/sdp"
)

var (
	// ErrCallEnded is returned by call operations after the call ended.
	ErrCallEnded = errors.New("sip: call ended")
	// ErrNotAnswered is returned by Play before Answer or EarlyMedia started the media.
	ErrNotAnswered = errors.New("sip: call has no media yet (answer it first)")
	errNoAck       = errors.New("sip: no ACK for 2xx within 64*T1")
)

// Why a call ended: bounded values used as the metric label and in the call record.
const (
	causeCallerBye  = "caller_bye"
	causeEngineBye  = "engine_bye"
	causeCancel     = "cancel"
	causeRejected   = "rejected"
	causeRTPTimeout = "rtp_timeout"
	causeNoAck      = "no_ack"
	causeShutdown   = "shutdown"
	causeBadAnswer  = "bad_answer"
	// Outbound calls: the callee hung up, or the call ended after our REFER moved the
	// other party elsewhere (RFC 3515). Outbound calls that never connected end with
	// the result of their attempt (busy, no_answer, canceled...; see callerror.go).
	causeCalleeBye   = "callee_bye"
	causeTransferred = "transferred"
)

type callState int

const (
	stateTrying    callState = iota // 100 Trying sent
	stateRinging                    // 180 Ringing sent
	stateEarly                      // 183 with SDP sent, early media flowing
	stateAnswered                   // 2xx sent, ACK awaited
	stateConfirmed                  // ACK received (RFC 3261 §13.3.1.4)
	stateEnded
)

// Info describes a call as the caller presented it (inbound) or as we placed it
// (outbound).
type Info struct {
	CallID    string
	Caller    string // user part of the From URI (the caller's number)
	Called    string // user part of the Request-URI (the number dialled)
	From, To  string // the full From and To header values
	Transport string // "udp" or "tcp"
	// Source is where the caller's INVITE came from (inbound), or where our INVITE
	// went (outbound; invalid when that was a host name).
	Source    netip.AddrPort
	UserAgent string // the caller's User-Agent (inbound)
	Outbound  bool   // placed by Server.Dial
	// Trunk is the trunk an outbound call went through, or the inbound trunk
	// (InboundConfig) an inbound call matched; "" for a direct call or one from a
	// trusted source.
	Trunk string
	// Flow is the flow Config.Route chose for an inbound call ("" without routing).
	Flow string
}

// Call is one SIP call with its RTP session: an inbound call (the UAS side of an
// INVITE dialog, handed to the Handler) or an outbound one (the UAC side, returned by
// Server.Dial). Both roles share the in-dialog code: BYE either way, re-INVITEs from
// the peer (hold), INFO digits, REFER and NOTIFY. It is safe for concurrent use; the
// handler drives it while SIP requests from the peer update it.
type Call struct {
	srv  *Server
	info Info
	log  *slog.Logger
	ctx  context.Context
	stop context.CancelFunc

	peerAllow      string // the peer's Allow header(s), joined; c.mu (allow.go)
	peerAllowKnown bool   // the peer sent an Allow header

	invite   *gosip.Request
	tx       gosip.ServerTransaction
	key      dialogKey
	merge    mergeKey
	received time.Time
	media    *media.Session

	mu           sync.Mutex
	state        callState
	hangingUp    bool
	offer        *sdp.Session // the caller's last offer; nil while a late offer is pending
	neg          sdp.Negotiated
	local        *sdp.Session // our last SDP (answer, or offer for late-offer calls)
	sdpCfg       *sdp.Config  // the call's SDP config when it differs from the server's (SRTP, srtp.go)
	bestEffort   bool         // our offers carry a=crypto on RTP/AVP (a trunk's srtp: optional)
	origin       sdp.Origin
	remoteTarget gosip.Uri
	remoteCSeq   uint32
	localCSeq    uint32
	pending      *pendingAck
	reinviting   bool
	dlg          dialog // route set and parties for our in-dialog requests (§12.1)
	sigSource    netip.Addr
	confirmed    chan struct{} // closed when the initial 2xx is ACKed
	finalized    chan struct{} // closed once a final response to the INVITE went out (or the call ended)
	finalOnce    sync.Once
	cause        string
	answeredAt   time.Time
	endedAt      time.Time
	ended        chan struct{}

	// Outbound (UAC) calls only; see dial.go and uac.go.
	outbound  bool
	trunk     *trunk
	auth      *authenticator // answers 401/407 to our requests in the dialog
	release   func()         // gives the trunk's call slot back; run by terminate
	ack       *gosip.Request // our ACK of the 2xx, resent for each retransmission (§13.2.2.4)
	wantCause string         // the cause a Hangup asked for while the INVITE was pending
	nextHop   string         // DialRequest.NextHop: where the dialog's requests go without a route set

	// REFER (refer.go).
	referHandler ReferHandler
	outRefer     *referSub // our pending REFER, waiting for its NOTIFYs
	transferred  bool      // our REFER succeeded: the peer's BYE ends a transferred call
}

// pendingAck is a 2xx to an INVITE waiting for its ACK.
type pendingAck struct {
	cseq uint32
	ch   chan *gosip.Request
	done chan struct{} // closed by ackDone, once the ACK (or its absence) was dealt with
	once sync.Once
}

// awaitAck registers the 2xx about to be sent to the INVITE with CSeq cseq as waiting
// for its ACK. In the same step it ends the INVITE's processing (reinviting), so a
// later re-INVITE finds either the dialog busy or this ACK pending, never neither.
func (c *Call) awaitAck(cseq uint32) *pendingAck {
	p := &pendingAck{cseq: cseq, ch: make(chan *gosip.Request, 1), done: make(chan struct{})}
	c.mu.Lock()
	c.pending = p
	c.reinviting = false
	c.mu.Unlock()
	return p
}

// ackDone ends the wait registered by awaitAck; re-INVITEs waiting on it proceed.
// It is idempotent.
func (c *Call) ackDone(p *pendingAck) {
	p.once.Do(func() {
		c.mu.Lock()
		if c.pending == p {
			c.pending = nil
		}
		c.mu.Unlock()
		close(p.done)
	})
}

func newTag() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// ID is the SIP Call-ID, the key of the call in logs and records.
func (c *Call) ID() string { return c.info.CallID }

// Info returns how the caller presented the call (or how we placed it).
func (c *Call) Info() Info { return c.info }

// Caller is the calling number (From user part).
func (c *Call) Caller() string { return c.info.Caller }

// Called is the dialled number (Request-URI user part).
func (c *Call) Called() string { return c.info.Called }

// Logger is the call's logger; every line carries the call_id.
func (c *Call) Logger() *slog.Logger { return c.log }

// Context ends when the call ends, whoever ended it: the handler's ctx for inbound
// calls, and the same for outbound ones (a bridge or an agent offer watches it).
func (c *Call) Context() context.Context { return c.ctx }

// Media is the call's RTP session, for the media bridge and recorders (AddSink,
// AddStereoSink, Quality, SendDigits). It belongs to the call: never Configure or
// Close it; the call does both.
func (c *Call) Media() *media.Session { return c.media }

// Outbound reports whether Server.Dial placed the call.
func (c *Call) Outbound() bool { return c.outbound }

// Done is closed when the call has ended and its media is released.
func (c *Call) Done() <-chan struct{} { return c.ended }

// Cause tells why the call ended ("" while it is up).
func (c *Call) Cause() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cause
}

// AnsweredAt is when the call was answered (our 200 OK, or the callee's for an
// outbound call); zero if it never was. Call records take talk time from it.
func (c *Call) AnsweredAt() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.answeredAt
}

// Codec names the negotiated audio codec ("" before negotiation).
func (c *Call) Codec() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.neg.Codec.Name
}

// MediaStats returns the call's RTP packet counts.
func (c *Call) MediaStats() media.Stats { return c.media.Stats() }

// SampleRate is the PCM rate prompts must be rendered at for this call.
func (c *Call) SampleRate() int { return c.media.SampleRate() }

// Digits delivers the caller's DTMF digits, once each, from RFC 4733 or SIP INFO.
func (c *Call) Digits() <-chan byte { return c.media.Digits() }

// AudioSink receives the caller's audio as mono PCM at the call's SampleRate, on the
// media clock: it must not block and must copy a frame it keeps. The flow runtime's
// recognizer streams and recordings are AudioSinks.
type AudioSink interface {
	WriteSample(pcm []int16) error
}

// ListenAudio delivers every frame the caller sends (concealed when lost, zeros in
// silence) to sink until stop is called, so speech recognition and voicemail hear the
// caller without the runtime knowing about media sessions. stop is idempotent.
func (c *Call) ListenAudio(sink AudioSink) (stop func()) {
	return c.media.AddSink(sinkFunc{sink})
}

// sinkFunc adapts an AudioSink to media.Sink; its error (a full queue downstream) is
// the sink's to count, the media path goes on.
type sinkFunc struct{ s AudioSink }

func (f sinkFunc) WriteAudio(pcm []int16) { _ = f.s.WriteSample(pcm) }

// Play sends audio to the caller; see media.Session.Play.
func (c *Call) Play(ctx context.Context, src media.Source) error {
	c.mu.Lock()
	st := c.state
	c.mu.Unlock()
	switch {
	case st == stateEnded:
		return ErrCallEnded
	case c.outbound && st < stateAnswered: // we send nothing into a callee's early media
		return ErrNotAnswered
	case st != stateEarly && st < stateAnswered:
		return ErrNotAnswered
	}
	return c.media.Play(ctx, src)
}

// Ring sends 180 Ringing: the caller hears ringback from their own side. For an
// outbound call it does nothing.
func (c *Call) Ring(ctx context.Context) error {
	if c.outbound {
		return nil
	}
	c.mu.Lock()
	if c.state == stateEnded || c.hangingUp {
		c.mu.Unlock()
		return ErrCallEnded
	}
	if c.state != stateTrying {
		c.mu.Unlock()
		return nil
	}
	c.state = stateRinging
	c.mu.Unlock()
	return c.srv.send(c.tx, c.invite, c.inviteResponse(180, "Ringing", nil))
}

// EarlyMedia sends 183 Session Progress with the SDP answer and starts the media, so
// prompts play before the call is answered (and before it is billed). A late-offer
// INVITE cannot carry early media without reliable provisional responses (RFC 3262),
// so such a call gets 180 Ringing instead and hears audio after Answer. For an
// outbound call it does nothing.
func (c *Call) EarlyMedia(ctx context.Context) error {
	if c.outbound {
		return nil
	}
	c.mu.Lock()
	switch {
	case c.state == stateEnded || c.hangingUp:
		c.mu.Unlock()
		return ErrCallEnded
	case c.state >= stateEarly:
		c.mu.Unlock()
		return nil
	case c.offer == nil:
		c.mu.Unlock()
		return c.Ring(ctx)
	}
	c.state = stateEarly
	body := c.local.Marshal()
	neg := c.neg
	c.mu.Unlock()
	// A caller owes us no RTP before the answer (many send none while they listen to
	// early media, RFC 3960 §3): until Answer the RTP timeout must not run.
	if err := c.configure(&neg, true, false); err != nil {
		c.log.Warn("early media: media setup failed", "error", err)
	}
	c.media.Start()
	return c.srv.send(c.tx, c.invite, c.inviteResponse(183, "Session Progress", body))
}

// Answer sends 200 OK and returns once the caller's ACK confirmed the dialog (RFC 3261
// §13.3.1.4: the 2xx is retransmitted until then). For a late-offer INVITE the 200
// carries our offer and the ACK the caller's answer. An outbound call is answered by
// the callee: Answer returns nil once it is (Dial returns it answered).
func (c *Call) Answer(ctx context.Context) error {
	if c.outbound {
		c.mu.Lock()
		defer c.mu.Unlock()
		switch {
		case c.state == stateEnded:
			return ErrCallEnded
		case c.state < stateAnswered:
			return ErrNotAnswered
		}
		return nil
	}
	c.mu.Lock()
	switch {
	case c.state == stateEnded || c.hangingUp:
		// A hang-up that already claimed the call (its final response may be on the
		// wire) wins: a 200 sent now would be swallowed by the completed transaction
		// or, worse, reach the caller for a call we then forget without a BYE.
		c.mu.Unlock()
		return ErrCallEnded
	case c.state >= stateAnswered:
		c.mu.Unlock()
		return nil
	}
	wasEarly := c.state == stateEarly
	c.state = stateAnswered
	late := c.offer == nil
	if late {
		c.local = c.offerSDP(sdp.SendRecv)
	}
	body := c.local.Marshal()
	neg := c.neg
	c.answeredAt = time.Now()
	c.mu.Unlock()

	if wasEarly {
		// Now the caller's RTP is due: configuring again arms the RTP timeout.
		if err := c.applyNegotiated(&neg, true); err != nil {
			c.log.Warn("answer: media setup failed", "error", err)
		}
	}
	if !late {
		c.media.Start()
	}
	c.srv.metrics.setup.Observe(time.Since(c.received).Seconds())
	res := c.inviteResponse(200, "OK", body)
	p := c.awaitAck(c.invite.CSeq().SeqNo)
	defer c.ackDone(p) // after the late offer's answer is applied
	ack, err := c.send2xx(ctx, c.tx, c.invite, res, p, c.markFinal)
	if err != nil {
		c.ackDone(p)
		if errors.Is(err, errNoAck) {
			c.log.Warn("no ACK for 200 OK; ending call")
			c.markConfirmed() // RFC 3261 §13.3.1.4: confirmed, but end it with a BYE
			_ = c.hangup(context.WithoutCancel(ctx), causeNoAck, 0)
		}
		return err
	}
	c.markConfirmed()
	c.log.Info("call answered", "codec", c.Codec())
	if late {
		if err := c.takeAnswer(ack); err != nil {
			c.log.Warn("late offer: unusable answer in ACK; ending call", "error", err)
			_ = c.hangup(context.WithoutCancel(ctx), causeBadAnswer, 0)
			return err
		}
		c.media.Start()
	}
	return nil
}

// markFinal releases the INVITE handler once the transaction has its final response.
func (c *Call) markFinal() { c.finalOnce.Do(func() { close(c.finalized) }) }

func (c *Call) markConfirmed() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state == stateAnswered {
		c.state = stateConfirmed
	}
	select {
	case <-c.confirmed:
	default:
		close(c.confirmed)
	}
}

// takeAnswer applies the SDP answer a caller put in the ACK of a late-offer call.
func (c *Call) takeAnswer(ack *gosip.Request) error {
	if len(ack.Body()) == 0 {
		return errors.New("ACK carries no SDP answer")
	}
	ans, err := sdp.Parse(ack.Body())
	if err != nil {
		return fmt.Errorf("parse SDP answer in ACK: %w", err)
	}
	c.mu.Lock()
	offer := c.local
	c.mu.Unlock()
	neg, err := sdp.NegotiateAnswer(offer, ans, c.sdpConfig())
	if err != nil {
		return fmt.Errorf("negotiate SDP answer in ACK: %w", err)
	}
	c.mu.Lock()
	c.offer = ans
	c.mu.Unlock()
	return c.applyNegotiated(&neg, true)
}

// Hangup ends the call from the engine's side: BYE when answered, otherwise a final
// 480 response to the INVITE (inbound) or a CANCEL (outbound, still ringing: Dial
// then returns ErrCanceled). It returns when the call is over. The teardown does not
// stop when ctx is cancelled (it is often the call's own context, or a handler's
// expired one): the BYE transaction runs to its end, bounded by 64*T1 (Timer F), so
// the caller always learns the call is over.
func (c *Call) Hangup(ctx context.Context) error {
	return c.hangup(context.WithoutCancel(ctx), causeEngineBye, 480)
}

// Reject refuses an inbound call not answered yet with status (a 4xx, 5xx or 6xx:
// 503 while the engine drains or is full, 404 for a number no flow serves), so the
// caller's proxy can try elsewhere; on an answered call it hangs up like Hangup.
// The call ends with cause "rejected".
func (c *Call) Reject(ctx context.Context, status int) error {
	if status < 400 || status > 699 {
		return fmt.Errorf("sip: reject with %d: want a 4xx, 5xx or 6xx status", status)
	}
	return c.hangup(context.WithoutCancel(ctx), causeRejected, status)
}

// hangup ends the call with cause; code is the final response used before answer.
// Its waits end with ctx or when a closing server's shutdown deadline passes.
func (c *Call) hangup(ctx context.Context, cause string, code int) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(c.srv.halt, cancel)()
	c.mu.Lock()
	if c.state == stateEnded || c.hangingUp {
		c.mu.Unlock()
		select {
		case <-c.ended:
		case <-ctx.Done():
		}
		return nil
	}
	c.hangingUp = true
	st := c.state
	if c.outbound && st < stateAnswered {
		c.wantCause = cause
	}
	c.mu.Unlock()

	switch {
	case c.outbound && st < stateAnswered:
		// The dialling goroutine owns the INVITE transaction: it sees the call's
		// context end, sends CANCEL (or ACK and BYE to a crossing 2xx) and ends
		// the call with wantCause.
		c.stop()
		select {
		case <-c.ended:
		case <-ctx.Done():
		}
		return nil
	case st < stateAnswered:
		if cause == causeEngineBye {
			cause = causeRejected
		}
		if code == 0 {
			code = 480
		}
		res := c.inviteResponse(code, reasonPhrase(code), nil)
		if code == 503 {
			res.AppendHeader(gosip.NewHeader("Retry-After", "5"))
		}
		if err := c.srv.send(c.tx, c.invite, res); err != nil {
			c.log.Debug("final response failed", "error", err)
		}
		c.markFinal()
	default:
		// RFC 3261 §15: no BYE on a dialog before the ACK for our 2xx arrived (or timed out).
		select {
		case <-c.confirmed:
		case <-ctx.Done():
		case <-time.After(c.srv.cfg.AckTimeout):
		}
		if err := c.sendBye(ctx); err != nil {
			c.log.Warn("BYE failed", "error", err)
		}
	}
	c.terminate(cause)
	return nil
}

// terminate releases the call: context, media, dialog table, metrics. Idempotent.
func (c *Call) terminate(cause string) {
	c.mu.Lock()
	if c.state == stateEnded {
		c.mu.Unlock()
		return
	}
	if c.transferred && (cause == causeCallerBye || cause == causeCalleeBye || cause == causeEngineBye) {
		cause = causeTransferred
	}
	c.state = stateEnded
	c.cause = cause
	c.endedAt = time.Now()
	answered := c.answeredAt
	c.mu.Unlock()

	c.stop()
	c.markFinal()
	c.media.Close()
	c.srv.forget(c)
	if c.release != nil {
		c.release()
	}
	c.srv.metrics.callsEnded.WithLabelValues(c.direction(), c.info.Transport, cause).Inc()
	c.srv.metrics.callsActive.Dec()
	attrs := []any{"cause", cause, "duration", c.endedAt.Sub(c.received).Round(time.Millisecond)}
	if !answered.IsZero() {
		attrs = append(attrs, "talk", c.endedAt.Sub(answered).Round(time.Millisecond))
	}
	st := c.media.Stats()
	attrs = append(attrs, "rtp_sent", st.PacketsSent, "rtp_received", st.PacketsReceived)
	c.log.Info("call ended", attrs...)
	close(c.ended)
}

// inviteResponse builds a response to the initial INVITE carrying our To tag (the same
// on every response, RFC 3261 §8.2.6.2) and, for dialog-creating responses, our Contact.
func (c *Call) inviteResponse(code int, reason string, body []byte) *gosip.Response {
	res := gosip.NewResponseFromRequest(c.invite, code, reason, body)
	c.decorate(res, code, body)
	return res
}

func (c *Call) decorate(res *gosip.Response, code int, body []byte) {
	if to := res.To(); to != nil && code > 100 {
		to.Params.Add("tag", c.key.localTag)
	}
	if code >= 180 && code < 300 {
		res.AppendHeader(c.srv.contactHeader(c.info.Transport))
	}
	if len(body) > 0 {
		res.AppendHeader(gosip.NewHeader("Content-Type", "application/sdp"))
	}
}

// nextRetransmit is the 2xx retransmission schedule of RFC 3261 §13.3.1.4: the
// interval starts at T1 and doubles with each retransmission until it reaches T2.
func nextRetransmit(prev, t2 time.Duration) time.Duration { return min(2*prev, t2) }

// send2xx sends a 2xx to an INVITE and retransmits it (T1 doubling up to T2) until
// the ACK registered as p arrives or AckTimeout passes (RFC 3261 §13.3.1.4, RFC 6026
// §7.1). sent, when not nil, runs once the first 2xx is on the wire. The caller ends
// the wait with ackDone(p) once it has applied the ACK.
func (c *Call) send2xx(ctx context.Context, tx gosip.ServerTransaction, req *gosip.Request, res *gosip.Response, p *pendingAck, sent func()) (*gosip.Request, error) {
	ch, cseq := p.ch, p.cseq
	err := c.srv.send(tx, req, res)
	if sent != nil {
		sent()
	}
	if err != nil {
		if c.ctx.Err() != nil {
			// A CANCEL won the race: its 487 completed the transaction and ended the
			// call (under the transaction's lock, before our 2xx was refused).
			return nil, ErrCallEnded
		}
		return nil, err
	}
	cfg := c.srv.cfg
	interval := cfg.T1
	retransmit := time.NewTimer(interval)
	defer retransmit.Stop()
	giveUp := time.NewTimer(cfg.AckTimeout)
	defer giveUp.Stop()
	for {
		select {
		case ack := <-ch:
			return ack, nil
		case ack := <-tx.Acks():
			// An RFC 2543 caller reuses the INVITE's branch for the ACK of a 2xx, so
			// sipgo matches it to the INVITE transaction instead of passing it to
			// OnAck (RFC 3261 §17.2.3 matching); it is still the ACK we wait for.
			if ack != nil && ack.CSeq() != nil && ack.CSeq().SeqNo == cseq {
				return ack, nil
			}
		case <-retransmit.C:
			_ = tx.Respond(res)
			interval = nextRetransmit(interval, cfg.T2)
			retransmit.Reset(interval)
		case <-giveUp.C:
			return nil, errNoAck
		case <-c.ctx.Done():
			return nil, ErrCallEnded
		case <-ctx.Done():
			if c.ctx.Err() != nil {
				// The handler's ctx is usually the call's own: report why it ended.
				return nil, ErrCallEnded
			}
			return nil, ctx.Err()
		}
	}
}

func (c *Call) localMediaAddr() netip.AddrPort {
	ip := c.srv.cfg.MediaIP
	if !ip.IsValid() {
		ip = c.media.LocalAddr().Addr()
	}
	return netip.AddrPortFrom(ip, c.media.LocalAddr().Port())
}

// nextOrigin returns the o= line for a new version of our SDP (RFC 3264 §8: the
// version increases by one with each change). Callers hold c.mu.
func (c *Call) nextOrigin() sdp.Origin {
	c.origin.SessionVersion++
	return c.origin
}

func (c *Call) direction() string {
	if c.outbound {
		return "outbound"
	}
	return "inbound"
}

// applyNegotiated configures the RTP session from an offer/answer result, sending
// and receiving as the negotiated direction says.
func (c *Call) applyNegotiated(neg *sdp.Negotiated, expectRTP bool) error {
	return c.configure(neg, true, expectRTP)
}

// configure configures the RTP session from an offer/answer result. When the media
// engine cannot packetise at the peer's a=ptime, it sends at the configured ptime
// instead and records that in neg (so an answer built from it says so): ptime is a
// recommendation (RFC 8866 §6.4), not a reason to refuse the call. send false (an
// outbound call's early media: we listen, RFC 3960 §3) sends nothing; expectRTP
// false (early media either way) keeps the RTP timeout off whatever the direction.
func (c *Call) configure(neg *sdp.Negotiated, send, expectRTP bool) error {
	cd, ok := c.srv.codecFor(neg.Codec)
	if !ok {
		return fmt.Errorf("negotiated codec %s/%d is not available", neg.Codec.Name, neg.Codec.ClockRate)
	}
	dtmfPT := -1
	if neg.DTMF != nil {
		dtmfPT = int(neg.DTMF.PT)
	}
	ptime := time.Duration(neg.Ptime) * time.Millisecond
	if ptime <= 0 {
		ptime = c.srv.cfg.Ptime
	}
	keys, kerr := srtpKeys(neg) // SDES-SRTP (srtp.go); nil for plain RTP
	if kerr != nil {
		return kerr
	}
	p := media.Params{
		SRTP:            keys,
		Codec:           cd,
		PayloadType:     neg.Codec.PT,
		DTMFPayloadType: dtmfPT,
		Remote:          neg.Remote,
		Ptime:           ptime,
		Send:            send && (neg.Direction == sdp.SendRecv || neg.Direction == sdp.SendOnly),
		Recv:            expectRTP && (neg.Direction == sdp.SendRecv || neg.Direction == sdp.RecvOnly),
		SignalingSource: c.signalingSource(),
	}
	err := c.media.Configure(p)
	if err != nil && p.Ptime != c.srv.cfg.Ptime {
		c.log.Debug("peer's ptime unusable; sending at ours", "ptime", p.Ptime, "error", err)
		p.Ptime = c.srv.cfg.Ptime
		err = c.media.Configure(p)
	}
	if err != nil {
		return err
	}
	neg.Ptime = int(p.Ptime / time.Millisecond)
	c.mu.Lock()
	c.neg = *neg
	c.mu.Unlock()
	return nil
}

// signalingSource is the peer's signalling address, trusted by the RTP latch: the
// INVITE's source (inbound) or where the callee's responses came from (outbound).
func (c *Call) signalingSource() netip.Addr {
	if !c.outbound {
		return c.info.Source.Addr()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sigSource.IsValid() {
		return c.sigSource
	}
	return c.info.Source.Addr()
}

func reasonPhrase(code int) string {
	switch code {
	case 180:
		return "Ringing"
	case 183:
		return "Session Progress"
	case 200:
		return "OK"
	case 202:
		return "Accepted"
	case 403:
		return "Forbidden"
	case 404:
		return "Not Found"
	case 481:
		return "Call/Transaction Does Not Exist"
	case 500:
		return "Server Internal Error"
	case 600:
		return "Busy Everywhere"
	case 408:
		return "Request Timeout"
	case 480:
		return "Temporarily Unavailable"
	case 486:
		return "Busy Here"
	case 487:
		return "Request Terminated"
	case 488:
		return "Not Acceptable Here"
	case 503:
		return "Service Unavailable"
	case 603:
		return "Decline"
	}
	return "Error"
}
