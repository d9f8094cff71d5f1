package sip

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	gosip "github.com/emiago/sipgo/sip"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/hotline-ivr/hotline/sip/auth"
	"github.com/hotline-ivr/hotline/sip/registrar"
)

// RegistrarConfig makes the server the registrar of the agents' phones (RFC 3261
// §10.3). Without it REGISTER gets 405.
type RegistrarConfig struct {
	// Bindings stores the registrations (registrar.NewMemory). Required. Its owner
	// closes it, after the server.
	Bindings registrar.Registrar
	// Auth authenticates every REGISTER (401 challenges, RFC 3261 §22). Required:
	// hotline never accepts an unauthenticated registration.
	Auth *auth.Authenticator
	// Domain is the domain of the agents' address-of-records: bindings are stored
	// under registrar.AOR(user, Domain) (see Server.AOR). Default: Config.Host.
	Domain string
	// Aliases are other hosts a REGISTER's To URI may name (a DNS name, a public
	// address); To URIs naming none of Domain, Config.Host and these get 404
	// (RFC 3261 §10.3 step 5). "*" accepts any host: one domain whatever the
	// phones call it (e.g. behind a load balancer, or listening on 0.0.0.0).
	Aliases []string
}

// WithRegistrar makes the server a registrar; NewServer checks rc.
func WithRegistrar(rc RegistrarConfig) Option {
	return func(s *Server) { s.registrar = &registrarState{cfg: rc} }
}

// registerTimeout bounds one REGISTER's credential lookup and binding update.
const registerTimeout = 5 * time.Second

// Outcomes of a REGISTER, the result label of hotline_sip_registrations_total.
const (
	regRegistered     = "registered"   // 200, contacts added or refreshed
	regUnregistered   = "unregistered" // 200, contacts removed only
	regFetched        = "fetched"      // 200 to a query without Contact
	regChallenged     = "challenged"   // 401, no credentials: the handshake's first leg
	regStale          = "stale"        // 401 stale=true
	regAuthFailed     = "auth_failed"  // 401 after failed credentials
	regForbidden      = "forbidden"    // 403, credentials of another user
	regNotFound       = "not_found"    // 404, a domain not ours
	regBadRequest     = "bad_request"  // 400, 420
	regError          = "error"        // 500 (store), 503 (shutting down)
	regTooBrief       = "interval_too_brief"
	regOutOfOrder     = "out_of_order"
	regTooManyContact = "too_many_contacts"
)

var regResults = []string{regRegistered, regUnregistered, regFetched, regChallenged, regStale, regAuthFailed,
	regForbidden, regNotFound, regBadRequest, regError, regTooBrief, regOutOfOrder, regTooManyContact}

// registrarState is the server's registrar: its configuration and metrics.
type registrarState struct {
	cfg      RegistrarConfig
	hosts    []string                      // To hosts that are ours
	results  map[string]prometheus.Counter // by outcome, resolved once
	contacts prometheus.GaugeFunc
}

// setup checks the configuration and registers the metrics; NewServer calls it.
func (r *registrarState) setup(s *Server) error {
	var errs []error
	if r.cfg.Bindings == nil {
		errs = append(errs, errors.New("sip: registrar without bindings store"))
	}
	if r.cfg.Auth == nil {
		errs = append(errs, errors.New("sip: registrar without authenticator"))
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if r.cfg.Domain == "" {
		r.cfg.Domain = s.cfg.Host
	}
	r.hosts = append([]string{r.cfg.Domain, s.cfg.Host}, r.cfg.Aliases...)
	results := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hotline_sip_registrations_total",
		Help: "REGISTER requests answered, by result (" + strings.Join(regResults, ", ") + ").",
	}, []string{"result"})
	bindings := r.cfg.Bindings
	r.contacts = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "hotline_registered_contacts",
		Help: "Contacts currently registered (bindings over all address-of-records).",
	}, func() float64 { return float64(bindings.ContactCount()) })
	if s.reg != nil {
		for _, c := range []prometheus.Collector{results, r.contacts} {
			if err := s.reg.Register(c); err != nil {
				return fmt.Errorf("sip: register registrar metrics: %w", err)
			}
		}
	}
	r.results = make(map[string]prometheus.Counter, len(regResults))
	for _, res := range regResults {
		r.results[res] = results.WithLabelValues(res)
	}
	return nil
}

// AOR is the address-of-record under which user's phones are registered with this
// server (registrar.AOR(user, RegistrarConfig.Domain)); "" when the server is not a
// registrar. The ACD looks agents up with it.
func (s *Server) AOR(user string) string {
	if s.registrar == nil {
		return ""
	}
	return registrar.AOR(user, s.registrar.cfg.Domain)
}

