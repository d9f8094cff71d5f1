package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strconv"
	"strings"
	"time"

	gosip "github.com/emiago/sipgo/sip"
	"github.com/prometheus/client_golang/prometheus"
)

// DefaultNonceTTL is how long a nonce is good for; after it a correct answer gets a
// stale challenge (RFC 7616 §3.3).
const DefaultNonceTTL = 5 * time.Minute

// MinSecretLen is the shortest nonce secret accepted: 128 bits.
const MinSecretLen = 16

// Reason says why a request was not authenticated. Failure reasons go to metrics, the
// Limiter and the log, never to the wire: every failure gets the same challenge.
type Reason uint8

// Reasons. The zero value is Unknown.
const (
	ReasonUnknown Reason = iota
	// ReasonMissing: no Digest credentials for our realm, the first leg of every
	// handshake (RFC 3261 §22.1). Not a failure.
	ReasonMissing
	// ReasonStale: a correct answer with an expired or forgotten nonce. Not a failure.
	ReasonStale
	// ReasonMalformed: unparsable credentials or bad nc, cnonce or response syntax.
	ReasonMalformed
	// ReasonAlgorithm: an algorithm we did not offer (e.g. MD5-sess, or SHA-256 when
	// only MD5 is configured).
	ReasonAlgorithm
	// ReasonQOP: no qop, or one we did not offer (auth-int).
	ReasonQOP
	// ReasonURI: the digest uri is not the Request-URI (RFC 2617 §3.2.2.5).
	ReasonURI
	// ReasonNonce: a nonce we did not issue to this address for this realm (forged,
	// tampered with, or carried to another address).
	ReasonNonce
	// ReasonReplay: a nonce count already used with the nonce.
	ReasonReplay
	// ReasonUnknownUser: no such user (answered exactly like ReasonBadResponse).
	ReasonUnknownUser
	// ReasonBadResponse: a known user with the wrong password.
	ReasonBadResponse
	reasonCount
)

var reasonNames = [reasonCount]string{"unknown", "missing", "stale", "malformed", "algorithm", "qop", "uri",
	"nonce", "replay", "unknown_user", "bad_response"}

// String is the metric label value.
func (r Reason) String() string {
	if r < reasonCount {
		return reasonNames[r]
	}
	return "unknown"
}

// Failure reports whether the reason counts as a failed attempt (metrics, Limiter).
func (r Reason) Failure() bool { return r >= ReasonMalformed && r < reasonCount }

// Request is what the authenticator needs from a SIP request.
type Request struct {
	// Method is the request method; it enters HA2 (RFC 7616 §3.4.3).
	Method string
	// URI is the Request-URI as received; the digest uri must name it.
	URI string
	// Source is the socket source address: nonces are bound to it and failures are
	// counted against it. Never take it from a header.
	Source netip.Addr
	// Credentials are the values of every Authorization header (Proxy-Authorization
	// for an authenticator made WithProxy), in order.
	Credentials []string
}

// Result is the outcome of Verify.
type Result struct {
	// OK: the request is authenticated as Username.
	OK       bool
	Username string
	// Algorithm the client used (when it got that far).
	Algorithm Algorithm
	// Reason why not OK: ReasonMissing, ReasonStale or a failure.
	Reason Reason
}

// Stale reports whether the challenge answering this result carries stale=true.
func (r Result) Stale() bool { return r.Reason == ReasonStale }

// Authenticator issues digest challenges for one realm and verifies their answers.
// It is safe for concurrent use.
type Authenticator struct {
	realm    string
	users    Users
	proxy    bool
	algs     []Algorithm
	ttl      time.Duration
	now      func() time.Time
	nonces   *nonces
	counts   NonceCounter
	failures *failureCounter
	limiter  Limiter
	metrics  *Metrics
	log      *slog.Logger
	dummyHA1 [3]string // by Algorithm: what an unknown user's answer is checked against
}

