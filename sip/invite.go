package sip

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"mime"
	"net/netip"
	"strconv"
	"strings"
	"time"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/hotline-ivr/hotline/media/codec"
	"github.com/hotline-ivr/hotline/sip/sdp"
)

// onInvite takes an initial INVITE through validation and offer/answer, creates the
// Call with its RTP session and starts the handler. In-dialog INVITEs go to onReinvite.
func (s *Server) onInvite(req *gosip.Request, tx gosip.ServerTransaction) {
	s.metrics.request(string(req.Method))
	if to := req.To(); to != nil && to.Params.Has("tag") {
		c := s.lookup(req)
		if c == nil {
			_ = s.respond(tx, req, 481, "Call/Transaction Does Not Exist", nil)
			return
		}
		c.onReinvite(req, tx)
		return
	}
	log := s.log.With("call_id", callID(req))
	received := time.Now() // for its timeline line, reported once it is a call (trace.go)
	// Our To tag goes onto the INVITE itself, before anything can build a response
	// from it. sipgo answers a CANCEL with a 487 it builds from this request (and
	// builds it before our OnCancel callback runs); without the tag in place it would
	// invent a random one, and the caller would get 180 and 487 with different tags
	// (RFC 3261 §8.2.6.2: the same tag on every response to the request). Nothing
	// else reads the request concurrently: sipgo's automatic 100 Trying timer, which
	// would, is switched off (see init), and a caller may not CANCEL before our 100
	// (§9.1), which is sent under the transaction's lock after this write.
	localTag := newTag()
	if to := req.To(); to != nil {
		to.Params.Add("tag", localTag)
	}
	if code, reason, hdrs, ok := s.checkInvite(req); !ok {
		log.Info("INVITE rejected", "status", code, "reason", reason, "from", req.Source())
		switch code {
		case 503:
			s.sec.reject(rejectDraining)
		case 482:
			s.sec.reject(rejectLoop)
		default:
			s.sec.reject(rejectMalformed)
		}
		_ = s.respond(tx, req, code, reason, nil, hdrs...)
		return
	}
	// The inbound policy: which trunk, authenticated, or a trusted source (403
	// otherwise), then the route to a flow (404 without one), then room for the call.
	adm := s.admit(context.Background(), req)
	if adm.code != 0 {
		if adm.why != "" {
			s.sec.reject(adm.why)
		}
		log.Info("INVITE rejected by inbound policy", "status", adm.code, "reason", adm.why, "from", req.Source())
		if adm.res != nil {
			_ = s.send(tx, req, adm.res)
		} else {
			_ = s.respond(tx, req, adm.code, reasonPhrase(adm.code), nil)
		}
		return
	}
	info := s.inviteInfo(req)
	if adm.trunk != nil {
		adm.trunk.apply(&info)
	}
	if s.cfg.Route != nil {
		flow, ok := s.cfg.Route(info)
		if !ok {
			s.sec.reject(rejectNoRoute)
			log.Info("INVITE rejected: no route", "called", info.Called, "trunk", info.Trunk, "from", req.Source())
			s.refuse(info, 404, "no_route")
			_ = s.respond(tx, req, 404, "Not Found", nil)
			return
		}
		info.Flow = flow
	}
	var release func()
	if s.guard != nil {
		rel, retry, ok := s.guard.AdmitCall()
		if !ok {
			s.sec.reject(rejectOverload)
			log.Info("INVITE rejected: over an admission limit", "from", req.Source(), "retry_after", retry)
			s.refuse(info, 503, "overload")
			_ = s.respond(tx, req, 503, "Service Unavailable", nil,
				gosip.NewHeader("Retry-After", strconv.Itoa(max(1, int(retry/time.Second)))))
			return
		}
		release = rel
	}
	if !s.inviteSRTP(req, adm.trunk, tx, log) {
		if release != nil {
			release()
		}
		s.refuse(info, 488, "srtp")
		return
	}
	// 100 Trying at once stops the caller's INVITE retransmissions (RFC 3261 §17.2.1)
	// and sipgo's own 100 timer.
	_ = s.respond(tx, req, 100, "Trying", nil)
	tried := time.Now()

	var offer *sdp.Session
	var neg sdp.Negotiated
	if body := req.Body(); len(body) > 0 {
		ct := ""
		if h := req.ContentType(); h != nil {
			ct = h.Value()
		}
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/sdp" {
			log.Info("INVITE rejected: body is not SDP", "content_type", ct)
			s.refuse(info, 415, "not_sdp")
			_ = s.respond(tx, req, 415, "Unsupported Media Type", nil, gosip.NewHeader("Accept", "application/sdp"))
			return
		}
		var err error
		offer, err = sdp.Parse(body)
		if err != nil {
			log.Warn("INVITE rejected: malformed SDP", "error", err, "from", req.Source())
			s.refuse(info, 400, "malformed_sdp")
			_ = s.respond(tx, req, 400, "Bad Request", nil, warning(399, s.cfg.Host, "Malformed SDP: "+err.Error()))
			return
		}
		neg, err = sdp.Negotiate(offer, s.inviteSDPConfig(adm.trunk, req))
		if err == nil {
			err = answerCrypto(&neg) // SDES: our key for the answer (srtp.go)
		}
		if err != nil {
			log.Info("INVITE rejected: no acceptable media", "error", err)
			s.refuse(info, 488, "no_acceptable_media")
			_ = s.respond(tx, req, 488, "Not Acceptable Here", nil, s.mediaWarning(err))
			return
		}
	}

	c, err := s.newCall(req, tx, localTag, log, info)
	if err != nil {
		if release != nil {
			release()
		}
		log.Warn("INVITE rejected: no media resources", "error", err)
		s.refuse(info, 503, "no_media_resources")
		_ = s.respond(tx, req, 503, "Service Unavailable", nil, gosip.NewHeader("Retry-After", "5"))
		return
	}
	c.release = release
	c.notePeerAllow(req)
	if cfg := s.inviteSDPConfig(adm.trunk, req); len(cfg.CryptoSuites) > 0 {
		c.sdpCfg = &cfg // re-INVITEs are held to the trunk's SRTP policy (srtp.go)
	}
	if offer != nil {
		if err := c.applyNegotiated(&neg, true); err != nil {
			log.Warn("INVITE rejected: media setup failed", "error", err)
			_ = s.respond(tx, req, 488, "Not Acceptable Here", nil, s.mediaWarning(err))
			c.discardInbound()
			return
		}
		c.offer = offer
		c.local = sdp.Answer(offer, neg, c.localMediaAddr(), c.nextOrigin())
	}
	switch code := s.register(c); code {
	case 0:
		s.traceInvite(req, received, tried)
	case 482:
		log.Info("INVITE rejected: merged request", "from", req.Source())
		c.discardInbound()
		_ = s.respond(tx, req, 482, "Loop Detected", nil)
		return
	default:
		c.discardInbound()
		_ = s.respond(tx, req, 503, "Service Unavailable", nil, gosip.NewHeader("Retry-After", "5"))
		return
	}
	if !tx.OnCancel(c.onCanceled) {
		// The CANCEL beat us to it: sipgo has already answered it and the INVITE.
		s.wg.Add(-2) // run and watchMedia, counted by register, will not start
		if errors.Is(tx.Err(), gosip.ErrTransactionCanceled) {
			c.onCanceled(nil)
		} else {
			c.terminate(causeRejected)
		}
		return
	}
	log.Info("call started", "from", c.info.From, "to", c.info.To, "caller", c.info.Caller,
		"called", c.info.Called, "transport", c.info.Transport, "source", c.info.Source.String(),
		"codec", neg.Codec.Name, "late_offer", offer == nil)
	go c.run()
	go c.watchMedia()
	// sipgo ends the server transaction when this handler returns, so hold it until a
	// final response went out: the transaction must live to carry 180/183/200, to
	// match a CANCEL and to absorb retransmitted INVITEs.
	<-c.finalized
}