// onRegister is the registrar (RFC 3261 §10.3): authenticate, authorize, update the
// bindings, answer with the current contacts.
func (s *Server) onRegister(req *gosip.Request, tx gosip.ServerTransaction) {
	s.metrics.request(string(req.Method))
	r := s.registrar
	log := s.log.With("call_id", callIDOf(req), "source", req.Source())
	answer := func(result string, code int, reason string, hdrs ...gosip.Header) {
		r.count(result)
		if err := s.respond(tx, req, code, reason, nil, hdrs...); err != nil {
			log.Debug("REGISTER response failed", "error", err)
		}
	}
	s.mu.Lock()
	draining := s.draining
	s.mu.Unlock()
	if draining {
		answer(regError, 503, "Service Unavailable", gosip.NewHeader("Retry-After", "5"))
		return
	}
	to, cseq := req.To(), req.CSeq()
	if to == nil || cseq == nil || req.CallID() == nil {
		answer(regBadRequest, 400, "Missing Mandatory Header")
		return
	}
	// Step 2: an extension we do not support that the phone requires is a 420.
	if unsupported := unsupportedRequire(req); len(unsupported) > 0 {
		answer(regBadRequest, 420, "Bad Extension", gosip.NewHeader("Unsupported", strings.Join(unsupported, ", ")))
		return
	}
	ctx, cancel := context.WithTimeout(s.halt, registerTimeout)
	defer cancel()
	// Step 3: authenticate (RFC 3261 §22). Every failure, an unknown user's included,
	// gets the same fresh challenge.
	res, err := r.cfg.Auth.Authenticate(ctx, req)
	if err != nil {
		log.Warn("REGISTER: credential store failed", "error", err)
		answer(regError, 500, "Server Internal Error")
		return
	}
	if !res.OK {
		result := regAuthFailed
		switch res.Reason {
		case auth.ReasonMissing:
			result = regChallenged
		case auth.ReasonStale:
			result = regStale
		}
		r.count(result)
		if err := s.send(tx, req, r.cfg.Auth.ChallengeResponse(req, res)); err != nil {
			log.Debug("REGISTER challenge failed", "error", err)
		}
		return
	}
	// Step 4: a user registers its own address-of-record only.
	if res.Username != to.Address.User {
		log.Info("REGISTER for another user's address refused", "username", res.Username, "to", to.Address.User)
		answer(regForbidden, 403, "Forbidden")
		return
	}
	// Step 5: the address-of-record must be in our domain.
	if !r.ours(to.Address.Host) {
		answer(regNotFound, 404, "Not Found")
		return
	}
	rq, err := registerRequest(req, registrar.AOR(to.Address.User, r.cfg.Domain))
	if err != nil {
		log.Debug("REGISTER refused", "error", err)
		answer(regBadRequest, 400, "Bad Request")
		return
	}
	bindings, err := r.cfg.Bindings.Register(ctx, rq)
	var rerr *registrar.Error
	switch {
	case errors.As(err, &rerr):
		log.Debug("REGISTER refused", "error", err)
		var hdrs []gosip.Header
		if rerr.Status == 423 {
			hdrs = append(hdrs, gosip.NewHeader("Min-Expires", strconv.Itoa(rerr.MinExpires)))
		}
		answer(rerr.Label, rerr.Status, rerr.Phrase, hdrs...)
		return
	case err != nil:
		log.Warn("REGISTER: binding update failed", "error", err)
		answer(regError, 500, "Server Internal Error")
		return
	}
	// Step 8: 200 with every current binding and its expiry, and the Date.
	now := time.Now()
	hdrs := make([]gosip.Header, 0, len(bindings)+len(rq.Path)+1)
	for _, b := range bindings {
		hdrs = append(hdrs, gosip.NewHeader("Contact", b.Contact+";expires="+strconv.Itoa(b.ExpiresIn(now))))
	}
	hdrs = append(hdrs, gosip.NewHeader("Date", now.UTC().Format("Mon, 02 Jan 2006 15:04:05 GMT")))
	if supports(req, "path") { // RFC 3327 §5.3: echo the stored Path to a phone that knows it
		for _, p := range rq.Path {
			hdrs = append(hdrs, gosip.NewHeader("Path", p))
		}
	}
	result := regRegistered
	switch {
	case len(rq.Contacts) == 0 && !rq.Wildcard:
		result = regFetched
	case removesOnly(rq):
		result = regUnregistered
	}
	log.Debug("REGISTER accepted", "aor", rq.AOR, "result", result, "contacts", len(bindings))
	answer(result, 200, "OK", hdrs...)
}

// count counts one REGISTER outcome; a label outside the known set counts as error.
func (r *registrarState) count(result string) {
	c, ok := r.results[result]
	if !ok {
		c = r.results[regError]
	}
	c.Inc()
}

// ours reports whether host names this registrar's domain.
func (r *registrarState) ours(host string) bool {
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	for _, h := range r.hosts {
		if h == "*" || strings.EqualFold(host, strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")) {
			return true
		}
	}
	return false
}