type config struct {
	proxy     bool
	secret    []byte
	ttl       time.Duration
	algs      []Algorithm
	counts    NonceCounter
	limiter   Limiter
	window    time.Duration
	sources   int
	reg       prometheus.Registerer
	metrics   *Metrics
	now       func() time.Time
	log       *slog.Logger
	secretErr error
}

// Option configures an Authenticator.
type Option func(*config)

// WithProxy makes the authenticator challenge as a proxy does (RFC 3261 §22.3): 407,
// Proxy-Authenticate, Proxy-Authorization. Use it when acting for a trunk.
func WithProxy() Option { return func(c *config) { c.proxy = true } }

// WithSecret sets the nonce secret (at least MinSecretLen bytes). Every node given the
// same secret verifies the others' nonces. Default: 32 random bytes, so nonces are
// good on this process only.
func WithSecret(secret []byte) Option {
	return func(c *config) {
		if len(secret) < MinSecretLen {
			c.secretErr = fmt.Errorf("auth: nonce secret of %d bytes, want at least %d", len(secret), MinSecretLen)
			return
		}
		c.secret = append([]byte(nil), secret...)
	}
}

// WithNonceTTL sets how long a nonce is good for (default DefaultNonceTTL).
func WithNonceTTL(d time.Duration) Option { return func(c *config) { c.ttl = d } }

// WithAlgorithms sets the algorithms offered, in order (default SHA-256, then MD5).
// Clients that abort on a challenge they cannot use instead of taking the next one
// need MD5 alone: SIPp 3.6 and libre 1.1 (baresip 1.0) do so on SHA-256.
func WithAlgorithms(algs ...Algorithm) Option {
	return func(c *config) { c.algs = append([]Algorithm(nil), algs...) }
}

// WithNonceCounter replaces the in-memory nonce-count table (e.g. with a shared one).
func WithNonceCounter(nc NonceCounter) Option { return func(c *config) { c.counts = nc } }

// WithLimiter sets the hook told about every failure.
func WithLimiter(l Limiter) Option { return func(c *config) { c.limiter = l } }

// WithFailureWindow sets the window over which failures per source are counted for
// the Limiter (default DefaultFailureWindow) and how many sources are remembered
// (default DefaultFailureSources).
func WithFailureWindow(d time.Duration, sources int) Option {
	return func(c *config) { c.window, c.sources = d, sources }
}

// WithRegistry registers the metrics on reg (shared with other authenticators).
func WithRegistry(reg prometheus.Registerer) Option { return func(c *config) { c.reg = reg } }

// WithMetrics makes the authenticator count into m (overrides WithRegistry).
func WithMetrics(m *Metrics) Option { return func(c *config) { c.metrics = m } }

// WithClock sets the clock (default time.Now).
func WithClock(now func() time.Time) Option { return func(c *config) { c.now = now } }

// WithLogger sets the logger; failures are logged at debug level only (they are
// counted, and a brute-force run must not flood the log).
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.log = l } }

