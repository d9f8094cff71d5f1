package sip

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
	"time"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/hotline-ivr/hotline/sip/sdp"
)

// DialRequest describes an outbound call: Server.Dial places it (RFC 3261 §13.2, the
// UAC side of an INVITE dialog). The transfer node's bridge mode, the ACD ringing an
// agent's registered phone, callbacks and the originate API all come through here.
type DialRequest struct {
	// Target is whom to call: a SIP URI ("sip:1001@10.0.0.5:5062", the agent's
	// registered contact) or a telephone number ("+15550100", "(555) 010-0123",
	// "tel:+15550100"), which needs Trunk. With a Trunk a URI's user part is the
	// number the trunk's allow list judges.
	Target string
	// Trunk names the configured trunk to call through; "" calls a SIP URI directly.
	Trunk string
	// CallerID is what the callee sees (RFC 3325, RFC 3323).
	CallerID CallerID
	// Headers are added to the INVITE (X-…, User-to-User…). Headers that the dialog
	// or the caller-ID policy own (From, To, Call-ID, CSeq, Via, Contact, Route,
	// Max-Forwards, Content-*, *Authorization, P-Asserted-Identity, Privacy) are
	// refused with ErrInvalidDial.
	Headers []Header
	// Timeout is how long the call may ring before it is canceled (ErrNoAnswer);
	// default the trunk's ring_timeout, else DefaultRingTimeout.
	Timeout time.Duration
	// EarlyMedia says what a 183 with SDP does; default the trunk's, else accept.
	EarlyMedia EarlyMedia
	// OnProgress, when set, is called on the dialling goroutine for each
	// provisional response from 180 on, with the Call: its media already carries the
	// callee's early media when Progress.EarlyMedia. It must not block. Hanging the
	// Call up cancels the attempt (Dial returns ErrCanceled).
	OnProgress func(Progress)
	// OnRefer handles REFERs the callee sends in the dialog (an agent's phone doing
	// a blind transfer); nil refuses them with 603 Decline. See ReferHandler.
	OnRefer ReferHandler
	// NextHop is host:port to send the INVITE to instead of the Target's host, and
	// the dialog's requests too while the callee sets no Record-Route: the source
	// address of a phone that registered from behind NAT (RFC 3261 §8.1.2 lets a UA
	// pick the first hop). Ignored with a Trunk, which knows its own.
	NextHop string
	// Parent is the Call-ID of the call this one is placed for (the caller being
	// transferred or queued), logged as parent_call_id.
	Parent string
	// CallID is the Call-ID to use, so that a caller who must answer at once (the
	// API's originate) can name the call before it is answered; "" makes a random
	// one. It must be unique: see NewCallID.
	CallID string
}

// NewCallID returns a fresh Call-ID for a DialRequest (RFC 3261 §8.1.1.4: globally
// unique, here random with the server's host).
func (s *Server) NewCallID() string { return newTag() + newTag() + "@" + s.cfg.Host }

// CallerID is the identity an outbound call presents.
type CallerID struct {
	// Policy is pass, fixed or withheld; CallerIDUnknown takes the trunk's (pass
	// when dialling directly).
	Policy CallerIDPolicy
	// Number is the number to present: the original caller's for pass, the fixed
	// number for fixed (default the trunk's caller_id.number). Through a trunk it is
	// normalized to E.164 and written in the trunk's format; a passed number that is
	// no telephone number is replaced by the trunk's fixed number (or withheld).
	Number string
	// Name is the display name.
	Name string
}

// Header is one extra header of an outbound INVITE.
type Header struct{ Name, Value string }

// Progress reports a provisional response to an outbound call.
type Progress struct {
	Status int    // 180, 181, 182, 183...
	Reason string // the reason phrase
	// EarlyMedia is set when this response started (or moved) the callee's early
	// media on the Call's media session (RFC 3960 §3: the last SDP received wins).
	EarlyMedia bool
	// Call is the outbound leg, not answered yet.
	Call *Call
}

// dialHeadersOwned are the headers a DialRequest may not set.
var dialHeadersOwned = map[string]bool{
	"via": true, "from": true, "f": true, "to": true, "t": true, "call-id": true, "i": true, "cseq": true,
	"contact": true, "m": true, "route": true, "record-route": true, "max-forwards": true,
	"content-length": true, "l": true, "content-type": true, "c": true, "content-encoding": true, "e": true,
	"authorization": true, "proxy-authorization": true, "p-asserted-identity": true, "privacy": true,
}