// registerRequest reads what the registrar needs from a REGISTER: the contacts with
// their expires and q (RFC 3261 §10.2.1), the Expires header, Path (RFC 3327), and
// the socket the request came from, which is where a phone behind NAT is reachable.
func registerRequest(req *gosip.Request, aor string) (registrar.Request, error) {
	rq := registrar.Request{
		AOR: aor, CallID: req.CallID().Value(), CSeq: req.CSeq().SeqNo, Expires: registrar.NoExpires,
		Transport: strings.ToLower(req.Transport()),
	}
	if ap, err := netip.ParseAddrPort(req.Source()); err == nil {
		rq.Source = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	if h := req.GetHeader("Expires"); h != nil {
		e, err := parseDelta(h.Value())
		if err != nil {
			return rq, fmt.Errorf("Expires: %w", err)
		}
		rq.Expires = e
	}
	if h := req.GetHeader("User-Agent"); h != nil {
		rq.UserAgent = h.Value()
	}
	for _, h := range req.GetHeaders("Path") {
		rq.Path = append(rq.Path, splitList(h.Value())...)
	}
	for _, h := range req.GetHeaders("Contact") {
		ch, ok := h.(*gosip.ContactHeader)
		if !ok {
			return rq, fmt.Errorf("unparsed Contact %q", h.Value())
		}
		if ch.Address.Wildcard {
			rq.Wildcard = true
			continue
		}
		c, err := contactOf(ch)
		if err != nil {
			return rq, err
		}
		rq.Contacts = append(rq.Contacts, c)
	}
	return rq, nil // Contact: * beside other contacts is the registrar's 400 (§10.3 step 6)
}

// contactOf reads one Contact: expires and q case-insensitively (RFC 3261 §7.3.1),
// the value to echo without expires, and +sip.instance.
func contactOf(ch *gosip.ContactHeader) (registrar.Contact, error) {
	c := registrar.Contact{URI: ch.Address.String(), Expires: registrar.NoExpires, Q: 1}
	clone := ch.Clone()
	clone.Params = gosip.NewParams()
	for _, kv := range ch.Params {
		switch strings.ToLower(kv.K) {
		case "expires":
			e, err := parseDelta(kv.V)
			if err != nil {
				return c, fmt.Errorf("Contact expires: %w", err)
			}
			c.Expires = e
			continue
		case "q":
			q, err := strconv.ParseFloat(kv.V, 64)
			if err != nil || q < 0 || q > 1 {
				return c, fmt.Errorf("Contact q %q not in [0, 1]", kv.V)
			}
			c.Q = q
		case "+sip.instance":
			c.InstanceID = strings.Trim(kv.V, `"`)
		}
		clone.Params = append(clone.Params, kv)
	}
	c.Value = clone.Value()
	return c, nil
}

// parseDelta reads delta-seconds (RFC 3261 §25.1); values beyond 2**32-1 are read as
// it (§20.19).
func parseDelta(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "" || strings.TrimLeft(s, "0123456789") != "" {
		return 0, fmt.Errorf("%q is not delta-seconds", s)
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil || v > registrar.MaxDeltaSeconds {
		return registrar.MaxDeltaSeconds, nil
	}
	return int64(v), nil
}

// removesOnly reports whether a REGISTER only removes bindings.
func removesOnly(rq registrar.Request) bool {
	if rq.Wildcard {
		return true
	}
	for _, c := range rq.Contacts {
		e := c.Expires
		if e == registrar.NoExpires {
			e = rq.Expires
		}
		if e != 0 {
			return false
		}
	}
	return true
}

// registrarExtensions are the option tags the registrar supports (RFC 3327 path).
var registrarExtensions = map[string]bool{"path": true}

// unsupportedRequire lists the Require option tags we do not support (RFC 3261 §8.2.2.3).
func unsupportedRequire(req *gosip.Request) []string {
	var out []string
	for _, h := range req.GetHeaders("Require") {
		for _, tag := range strings.Split(h.Value(), ",") {
			if tag = strings.TrimSpace(tag); tag != "" && !registrarExtensions[strings.ToLower(tag)] {
				out = append(out, tag)
			}
		}
	}
	return out
}

// supports reports whether the request's Supported header lists tag.
func supports(req *gosip.Request, tag string) bool {
	for _, h := range req.GetHeaders("Supported") {
		for _, t := range strings.Split(h.Value(), ",") {
			if strings.EqualFold(strings.TrimSpace(t), tag) {
				return true
			}
		}
	}
	return false
}

// splitList splits a header value at the commas outside <> and quotes (a Path value
// may hold several name-addrs, RFC 3327 §4).
func splitList(v string) []string {
	var out []string
	depth, quoted, start := 0, false, 0
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c == '"' && (i == 0 || v[i-1] != '\\'):
			quoted = !quoted
		case quoted:
		case c == '<':
			depth++
		case c == '>' && depth > 0:
			depth--
		case c == ',' && depth == 0:
			if p := strings.TrimSpace(v[start:i]); p != "" {
				out = append(out, p)
			}
			start = i + 1
		}
	}
	if p := strings.TrimSpace(v[start:]); p != "" {
		out = append(out, p)
	}
	return out
}

func callIDOf(req *gosip.Request) string {
	if c := req.CallID(); c != nil {
		return c.Value()
	}
	return ""
}
