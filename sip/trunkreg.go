package sip

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	gosip "github.com/emiago/sipgo/sip"
)

// TrunkStatus is a trunk's state for the API and the wallboard.
type TrunkStatus struct {
	Name        string
	ActiveCalls int // outbound calls through it now (ringing or up)
	// Registration is nil when the trunk does not register.
	Registration *RegistrationStatus
}

// RegistrationStatus is the state of a trunk's registration at its carrier.
type RegistrationStatus struct {
	Registered  bool      // the carrier holds our binding now
	Expires     time.Time // when the binding it granted runs out
	LastStatus  int       // the last final response (0: none, e.g. no answer)
	LastError   string    // why the last attempt failed, "" after a success
	Failures    int       // consecutive failed attempts
	LastAttempt time.Time
	NextAttempt time.Time // the next refresh or retry
}

// Trunks reports every configured trunk, by name.
func (s *Server) Trunks() []TrunkStatus {
	names := make([]string, 0, len(s.trunks))
	for n := range s.trunks {
		names = append(names, n)
	}
	slices.Sort(names)
	out := make([]TrunkStatus, 0, len(names))
	for _, n := range names {
		st, _ := s.Trunk(n)
		out = append(out, st)
	}
	return out
}

// Trunk reports one trunk; false when no trunk has that name.
func (s *Server) Trunk(name string) (TrunkStatus, bool) {
	t := s.trunks[name]
	if t == nil {
		return TrunkStatus{}, false
	}
	st := TrunkStatus{Name: name, ActiveCalls: t.limits.inUse()}
	if t.reg != nil {
		r := t.reg.snapshot()
		st.Registration = &r
	}
	return st, true
}

// registration keeps one trunk registered at its carrier (RFC 3261 §10.2): REGISTER
// with one Call-ID and increasing CSeq for its whole life (§10.2.4), digest
// authentication, a refresh before the granted expiry, back-off after failures,
// and removal (Expires: 0) when the server closes.
type registration struct {
	s         *Server
	t         *trunk
	auth      *authenticator
	callID    string
	fromTag   string
	cseq      uint32
	aor       gosip.Uri // sip:username@domain
	ruri      gosip.Uri // sip:domain (§10.2: the registrar's domain, no user part)
	dest      string    // host:port REGISTERs go to
	expires   time.Duration
	retryBase time.Duration
	retryMax  time.Duration

	mu     sync.Mutex
	status RegistrationStatus
	// challenge is the registrar's last 401/407: the removal at shutdown sends
	// credentials for it at once (RFC 3261 §22.1 lets a UA reuse them within the
	// realm), saving a round trip when the server is closing.
	challenge *gosip.Response
}

func newRegistration(s *Server, t *trunk) *registration {
	rc := t.cfg.Register
	r := &registration{
		s:         s,
		t:         t,
		auth:      t.authenticator(),
		callID:    newTag() + newTag() + "@" + s.cfg.Host,
		fromTag:   newTag(),
		cseq:      1 + rand.Uint32()>>17,
		aor:       gosip.Uri{Scheme: "sip", User: t.cfg.Username, Host: t.cfg.FromDomain},
		ruri:      gosip.Uri{Scheme: "sip", Host: t.cfg.FromDomain},
		dest:      t.dest,
		expires:   cmpOr(rc.Expires, DefaultRegisterExpires),
		retryBase: cmpOr(rc.RetryBase, DefaultRegisterRetryBase),
		retryMax:  cmpOr(rc.RetryMax, DefaultRegisterRetryMax),
	}
	if r.retryMax < r.retryBase {
		r.retryMax = r.retryBase
	}
	if t.cfg.FromDomain == t.cfg.Host && t.cfg.Port != DefaultSIPPort {
		r.ruri.Port = t.cfg.Port
	}
	if rc.Registrar != "" && t.proxy == "" {
		r.dest, _ = parseHostPort(rc.Registrar)
	}
	return r
}