// dialPlan is a DialRequest resolved against the configuration: where the INVITE
// goes and what it says. Building it has no side effect.
type dialPlan struct {
	req       DialRequest
	trunk     *trunk
	trunkName string // metric label: the trunk's name, "direct" without
	ruri      gosip.Uri
	to        gosip.ToHeader
	from      gosip.FromHeader
	extra     []gosip.Header // caller-ID headers and DialRequest.Headers
	transport string         // "udp" or "tcp"
	dest      string         // host:port of the first hop
	routes    []gosip.Uri    // the pre-loaded route: the trunk's outbound proxy
	number    string         // the destination in E.164 (trunk calls)
	timeout   time.Duration
	early     EarlyMedia
}

const directTrunkLabel = "direct"

func invalidDial(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidDial, fmt.Sprintf(format, a...))
}

// plan resolves r; its errors wrap ErrInvalidDial or ErrNotAllowed.
func (s *Server) plan(r DialRequest) (*dialPlan, error) {
	p := &dialPlan{req: r, trunkName: directTrunkLabel}
	target := strings.TrimSpace(r.Target)
	if target == "" {
		return p, invalidDial("no target")
	}
	if r.Trunk != "" {
		t := s.trunks[r.Trunk]
		if t == nil {
			return p, fmt.Errorf("%w %q", ErrUnknownTrunk, r.Trunk)
		}
		p.trunk, p.trunkName = t, t.cfg.Name
	}
	for _, h := range r.Headers {
		if h.Name == "" || dialHeadersOwned[strings.ToLower(h.Name)] || strings.ContainsAny(h.Name, " :\r\n") {
			return p, invalidDial("header %q may not be set", h.Name)
		}
		if strings.ContainsAny(h.Value, "\r\n\x00") {
			return p, invalidDial("header %s: control characters in its value", h.Name)
		}
		p.extra = append(p.extra, gosip.NewHeader(h.Name, h.Value))
	}
	if strings.ContainsAny(r.CallerID.Number+r.CallerID.Name, "\r\n\x00\"\\<>") {
		return p, invalidDial("caller ID %q %q: characters not allowed", r.CallerID.Name, r.CallerID.Number)
	}
	t := p.trunk
	lower := strings.ToLower(target)
	if strings.HasPrefix(lower, "sip:") || strings.HasPrefix(lower, "sips:") {
		var u gosip.Uri
		if err := gosip.ParseUri(target, &u); err != nil || u.Host == "" {
			return p, invalidDial("target %q is not a SIP URI", target)
		}
		if u.IsEncrypted() {
			return p, invalidDial("target %q: sips needs TLS, which this server does not speak", target)
		}
		p.ruri = u
		if t != nil {
			e164, err := t.cfg.Numbers.Normalize(u.User)
			if err != nil {
				return p, invalidDial("target %q through trunk %s: %v", target, t.cfg.Name, err)
			}
			p.number = e164
		}
	} else {
		if t == nil {
			return p, invalidDial("target %q is a number: it needs a trunk", target)
		}
		e164, err := t.cfg.Numbers.Normalize(target)
		if err != nil {
			return p, invalidDial("%v", err)
		}
		p.number = e164
		p.ruri = gosip.Uri{Scheme: "sip", User: t.cfg.Numbers.Render(e164), Host: t.cfg.FromDomain}
		if t.cfg.FromDomain == t.cfg.Host && t.cfg.Port != DefaultSIPPort {
			p.ruri.Port = t.cfg.Port
		}
	}
	if t != nil && !t.allows(p.number) {
		return p, fmt.Errorf("%w: %s via trunk %s", ErrNotAllowed, p.number, t.cfg.Name)
	}

	switch {
	case t != nil:
		p.transport = t.cfg.Transport
		p.dest = t.dest
		if t.proxy != "" {
			host, port, _ := gosip.ParseAddr(t.proxy)
			lr := gosip.Uri{Scheme: "sip", Host: host, Port: port, UriParams: gosip.HeaderParams{{K: "lr", V: ""}}}
			if p.transport != "udp" {
				lr.UriParams.Add("transport", p.transport)
			}
			p.routes = []gosip.Uri{lr}
		}
		if p.transport != "udp" && !p.ruri.UriParams.Has("transport") {
			p.ruri.UriParams = p.ruri.UriParams.Clone()
			p.ruri.UriParams.Add("transport", p.transport)
		}
	default:
		p.transport = "udp"
		if tp, ok := p.ruri.UriParams.Get("transport"); ok {
			p.transport = strings.ToLower(tp)
		}
		p.dest = hostPort(p.ruri, p.transport)
		if r.NextHop != "" {
			hp, err := parseHostPort(r.NextHop)
			if err != nil {
				return p, invalidDial("next hop: %v", err)
			}
			p.dest = hp
		}
	}
	if _, ok := s.contact[p.transport]; !ok {
		return p, invalidDial("no %s listener to call from", p.transport)
	}
	p.to = gosip.ToHeader{Address: gosip.Uri{Scheme: "sip", User: p.ruri.User, Host: p.ruri.Host, Port: p.ruri.Port}}
	p.from, p.extra = s.callerIdentity(p, r.CallerID, p.extra)

	p.timeout = r.Timeout
	if p.timeout <= 0 {
		p.timeout = DefaultRingTimeout
		if t != nil {
			p.timeout = t.cfg.RingTimeout
		}
	}
	p.early = r.EarlyMedia
	if p.early == EarlyMediaUnknown {
		p.early = EarlyMediaAccept
		if t != nil {
			p.early = t.earlyMedia
		}
	}
	return p, nil
}