// checkInvite applies the checks an initial INVITE must pass before a call exists.
func (s *Server) checkInvite(req *gosip.Request) (code int, reason string, hdrs []gosip.Header, ok bool) {
	s.mu.Lock()
	draining := s.draining
	s.mu.Unlock()
	if draining {
		return 503, "Service Unavailable", []gosip.Header{gosip.NewHeader("Retry-After", "5")}, false
	}
	if req.CallID() == nil || req.From() == nil || req.To() == nil {
		return 400, "Bad Request", nil, false
	}
	if mf := req.MaxForwards(); mf != nil && mf.Val() == 0 {
		return 483, "Too Many Hops", nil, false
	}
	s.mu.Lock()
	_, merged := s.invites[mergeKeyOf(req)]
	s.mu.Unlock()
	if merged { // checked again, atomically, when the call registers
		return 482, "Loop Detected", nil, false
	}
	// RFC 3261 §8.2.2.3: hotline supports no extension a caller could require.
	if h := req.GetHeader("Require"); h != nil && strings.TrimSpace(h.Value()) != "" {
		return 420, "Bad Extension", []gosip.Header{gosip.NewHeader("Unsupported", h.Value())}, false
	}
	return 0, "", nil, true
}

func callID(req *gosip.Request) string {
	if h := req.CallID(); h != nil {
		return h.Value()
	}
	return ""
}

