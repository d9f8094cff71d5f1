package sip

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"strings"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/hotline-ivr/hotline/sip/auth"
)

// InboundConfig is the inbound call policy: which sources may call in, which
// carrier (inbound trunk) a call came through, and what the numbers mean. It is the
// engine configuration's `sip.inbound` section.
//
//	inbound:
//	  trusted: ["127.0.0.0/8", "::1/128"]   # the default
//	  trunks:
//	    - name: carrier
//	      sources: ["203.0.113.0/24"]
//	      hosts: ["sip.example.com"]
//	      numbers: {country_code: "1", national_prefix: "1", international_prefix: "011"}
//	    - name: pbx
//	      username: pbx
//	      password: s3cret
//	      srtp: required
//
// An initial INVITE is matched against the trunks in order; the first whose every
// given criterion holds (Sources, Hosts) is the call's trunk (Info.Trunk). A trunk
// with credentials must also authenticate the INVITE (407 challenge, RFC 3261 §22.3,
// answered by sip/auth: nonce expiry, nonce-count replay protection, the same
// answer for unknown and known users). An INVITE that matches no trunk is accepted
// only from a Trusted source or with AllowUnknown; otherwise it gets 403.
type InboundConfig struct {
	// Trunks are the carriers and PBXs that send calls in, tried in order.
	Trunks []InboundTrunk `yaml:"trunks"`
	// Trusted are addresses or CIDR prefixes whose calls are accepted without a
	// trunk (Info.Trunk ""). nil means DefaultTrusted (loopback, so the quick start
	// and local tests work); an empty list trusts nobody.
	Trusted []string `yaml:"trusted"`
	// AllowUnknown accepts calls from any source that matches no trunk. Only for
	// labs: a server on the internet with it is open to toll fraud and scanners.
	AllowUnknown bool `yaml:"allow_unknown"`
	// Realm is the digest realm of the trunks' challenges; default Config.Host.
	Realm string `yaml:"realm"`
}

// DefaultTrusted are the sources trusted when InboundConfig.Trusted is nil.
var DefaultTrusted = []string{"127.0.0.0/8", "::1/128"}

// InboundTrunk is one carrier or PBX that sends calls in.
type InboundTrunk struct {
	// Name is the trunk's name in Info.Trunk, logs and routes (same rules as
	// outbound trunk names; it may equal an outbound trunk's name for one carrier).
	Name string `yaml:"name"`
	// Sources are the addresses or CIDR prefixes the carrier sends from, matched
	// against the socket source address (never against header text). Empty: any.
	Sources []string `yaml:"sources"`
	// Hosts are host names or addresses one of which the Request-URI or the To URI
	// must name (a carrier that sends to "sip.example.com"). Empty: any.
	Hosts []string `yaml:"hosts"`
	// Username and Password, when set, require the INVITE to authenticate with
	// them (407 Proxy-Authenticate challenge, MD5 or SHA-256).
	Username string `yaml:"username"`
	Password string `yaml:"password"`
	// Numbers turns the called and calling numbers into E.164 (Info.Called,
	// Info.Caller) when it has a country code or an international prefix.
	Numbers NumberPlan `yaml:"numbers"`
	// SRTP is "" (off: plain RTP), "optional" (SDES-SRTP when the caller offers
	// it) or "required" (offers without a=crypto get 488). SRTP keys travel in the
	// SDP, so SRTP is only accepted over TLS.
	SRTP string `yaml:"srtp"`
}

// SRTP policies of InboundTrunk.SRTP.
const (
	SRTPOff      = ""
	SRTPOptional = "optional"
	SRTPRequired = "required"
)

// RouteConfig is one entry of the routing table: calls whose called number matches
// go to Flow. The engine configuration's `sip.routes` list; the first match wins.
//
//	routes:
//	  - {number: "+1800NXXXXXX", flow: tollfree}
//	  - {regex: "^\\+44", trunk: uk, flow: uk}
//	  - {number: "!", flow: main}     # everything else
type RouteConfig struct {
	// Number is a dial-plan pattern (the trunks' allow syntax: X N Z [..] . !)
	// matched against the whole called number (E.164 when the trunk normalizes).
	Number string `yaml:"number"`
	// Regex is a Go regular expression matched against the called number, an
	// alternative to Number.
	Regex string `yaml:"regex"`
	// Trunk restricts the route to calls from this inbound trunk ("" any; "-"
	// calls from trusted sources that matched no trunk).
	Trunk string `yaml:"trunk"`
	// Flow is the flow the call runs (Info.Flow). Required.
	Flow string `yaml:"flow"`
}

// Router is a compiled routing table; its Route method is a Config.Route.
type Router struct {
	routes []route
}

type route struct {
	num   *pattern
	re    *regexp.Regexp
	trunk string
	flow  string
}