// anonymous is the From of a call with withheld identity (RFC 3323 §4.1.1.3).
var anonymous = gosip.Uri{Scheme: "sip", User: "anonymous", Host: "anonymous.invalid"}

// callerIdentity builds From, P-Asserted-Identity (RFC 3325 §9.1, only toward a
// trunk that trusts us with it) and Privacy (RFC 3323 §4.2, RFC 3325 §9.3) from the
// caller-ID policy.
func (s *Server) callerIdentity(p *dialPlan, cid CallerID, extra []gosip.Header) (gosip.FromHeader, []gosip.Header) {
	t := p.trunk
	pol := cid.Policy
	if pol == CallerIDUnknown {
		pol = CallerIDPass
		if t != nil {
			pol = t.callerID
		}
	}
	domain := s.cfg.Host
	number, name := cid.Number, cid.Name
	if t != nil {
		domain = t.cfg.FromDomain
		if number == "" && pol != CallerIDPass {
			number, name = t.cfg.CallerID.Number, t.cfg.CallerID.Name
		}
		if number != "" {
			if e164, err := t.cfg.Numbers.Normalize(number); err == nil {
				number = t.cfg.Numbers.Render(e164)
			} else if fixed, ferr := t.cfg.Numbers.Normalize(t.cfg.CallerID.Number); ferr == nil {
				number, name = t.cfg.Numbers.Render(fixed), t.cfg.CallerID.Name
			} else {
				number = "" // no presentable number: present none
			}
		}
	}
	var from gosip.FromHeader
	switch {
	case pol == CallerIDWithheld || (t != nil && number == ""):
		from = gosip.FromHeader{DisplayName: "Anonymous", Address: *anonymous.Clone()}
		extra = append(extra, gosip.NewHeader("Privacy", "id"))
	default:
		user := number
		if user == "" {
			user = "hotline"
		}
		from = gosip.FromHeader{DisplayName: name, Address: gosip.Uri{Scheme: "sip", User: user, Host: domain}}
	}
	if t != nil && t.cfg.CallerID.AssertIdentity && number != "" {
		pai := "<sip:" + number + "@" + domain + ">"
		if name != "" && pol != CallerIDWithheld {
			pai = `"` + name + `" ` + pai
		}
		extra = append(extra, gosip.NewHeader("P-Asserted-Identity", pai))
	}
	from.Params = gosip.NewParams()
	from.Params.Add("tag", newTag())
	return from, extra
}

// Dial places an outbound call and returns it once the callee answered and we sent
// the ACK (RFC 3261 §13.2.2.4): the same Call an inbound call is, ready to Play,
// read Digits, Refer, bridge and Hangup, with Outbound set. It returns when the
// attempt ends otherwise, with a *CallError (errors.Is ErrBusy, ErrNoAnswer,
// ErrRejected, ErrUnavailable, ErrCanceled, ErrAuthFailed, ErrMedia, ErrFailed) or a
// refusal that never left the engine (ErrInvalidDial, ErrNotAllowed, ErrTrunkFull,
// ErrTrunkRate, ErrServerClosed).
//
// ctx ending before the answer cancels the call (CANCEL, §9.1); once Dial returned,
// ctx no longer matters: the call lasts until a side hangs up. Every attempt is
// counted in hotline_outbound_attempts_total{trunk,result}.
func (s *Server) Dial(ctx context.Context, r DialRequest) (*Call, error) {
	p, err := s.plan(r)
	if err != nil {
		s.refused(p, err)
		return nil, err
	}
	var release func()
	if p.trunk != nil {
		if release, err = p.trunk.limits.acquire(); err != nil {
			err = fmt.Errorf("trunk %s: %w", p.trunk.cfg.Name, err)
			s.refused(p, err)
			return nil, err
		}
	}
	if err := s.waitReady(ctx); err != nil {
		if release != nil {
			release()
		}
		s.metrics.attempt(p.trunkName, resultOf(err))
		return nil, err
	}
	c, err := s.newOutboundCall(p)
	if err != nil {
		if release != nil {
			release()
		}
		s.metrics.attempt(p.trunkName, resultFailed)
		return nil, &CallError{Err: ErrFailed, Reason: "no media resources", Cause: err}
	}
	c.release = release
	if !s.startDial(c) {
		c.discard()
		if release != nil {
			release()
		}
		s.metrics.attempt(p.trunkName, resultShutdown)
		return nil, ErrServerClosed
	}
	defer s.endDial(c)
	err = c.dial(ctx, p)
	s.metrics.attempt(p.trunkName, resultOf(err))
	if err != nil {
		return nil, err
	}
	return c, nil
}