// warning builds a Warning header (RFC 3261 §20.43). text often quotes the caller's
// own bytes (an SDP parse error), so it is made a safe quoted-string: no CR, LF or
// other control characters that could end the header and inject others, no quotes or
// backslashes, and at most maxWarnText bytes.
func warning(code int, host, text string) gosip.Header {
	const maxWarnText = 200
	var b strings.Builder
	for i := 0; i < len(text) && b.Len() < maxWarnText; i++ {
		switch ch := text[i]; {
		case ch == '"':
			b.WriteByte('\'')
		case ch == '\\', ch < 0x20, ch == 0x7f:
			b.WriteByte(' ')
		default:
			b.WriteByte(ch)
		}
	}
	return gosip.NewHeader("Warning", strconv.Itoa(code)+" "+host+` "`+b.String()+`"`)
}

// mediaWarning is the Warning header (RFC 3261 §20.43) explaining a refused offer:
// the SDP package's warn-code when it gave one, 399 with the error text otherwise.
func (s *Server) mediaWarning(err error) gosip.Header {
	var ne *sdp.NegotiationError
	if errors.As(err, &ne) {
		return gosip.NewHeader("Warning", ne.Warning(s.cfg.Host))
	}
	return warning(399, s.cfg.Host, err.Error())
}

// inviteInfo describes an initial INVITE as the caller presented it.
func (s *Server) inviteInfo(req *gosip.Request) Info {
	to := req.To().AsFrom() // a copy, to present To as the caller wrote it
	to.Params.Remove("tag")
	info := Info{
		CallID:    callID(req),
		From:      req.From().Value(),
		To:        to.Value(),
		Caller:    userOrHost(req.From().Address),
		Called:    userOrHost(req.Recipient),
		Transport: transportOf(req),
	}
	if ap, err := netip.ParseAddrPort(req.Source()); err == nil {
		info.Source = ap
	}
	if h := req.GetHeader("User-Agent"); h != nil {
		info.UserAgent = h.Value()
	}
	return info
}

func (s *Server) newCall(req *gosip.Request, tx gosip.ServerTransaction, localTag string, log *slog.Logger, info Info) (*Call, error) {
	sess, err := s.media.NewSession(log)
	if err != nil {
		return nil, err
	}
	ctx, stop := context.WithCancel(context.Background())
	rt, _ := req.From().Params.Get("tag")
	c := &Call{
		srv:       s,
		info:      info,
		log:       log,
		ctx:       ctx,
		stop:      stop,
		invite:    req,
		tx:        tx,
		key:       dialogKey{callID: info.CallID, localTag: localTag, remoteTag: rt},
		merge:     mergeKeyOf(req),
		received:  time.Now(),
		media:     sess,
		confirmed: make(chan struct{}),
		finalized: make(chan struct{}),
		ended:     make(chan struct{}),
		origin: sdp.Origin{
			Username:       "hotline",
			SessionID:      rand.Uint64() >> 2,
			SessionVersion: rand.Uint64() >> 33,
			NetType:        "IN",
		},
		remoteCSeq: req.CSeq().SeqNo,
		localCSeq:  rand.Uint32() >> 16,
		dlg:        inviteDialog(req, localTag),
	}
	c.origin.AddrType, c.origin.Address = addrType(c.localMediaAddr().Addr())
	if ct := req.Contact(); ct != nil {
		c.remoteTarget = *ct.Address.Clone()
	} else {
		c.remoteTarget = *req.From().Address.Clone()
	}
	return c, nil
}

func addrType(ip netip.Addr) (string, string) {
	if ip.Is4() || ip.Is4In6() {
		return "IP4", ip.Unmap().String()
	}
	return "IP6", ip.String()
}

func userOrHost(u gosip.Uri) string {
	if u.User != "" {
		return u.User
	}
	return u.Host
}