func cmpOr(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

func (r *registration) snapshot() RegistrationStatus {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.status
}

// run registers, refreshes and retries until ctx ends, then removes the binding.
func (r *registration) run(ctx context.Context) {
	log := r.s.log.With("trunk", r.t.cfg.Name, "registrar", r.dest)
	for ctx.Err() == nil {
		granted, retryAfter, err := r.register(ctx, r.expires)
		if ctx.Err() != nil {
			break
		}
		now := time.Now()
		var wait time.Duration
		r.mu.Lock()
		r.status.LastAttempt = now
		if err == nil {
			wait = refreshAfter(granted)
			if !r.status.Registered {
				log.Info("trunk registered", "expires", granted)
			}
			r.status = RegistrationStatus{Registered: true, Expires: now.Add(granted), LastStatus: 200, LastAttempt: now}
		} else {
			r.status.Failures++
			r.status.LastError = err.Error()
			var ce *CallError
			if errors.As(err, &ce) {
				r.status.LastStatus = ce.Status
			} else {
				r.status.LastStatus = 0
			}
			wait = r.backoff(r.status.Failures)
			if retryAfter > 0 {
				wait = retryAfter
			}
			if r.status.Registered && now.Before(r.status.Expires) {
				wait = min(wait, max(r.status.Expires.Sub(now)/2, registerMinRefreshAfter))
			} else {
				r.status.Registered = false
			}
			log.Warn("trunk registration failed", "error", err, "failures", r.status.Failures, "retry_in", wait.Round(time.Millisecond))
		}
		r.status.NextAttempt = now.Add(wait)
		registered := r.status.Registered
		r.mu.Unlock()
		r.s.metrics.trunkRegistered(r.t.cfg.Name, registered)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		t.Stop()
	}
	r.mu.Lock()
	was := r.status.Registered
	r.status.Registered = false
	r.status.NextAttempt = time.Time{}
	r.mu.Unlock()
	r.s.metrics.trunkRegistered(r.t.cfg.Name, false)
	if was {
		// RFC 3261 §10.2.2: Expires 0 removes the binding. The registrar usually
		// challenges it, and the round (REGISTER, 401, REGISTER with credentials,
		// 200) must fit: it gets its own bound, unregister_timeout, rather than the
		// calls' ShutdownTimeout, and Close waits for it.
		uctx, cancel := context.WithTimeout(context.Background(), cmpOr(r.t.cfg.Register.UnregisterTimeout, DefaultUnregisterTimeout))
		defer cancel()
		if _, _, err := r.register(uctx, 0); err != nil {
			log.Info("trunk unregistration failed", "error", err)
		} else {
			log.Info("trunk unregistered")
		}
	}
}

// refreshAfter is when to refresh a binding granted for d: 30 s before it runs out,
// or halfway for short ones.
func refreshAfter(d time.Duration) time.Duration {
	return max(d-min(d/2, registerRefreshMargin), registerMinRefreshAfter)
}

// backoff is the wait after the n-th consecutive failure (RFC 5626 §4.5): a random
// time between half and all of min(retryMax, retryBase * 2^(n-1)).
func (r *registration) backoff(n int) time.Duration {
	d := r.retryBase
	for i := 1; i < n && d < r.retryMax; i++ {
		d *= 2
	}
	d = min(d, r.retryMax)
	return d/2 + rand.N(d/2+1)
}

// register sends one REGISTER asking for expires (0 removes the binding), answering
// challenges and a 423 Interval Too Brief (§10.3 step 7: ask again with Min-Expires).
// It returns the expiry granted, or the error and the Retry-After the registrar
// asked for.
func (r *registration) register(ctx context.Context, expires time.Duration) (granted, retryAfter time.Duration, err error) {
	var challenge *gosip.Response
	preemptive := false
	if expires == 0 {
		r.mu.Lock()
		challenge, preemptive = r.challenge, r.challenge != nil
		r.mu.Unlock()
	}
	for attempt := 0; ; attempt++ {
		req := r.request(expires)
		if challenge != nil {
			if err := r.auth.authorize(req, challenge); err != nil {
				if preemptive {
					req, challenge = r.request(expires), nil // no credentials: wait for the challenge
				} else {
					return 0, 0, &CallError{Status: challenge.StatusCode, Reason: challenge.Reason, Err: ErrAuthFailed, Cause: err}
				}
			}
			preemptive = false
		}
		err := r.s.secureHop(ctx, req, r.t) // TLS trunks (trunktls.go)
		var res *gosip.Response
		if err == nil {
			res, err = r.s.transact(ctx, req)
		}
		if err != nil {
			return 0, 0, &CallError{Err: ErrUnavailable, Reason: "no answer from the registrar", Cause: err}
		}
		switch {
		case res.IsSuccess():
			return r.granted(res, expires), 0, nil
		case (res.StatusCode == 401 || res.StatusCode == 407) && attempt < maxAuthAttempts:
			challenge = res
			r.mu.Lock()
			r.challenge = res
			r.mu.Unlock()
			continue
		case res.StatusCode == 423 && attempt < maxAuthAttempts:
			if h := res.GetHeader("Min-Expires"); h != nil {
				if n, err := strconv.Atoi(strings.TrimSpace(h.Value())); err == nil && n > 0 {
					expires = time.Duration(n) * time.Second
					r.expires = expires
					continue
				}
			}
		}
		e := statusError(res.StatusCode, res.Reason)
		if h := res.GetHeader("Retry-After"); h != nil {
			v, _, _ := strings.Cut(strings.TrimSpace(h.Value()), ";")
			if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n > 0 {
				retryAfter = time.Duration(n) * time.Second
			}
		}
		return 0, retryAfter, e
	}
}

// request builds a REGISTER (RFC 3261 §10.2): the same Call-ID and From tag for the
// registration's life, a new CSeq each time.
func (r *registration) request(expires time.Duration) *gosip.Request {
	s, t := r.s, r.t
	req := gosip.NewRequest(gosip.REGISTER, *r.ruri.Clone())
	from := gosip.FromHeader{Address: *r.aor.Clone(), Params: gosip.NewParams()}
	from.Params.Add("tag", r.fromTag)
	to := gosip.ToHeader{Address: *r.aor.Clone()}
	req.AppendHeader(&from)
	req.AppendHeader(&to)
	cid := gosip.CallIDHeader(r.callID)
	req.AppendHeader(&cid)
	r.mu.Lock()
	r.cseq++
	cseq := r.cseq
	r.mu.Unlock()
	req.AppendHeader(&gosip.CSeqHeader{SeqNo: cseq, MethodName: gosip.REGISTER})
	mf := gosip.MaxForwardsHeader(70)
	req.AppendHeader(&mf)
	if t.proxy != "" {
		host, port, _ := gosip.ParseAddr(t.proxy)
		req.AppendHeader(&gosip.RouteHeader{Address: gosip.Uri{Scheme: "sip", Host: host, Port: port,
			UriParams: gosip.HeaderParams{{K: "lr", V: ""}}}})
	}
	req.AppendHeader(s.contactFor(contactUser(t.cfg.Username), t.cfg.Transport))
	req.AppendHeader(gosip.NewHeader("Expires", strconv.Itoa(int(expires/time.Second))))
	req.AppendHeader(gosip.NewHeader("Allow", allowed))
	req.AppendHeader(gosip.NewHeader("User-Agent", s.cfg.UserAgent))
	req.SetBody(nil)
	req.SetTransport(strings.ToUpper(t.cfg.Transport))
	req.SetDestination(r.dest)
	s.bindLocal(req)
	return req
}

// contactUser makes a username usable as a Contact URI's user part.
func contactUser(u string) string {
	var b strings.Builder
	for i := 0; i < len(u); i++ {
		c := u[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-_.!~*'()&=+$,;?/", c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// granted reads the expiry the registrar granted our contact (§10.2.4): its
// Contact's expires parameter, else the Expires header, else what we asked.
func (r *registration) granted(res *gosip.Response, asked time.Duration) time.Duration {
	_, ourPort, _ := net.SplitHostPort(r.s.contact[r.t.cfg.Transport])
	for _, h := range res.GetHeaders("Contact") {
		ct, ok := h.(*gosip.ContactHeader)
		if !ok {
			continue
		}
		if ct.Address.Host != r.s.cfg.Host || strconv.Itoa(ct.Address.Port) != ourPort {
			continue
		}
		if v, ok := ct.Params.Get("expires"); ok {
			if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n > 0 {
				return time.Duration(n) * time.Second
			}
		}
	}
	if h := res.GetHeader("Expires"); h != nil {
		if n, err := strconv.Atoi(strings.TrimSpace(h.Value())); err == nil && n > 0 {
			return time.Duration(n) * time.Second
		}
	}
	return asked
}