// refused logs and counts an attempt the engine did not place.
func (s *Server) refused(p *dialPlan, err error) {
	label := directTrunkLabel
	if p != nil {
		label = p.trunkName
	}
	s.metrics.attempt(label, resultOf(err))
	lvl := "outbound call refused"
	if errors.Is(err, ErrRefused) {
		s.log.Warn(lvl, "trunk", label, "target", safeTarget(p), "parent_call_id", parentOf(p), "error", err)
		return
	}
	s.log.Info("outbound call not placed", "trunk", label, "target", safeTarget(p), "error", err)
}

func safeTarget(p *dialPlan) string {
	if p == nil {
		return ""
	}
	if p.number != "" {
		return p.number
	}
	return p.req.Target
}

func parentOf(p *dialPlan) string {
	if p == nil {
		return ""
	}
	return p.req.Parent
}

// newOutboundCall creates the Call of p with its RTP session, SDP offer and INVITE.
func (s *Server) newOutboundCall(p *dialPlan) (*Call, error) {
	callID := p.req.CallID
	if callID == "" {
		callID = newTag() + newTag() + "@" + s.cfg.Host
	}
	log := s.log.With("call_id", callID)
	if p.req.Parent != "" {
		log = log.With("parent_call_id", p.req.Parent)
	}
	sess, err := s.media.NewSession(log)
	if err != nil {
		return nil, err
	}
	ctx, stop := context.WithCancel(context.Background())
	info := Info{
		CallID:    callID,
		Caller:    p.from.Address.User,
		Called:    userOrHost(p.ruri),
		From:      p.from.Value(),
		To:        p.to.Value(),
		Transport: p.transport,
		Outbound:  true,
	}
	if p.trunk != nil {
		info.Trunk = p.trunk.cfg.Name
	}
	if ap, err := netip.ParseAddrPort(p.dest); err == nil {
		info.Source = ap
	}
	c := &Call{
		srv:       s,
		info:      info,
		log:       log,
		ctx:       ctx,
		stop:      stop,
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
		// RFC 3261 §8.1.1.5: less than 2**31, and room to grow.
		localCSeq:    1 + rand.Uint32()>>17,
		outbound:     true,
		trunk:        p.trunk,
		referHandler: p.req.OnRefer,
	}
	if p.trunk == nil && p.req.NextHop != "" {
		c.nextHop = p.dest
	}
	if p.trunk != nil {
		c.auth = p.trunk.authenticator()
	}
	c.origin.AddrType, c.origin.Address = addrType(c.localMediaAddr().Addr())
	if err := c.outboundSRTP(p.trunk); err != nil {
		c.discard()
		return nil, err
	}
	c.local = c.offerSDP(sdp.SendRecv)
	c.invite = c.buildInvite(p)
	return c, nil
}

// buildInvite writes the initial INVITE (RFC 3261 §8.1.1) with our SDP offer.
func (c *Call) buildInvite(p *dialPlan) *gosip.Request {
	req := gosip.NewRequest(gosip.INVITE, *p.ruri.Clone())
	from, to := p.from, p.to
	from.Params = from.Params.Clone()
	req.AppendHeader(&from)
	req.AppendHeader(&to)
	cid := gosip.CallIDHeader(c.info.CallID)
	req.AppendHeader(&cid)
	req.AppendHeader(&gosip.CSeqHeader{SeqNo: c.localCSeq, MethodName: gosip.INVITE})
	mf := gosip.MaxForwardsHeader(70)
	req.AppendHeader(&mf)
	for _, r := range p.routes {
		req.AppendHeader(&gosip.RouteHeader{Address: *r.Clone()})
	}
	req.AppendHeader(c.srv.contactHeader(p.transport))
	req.AppendHeader(gosip.NewHeader("Allow", allowed))
	req.AppendHeader(gosip.NewHeader("User-Agent", c.srv.cfg.UserAgent))
	for _, h := range p.extra {
		req.AppendHeader(h)
	}
	req.AppendHeader(gosip.NewHeader("Content-Type", "application/sdp"))
	req.SetBody(c.local.Marshal())
	req.SetTransport(strings.ToUpper(p.transport))
	req.SetDestination(p.dest)
	c.srv.bindLocal(req)
	return req
}