// NewRouter compiles routes, reporting every problem at once.
func NewRouter(routes []RouteConfig) (*Router, error) {
	r := &Router{}
	var errs []error
	for i, rc := range routes {
		rt := route{trunk: rc.Trunk, flow: rc.Flow}
		bad := func(f string, a ...any) { errs = append(errs, fmt.Errorf("routes[%d]: "+f, append([]any{i}, a...)...)) }
		if rc.Flow == "" {
			bad("flow is required")
		}
		switch {
		case rc.Number != "" && rc.Regex != "":
			bad("give number or regex, not both")
		case rc.Number != "":
			p, err := compilePattern(rc.Number)
			if err != nil {
				bad("number: %v", err)
			}
			rt.num = &p
		case rc.Regex != "":
			re, err := regexp.Compile(rc.Regex)
			if err != nil {
				bad("regex: %v", err)
			}
			rt.re = re
		default:
			bad("number or regex is required (\"!\" matches every number)")
		}
		r.routes = append(r.routes, rt)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return r, nil
}

// Route returns the flow of the first route matching info's called number and
// trunk; ok is false when none does (the call gets 404).
func (r *Router) Route(info Info) (flow string, ok bool) {
	for _, rt := range r.routes {
		switch rt.trunk {
		case "":
		case "-":
			if info.Trunk != "" {
				continue
			}
		default:
			if rt.trunk != info.Trunk {
				continue
			}
		}
		if rt.num != nil && rt.num.match(info.Called) || rt.re != nil && rt.re.MatchString(info.Called) {
			return rt.flow, true
		}
	}
	return "", false
}

// inboundPolicy is the compiled InboundConfig.
type inboundPolicy struct {
	trunks       []inTrunk
	trusted      []netip.Prefix
	allowUnknown bool
	auth         *auth.Authenticator // nil when no trunk has credentials
}

type inTrunk struct {
	cfg       InboundTrunk
	sources   []netip.Prefix
	normalize bool
}

// ValidateInbound checks an inbound configuration, reporting every problem at once.
func ValidateInbound(ic InboundConfig) error {
	_, err := compileInbound(ic, "hotline", nil)
	return err
}

func parsePrefixes(list []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	var errs []error
	for _, s := range list {
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			errs = append(errs, fmt.Errorf("%q is no address or CIDR prefix", s))
			continue
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, errors.Join(errs...)
}

func compileInbound(ic InboundConfig, realm string, opts []auth.Option) (*inboundPolicy, error) {
	p := &inboundPolicy{allowUnknown: ic.AllowUnknown}
	var errs []error
	trusted := ic.Trusted
	if trusted == nil {
		trusted = DefaultTrusted
	}
	var err error
	if p.trusted, err = parsePrefixes(trusted); err != nil {
		errs = append(errs, fmt.Errorf("inbound.trusted: %w", err))
	}
	users := map[string]auth.UserConfig{}
	names := map[string]bool{}
	for i, tc := range ic.Trunks {
		bad := func(f string, a ...any) {
			errs = append(errs, fmt.Errorf("inbound.trunks[%d] %s: "+f, append([]any{i, tc.Name}, a...)...))
		}
		if !validTrunkName(tc.Name) {
			bad("name must be 1 to %d of %s", maxTrunkNameLen, trunkNameAllowedCharsHelp)
		}
		if names[tc.Name] {
			bad("name used twice")
		}
		names[tc.Name] = true
		t := inTrunk{cfg: tc, normalize: tc.Numbers.CountryCode != "" || tc.Numbers.InternationalPrefix != ""}
		if t.sources, err = parsePrefixes(tc.Sources); err != nil {
			bad("sources: %v", err)
		}
		if len(tc.Sources) == 0 && len(tc.Hosts) == 0 && tc.Username == "" {
			bad("give sources, hosts or username: a trunk that matches every call would open the server to everyone")
		}
		if (tc.Username == "") != (tc.Password == "") {
			bad("username and password go together")
		}
		if tc.Username != "" {
			if _, dup := users[tc.Username]; dup {
				bad("username %q used by two trunks", tc.Username)
			}
			users[tc.Username] = auth.UserConfig{Password: tc.Password}
		}
		switch tc.SRTP {
		case SRTPOff, srtpOffWord, SRTPOptional, SRTPRequired:
		default:
			bad("srtp: %q is not one of optional, required", tc.SRTP)
		}
		tc.Numbers.validate(func(f string, a ...any) { bad(f, a...) })
		p.trunks = append(p.trunks, t)
	}
	if ic.Realm != "" {
		realm = ic.Realm
	}
	if len(users) > 0 && len(errs) == 0 {
		st, err := auth.NewStaticUsers(realm, users)
		if err != nil {
			errs = append(errs, fmt.Errorf("inbound: %w", err))
		} else if p.auth, err = auth.New(realm, st, append([]auth.Option{auth.WithProxy()}, opts...)...); err != nil {
			errs = append(errs, fmt.Errorf("inbound: %w", err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return p, nil
}

func validTrunkName(n string) bool {
	if n == "" || len(n) > maxTrunkNameLen {
		return false
	}
	for i := 0; i < len(n); i++ {
		c := n[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func inPrefixes(list []netip.Prefix, a netip.Addr) bool {
	for _, p := range list {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// matches reports whether a request from src to the given hosts fits t's
// address criteria (credentials are checked afterwards).
func (t *inTrunk) matches(src netip.Addr, hosts ...string) bool {
	if len(t.sources) > 0 && !inPrefixes(t.sources, src) {
		return false
	}
	if len(t.cfg.Hosts) == 0 {
		return true
	}
	for _, h := range t.cfg.Hosts {
		for _, rh := range hosts {
			if strings.EqualFold(strings.Trim(h, "[]"), strings.Trim(rh, "[]")) {
				return true
			}
		}
	}
	return false
}

// Reasons an inbound INVITE is refused: the reason label of
// hotline_sip_inbound_rejected_total (a fixed set).
const (
	rejectUnknownSource = "unknown_source" // 403: no trunk matched, source not trusted
	rejectAuthFailed    = "auth_failed"    // 407 after wrong credentials
	rejectAuthForbidden = "auth_forbidden" // 403: another trunk's credentials
	rejectNoRoute       = "no_route"       // 404
	rejectOverload      = "overload"       // 503: concurrency or CPS limit
	rejectDraining      = "draining"       // 503: shutting down
	rejectMalformed     = "malformed"      // 400, 416, 420, 483, 505...
	rejectLoop          = "loop"           // 482
	rejectMedia         = "media"          // 415, 488
	rejectSRTP          = "srtp"           // 488: SRTP required and not offered, or offered on a plain transport
	rejectScanner       = "scanner"        // dropped: a scanner's User-Agent
)

var rejectReasons = []string{rejectUnknownSource, rejectAuthFailed, rejectAuthForbidden, rejectNoRoute, rejectOverload,
	rejectDraining, rejectMalformed, rejectLoop, rejectMedia, rejectSRTP, rejectScanner}

// admission is the outcome of the inbound policy for one INVITE.
type admission struct {
	trunk *inTrunk // nil: trusted or unknown source allowed
	code  int      // 0: admitted
	res   *gosip.Response
	why   string // reject reason label
}

// admit applies the inbound policy to an initial INVITE: trunk matching,
// authentication, trust. It does not route.
func (s *Server) admit(ctx context.Context, req *gosip.Request) admission {
	p := s.inbound
	src := auth.SourceAddr(req)
	hosts := []string{req.Recipient.Host}
	if to := req.To(); to != nil {
		hosts = append(hosts, to.Address.Host)
	}
	var cands []*inTrunk
	for i := range p.trunks {
		if p.trunks[i].matches(src, hosts...) {
			cands = append(cands, &p.trunks[i])
		}
	}
	if len(cands) > 0 {
		first := cands[0]
		if first.cfg.Username == "" {
			return admission{trunk: first}
		}
		actx, cancel := context.WithTimeout(ctx, registerTimeout)
		defer cancel()
		res, err := p.auth.Authenticate(actx, req)
		if err != nil || !res.OK {
			why := ""
			if len(req.GetHeaders(p.auth.CredentialsHeader())) > 0 && !res.Stale() {
				why = rejectAuthFailed
			}
			return admission{code: 407, res: p.auth.ChallengeResponse(req, res), why: why}
		}
		for _, t := range cands {
			if t.cfg.Username == res.Username {
				return admission{trunk: t}
			}
		}
		return admission{code: 403, why: rejectAuthForbidden}
	}
	if inPrefixes(p.trusted, src) || p.allowUnknown {
		return admission{}
	}
	return admission{code: 403, why: rejectUnknownSource}
}

// apply fills the inbound trunk's name and normalized numbers into info.
func (t *inTrunk) apply(info *Info) {
	info.Trunk = t.cfg.Name
	if !t.normalize {
		return
	}
	if n, err := t.cfg.Numbers.Normalize(info.Called); err == nil {
		info.Called = n
	}
	if n, err := t.cfg.Numbers.Normalize(info.Caller); err == nil {
		info.Caller = n
	}
}

// inviteSRTP applies a trunk's "srtp: required" to an initial INVITE before the
// offer is negotiated; false means it was refused (488) and answered. SDES keys
// travel in the SDP, so SRTP is refused outside TLS; an INVITE without an offer is
// refused too, since our offer in the 200 could not bind the caller to SRTP. The
// offer itself is checked by the negotiation (srtp.go): plain RTP/AVP, or RTP/SAVP
// without a usable a=crypto, gets 488 there.
func (s *Server) inviteSRTP(req *gosip.Request, t *inTrunk, tx gosip.ServerTransaction, log interface{ Info(string, ...any) }) bool {
	if t == nil || t.cfg.SRTP != SRTPRequired {
		return true
	}
	var why string
	switch {
	case transportOf(req) != "tls":
		why = "SRTP requires TLS"
	case len(req.Body()) == 0:
		why = "SRTP requires an SDP offer"
	default:
		return true
	}
	s.sec.reject(rejectSRTP)
	log.Info("INVITE rejected: SRTP required", "trunk", t.cfg.Name, "why", why)
	_ = s.respond(tx, req, 488, "Not Acceptable Here", nil, warning(399, s.cfg.Host, why))
	return false
}