// New returns an authenticator for realm with credentials from users.
func New(realm string, users Users, opts ...Option) (*Authenticator, error) {
	c := config{ttl: DefaultNonceTTL, algs: defaultAlgorithms[:], window: DefaultFailureWindow,
		sources: DefaultFailureSources, now: time.Now, log: slog.Default()}
	for _, o := range opts {
		o(&c)
	}
	var errs []error
	if c.secretErr != nil {
		errs = append(errs, c.secretErr)
	}
	if realm == "" || strings.ContainsFunc(realm, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		errs = append(errs, fmt.Errorf("auth: realm %q must be non-empty printable text", realm))
	}
	if users == nil {
		errs = append(errs, errors.New("auth: no user store"))
	}
	if c.ttl <= 0 {
		errs = append(errs, fmt.Errorf("auth: nonce TTL %v must be positive", c.ttl))
	}
	if len(c.algs) == 0 {
		errs = append(errs, errors.New("auth: no algorithm to offer"))
	}
	for i, a := range c.algs {
		if a != MD5 && a != SHA256 {
			errs = append(errs, fmt.Errorf("auth: unsupported algorithm %d", a))
		}
		for _, b := range c.algs[:i] {
			if a == b {
				errs = append(errs, fmt.Errorf("auth: algorithm %s offered twice", a))
			}
		}
	}
	if c.window <= 0 || c.sources <= 0 {
		errs = append(errs, errors.New("auth: failure window and source count must be positive"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if c.secret == nil {
		c.secret = make([]byte, 32)
		_, _ = rand.Read(c.secret)
	}
	if c.counts == nil {
		c.counts = NewNonceCounter(0)
	}
	if c.metrics == nil {
		m, err := NewMetrics(c.reg)
		if err != nil {
			return nil, err
		}
		c.metrics = m
	}
	a := &Authenticator{
		realm: realm, users: users, proxy: c.proxy, algs: c.algs, ttl: c.ttl, now: c.now,
		nonces: newNonces(c.secret, realm), counts: c.counts, limiter: c.limiter,
		failures: newFailureCounter(c.window, c.sources), metrics: c.metrics, log: c.log,
	}
	for _, alg := range []Algorithm{MD5, SHA256} {
		b := make([]byte, alg.hexLen()/2)
		_, _ = rand.Read(b)
		a.dummyHA1[alg] = hex.EncodeToString(b)
	}
	return a, nil
}

// Realm is the realm the authenticator serves.
func (a *Authenticator) Realm() string { return a.realm }

// Status is the status code and reason phrase of a challenge: 401 Unauthorized, or
// 407 Proxy Authentication Required WithProxy (RFC 3261 §21.4.2, §21.4.8).
func (a *Authenticator) Status() (int, string) {
	if a.proxy {
		return 407, "Proxy Authentication Required"
	}
	return 401, "Unauthorized"
}

// ChallengeHeader is the name of the challenge header: WWW-Authenticate, or
// Proxy-Authenticate WithProxy.
func (a *Authenticator) ChallengeHeader() string {
	if a.proxy {
		return "Proxy-Authenticate"
	}
	return "WWW-Authenticate"
}

// CredentialsHeader is the name of the header that answers a challenge:
// Authorization, or Proxy-Authorization WithProxy.
func (a *Authenticator) CredentialsHeader() string {
	if a.proxy {
		return "Proxy-Authorization"
	}
	return "Authorization"
}

// Challenge returns the challenge header values for a client at src: one per offered
// algorithm, in the configured order (RFC 8760 §2.4), sharing one fresh nonce, with
// qop="auth" and, when stale, stale=true (RFC 7616 §3.3).
func (a *Authenticator) Challenge(src netip.Addr, stale bool) []string {
	nonce := a.nonces.issue(a.now(), src)
	out := make([]string, len(a.algs))
	for i, alg := range a.algs {
		out[i] = Challenge{Realm: a.realm, Nonce: nonce, Algorithm: alg.String(), QOP: []string{"auth"}, Stale: stale}.String()
	}
	return out
}

// Verify checks the credentials of r. A non-nil error is a failure of the user store
// only (answer 500); every other outcome is in the Result, and every Result that is
// not OK is answered with a fresh Challenge (stale when Result.Stale).
func (a *Authenticator) Verify(ctx context.Context, r Request) (Result, error) {
	c, reason := a.pick(r.Credentials)
	if reason != ReasonUnknown {
		if reason.Failure() {
			a.fail(r.Source, reason, "")
		}
		return Result{Reason: reason}, nil
	}
	res := Result{Username: c.Username, Algorithm: ParseAlgorithm(c.Algorithm)}
	fail := func(reason Reason) (Result, error) {
		a.fail(r.Source, reason, c.Username)
		res.Reason = reason
		return res, nil
	}
	if !a.offers(res.Algorithm) {
		return fail(ReasonAlgorithm)
	}
	if !strings.EqualFold(c.QOP, "auth") {
		return fail(ReasonQOP)
	}
	nc, err := strconv.ParseUint(c.NC, 16, 32)
	if err != nil || len(c.NC) != 8 || c.CNonce == "" || c.UserHash || !isHex(c.Response, res.Algorithm.hexLen()) {
		return fail(ReasonMalformed)
	}
	if !sameURI(c.URI, r.URI) {
		return fail(ReasonURI)
	}
	now := a.now()
	issued, err := a.nonces.check(c.Nonce, r.Source)
	if err != nil || issued.Sub(now) > maxClockSkew {
		return fail(ReasonNonce)
	}
	// From here on a known and an unknown user take the same path: the same hashes
	// over a credential of the same shape, one constant-time comparison.
	known := true
	cred, err := a.users.Lookup(ctx, c.Username, a.realm, res.Algorithm)
	switch {
	case errors.Is(err, ErrUnknownUser):
		known, cred = false, Credential{HA1: a.dummyHA1[res.Algorithm]}
	case err != nil:
		return Result{}, fmt.Errorf("auth: look up %q: %w", c.Username, err)
	}
	ha1 := strings.ToLower(cred.HA1)
	if ha1 == "" {
		ha1 = HA1(res.Algorithm, c.Username, a.realm, cred.Password)
	}
	want := Response(res.Algorithm, ha1, c.Nonce, c.NC, c.CNonce, c.QOP, r.Method, c.URI)
	match := subtle.ConstantTimeCompare([]byte(strings.ToLower(c.Response)), []byte(want)) == 1
	switch {
	case !known:
		return fail(ReasonUnknownUser)
	case !match:
		return fail(ReasonBadResponse)
	case now.Sub(issued) > a.ttl:
		return a.stale(res)
	}
	switch a.counts.Advance(c.Nonce, issued, uint32(nc)) {
	case NCFresh:
	case NCForgotten:
		return a.stale(res)
	default:
		return fail(ReasonReplay)
	}
	a.metrics.success(res.Algorithm)
	res.OK = true
	return res, nil
}

// pick selects the Digest credentials for our realm (RFC 3261 §22.4: a request may
// carry credentials for several realms). It returns ReasonMissing when there are
// none, ReasonMalformed when the only candidates do not parse.
func (a *Authenticator) pick(values []string) (Credentials, Reason) {
	malformed := false
	for _, v := range values {
		c, err := ParseAuthorization(v)
		switch {
		case errors.Is(err, ErrNotDigest):
		case err != nil:
			malformed = true
		case c.Realm == a.realm:
			return c, ReasonUnknown
		}
	}
	if malformed {
		return Credentials{}, ReasonMalformed
	}
	return Credentials{}, ReasonMissing
}

func (a *Authenticator) offers(alg Algorithm) bool {
	for _, x := range a.algs {
		if x == alg {
			return true
		}
	}
	return false
}

func (a *Authenticator) stale(res Result) (Result, error) {
	a.metrics.stale.Inc()
	res.Reason = ReasonStale
	return res, nil
}

// fail counts a failure against src and tells the Limiter.
func (a *Authenticator) fail(src netip.Addr, reason Reason, user string) {
	a.metrics.failure(reason)
	n := a.failures.add(src, a.now())
	if a.limiter != nil {
		a.limiter.AuthFailed(src, reason, n)
	}
	a.log.Debug("SIP authentication failed", "source", src, "realm", a.realm, "reason", reason.String(),
		"username", user, "recent_failures", n)
}

// RecentFailures is how many failures src had in the current failure window.
func (a *Authenticator) RecentFailures(src netip.Addr) int { return a.failures.recent(src, a.now()) }

// sameURI reports whether the digest uri names the Request-URI (RFC 2617 §3.2.2.5).
// Clients copy the Request-URI as they wrote it; sipgo gives it back re-serialized,
// so a textual difference falls back to comparing scheme, user, host and port.
func sameURI(digestURI, requestURI string) bool {
	if digestURI == requestURI {
		return true
	}
	var d, r gosip.Uri
	if gosip.ParseUri(digestURI, &d) != nil || gosip.ParseUri(requestURI, &r) != nil {
		return false
	}
	return strings.EqualFold(d.Scheme, r.Scheme) && d.User == r.User &&
		strings.EqualFold(d.Host, r.Host) && d.Port == r.Port
}