// register adds a call to the dialog table. It returns 0, or the status to reject
// the INVITE with: 503 while the server shuts down, 482 for a merged request. It
// counts the call's two goroutines (run, watchMedia) in s.wg under the same lock that
// Close takes to start draining, so Close's Wait never races an Add.
func (s *Server) register(c *Call) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.draining {
		return 503
	}
	if _, dup := s.invites[c.merge]; dup {
		return 482
	}
	s.calls[c.key] = c
	s.invites[c.merge] = c
	s.wg.Add(2)
	s.metrics.callsStarted.WithLabelValues("inbound", c.info.Transport).Inc()
	s.metrics.callsActive.Inc()
	return 0
}

func (s *Server) forget(c *Call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.calls[c.key] == c {
		delete(s.calls, c.key)
	}
	if s.invites[c.merge] == c {
		delete(s.invites, c.merge)
	}
}

// mergeKey identifies an initial INVITE regardless of the path it took: RFC 3261
// §8.2.2.2 compares From tag, Call-ID and CSeq. A second INVITE with the same three
// but another branch (forked by a proxy, or resent over TCP after its transaction
// ended) is a merged request and gets 482 instead of becoming a second call.
type mergeKey struct {
	callID, fromTag string
	cseq            uint32
}

func mergeKeyOf(req *gosip.Request) mergeKey {
	tag, _ := req.From().Params.Get("tag")
	return mergeKey{callID: callID(req), fromTag: tag, cseq: req.CSeq().SeqNo}
}

// run gives the call to the handler and hangs it up if the handler left it up.
func (c *Call) run() {
	defer c.srv.wg.Done()
	defer func() {
		_ = c.hangup(context.Background(), causeEngineBye, 480)
	}()
	c.srv.handler.HandleCall(c.ctx, c)
}

// watchMedia ends the call when the caller's RTP stops (RFC 3550 gives no rule; 30 s
// without media while not on hold is the usual carrier-facing default).
func (c *Call) watchMedia() {
	defer c.srv.wg.Done()
	select {
	case <-c.media.TimedOut():
		_ = c.hangup(context.Background(), causeRTPTimeout, 408)
	case <-c.ctx.Done():
	}
}

// discardInbound releases an inbound call that never registered, and its
// admission slot.
func (c *Call) discardInbound() {
	c.discard()
	if c.release != nil {
		c.release()
	}
}

// discard releases a call that never registered.
func (c *Call) discard() {
	c.stop()
	c.media.Close()
}

// onCanceled runs when the caller's CANCEL matched our INVITE transaction; the
// transaction layer has already answered 200 to the CANCEL and 487 to the INVITE
// (RFC 3261 §9.2). It runs under sipgo's transaction lock: it must not respond.
func (c *Call) onCanceled(cancel *gosip.Request) {
	c.srv.traceCanceled(c, cancel)
	c.srv.metrics.request("CANCEL")
	c.srv.metrics.response("CANCEL", 200)
	c.srv.metrics.response("INVITE", 487)
	c.log.Info("caller cancelled before answer")
	c.terminate(causeCancel)
}

func (s *Server) sdpConfig() sdp.Config {
	caps := make([]sdp.Capability, 0, len(s.cfg.Codecs))
	for _, cd := range s.cfg.Codecs {
		caps = append(caps, sdp.Capability{Name: cd.Name(), ClockRate: cd.ClockRate(), Channels: cd.Channels(), PT: cd.StaticPayloadType()})
	}
	return sdp.Config{Codecs: caps, TelephoneEvent: true, Ptime: int(s.cfg.Ptime / time.Millisecond)}
}

func (s *Server) codecFor(f sdp.Format) (codec.Codec, bool) {
	for _, cd := range s.cfg.Codecs {
		if strings.EqualFold(cd.Name(), f.Name) && cd.ClockRate() == f.ClockRate {
			return cd, true
		}
	}
	return nil, false
}

func (s *Server) contactHeader(transport string) gosip.Header {
	return s.contactFor("hotline", transport)
}

// contactFor is our Contact for transport with user as its user part (a trunk's
// account, so the carrier's inbound calls name it).
func (s *Server) contactFor(user, transport string) gosip.Header {
	hp := s.contact[transport]
	uri := "<sip:" + user + "@" + hp
	if transport != "udp" {
		uri += ";transport=" + transport
	}
	return gosip.NewHeader("Contact", uri+">")
}
