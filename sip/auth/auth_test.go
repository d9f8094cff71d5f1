package auth

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

const (
	testRealm = "hotline"
	testURI   = "sip:127.0.0.1:5060"
)

var (
	phone    = netip.MustParseAddr("192.0.2.10")
	attacker = netip.MustParseAddr("198.51.100.66")
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// recLimiter records what the authenticator reports.
type recLimiter struct {
	mu    sync.Mutex
	calls []limiterCall
}

type limiterCall struct {
	src    netip.Addr
	reason Reason
	recent int
}

func (l *recLimiter) AuthFailed(src netip.Addr, reason Reason, recent int) {
	l.mu.Lock()
	l.calls = append(l.calls, limiterCall{src, reason, recent})
	l.mu.Unlock()
}

func (l *recLimiter) all() []limiterCall {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.calls)
}

type fixture struct {
	a     *Authenticator
	clock *clock
	reg   *prometheus.Registry
	lim   *recLimiter
}

func newFixture(t *testing.T, opts ...Option) *fixture {
	t.Helper()
	users, err := NewStaticUsers(testRealm, map[string]UserConfig{
		"agent1": {Password: "secret"},
		"agent2": {Password: "other"},
	})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{clock: newClock(), reg: prometheus.NewRegistry(), lim: &recLimiter{}}
	opts = append([]Option{WithClock(f.clock.now), WithRegistry(f.reg), WithLimiter(f.lim)}, opts...)
	f.a, err = New(testRealm, users, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// challengeFor returns the challenge the authenticator offers src for alg.
func (f *fixture) challengeFor(t *testing.T, src netip.Addr, alg Algorithm) Challenge {
	t.Helper()
	for _, v := range f.a.Challenge(src, false) {
		c, err := ParseChallenge(v)
		if err != nil {
			t.Fatalf("own challenge does not parse: %v\n%s", err, v)
		}
		if ParseAlgorithm(c.Algorithm) == alg {
			return c
		}
	}
	t.Fatalf("no %s challenge offered", alg)
	return Challenge{}
}

// answer computes a client's credentials independently of the package's code
// (crypto/md5 and crypto/sha256 directly, RFC 7616 §3.4.1).
func answer(ch Challenge, user, pass, method, uri string, nc uint32) Credentials {
	h := func(s string) string {
		if ch.Algorithm == "SHA-256" {
			sum := sha256.Sum256([]byte(s))
			return hex.EncodeToString(sum[:])
		}
		sum := md5.Sum([]byte(s))
		return hex.EncodeToString(sum[:])
	}
	c := Credentials{Username: user, Realm: ch.Realm, Nonce: ch.Nonce, URI: uri, Algorithm: ch.Algorithm,
		CNonce: "c0ffee42", QOP: "auth", NC: fmt.Sprintf("%08x", nc)}
	ha1 := h(user + ":" + ch.Realm + ":" + pass)
	ha2 := h(method + ":" + uri)
	c.Response = h(ha1 + ":" + c.Nonce + ":" + c.NC + ":" + c.CNonce + ":" + c.QOP + ":" + ha2)
	return c
}

func (f *fixture) verify(t *testing.T, src netip.Addr, creds ...string) Result {
	t.Helper()
	res, err := f.a.Verify(context.Background(), Request{Method: "REGISTER", URI: testURI, Source: src, Credentials: creds})
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	return res
}

func (f *fixture) metric(t *testing.T, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := f.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if matches(m, labels) {
				sum += m.GetCounter().GetValue()
			}
		}
	}
	return sum
}

func matches(m *dto.Metric, labels []string) bool {
	for i := 0; i+1 < len(labels); i += 2 {
		found := false
		for _, lp := range m.GetLabel() {
			if lp.GetName() == labels[i] && lp.GetValue() == labels[i+1] {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// TestChallengeOffers: SHA-256 then MD5, one nonce, qop="auth", stale only when asked
// (RFC 8760 §2.4, RFC 7616 §3.3); 401/WWW-Authenticate by default, 407/Proxy-* for a
// trunk (RFC 3261 §22.3).
func TestChallengeOffers(t *testing.T) {
	f := newFixture(t)
	vals := f.a.Challenge(phone, false)
	if len(vals) != 2 {
		t.Fatalf("%d challenges, want 2: %q", len(vals), vals)
	}
	var nonces []string
	for i, want := range []string{"SHA-256", "MD5"} {
		c, err := ParseChallenge(vals[i])
		if err != nil {
			t.Fatal(err)
		}
		if c.Algorithm != want || c.Realm != testRealm || c.Stale || !slices.Equal(c.QOP, []string{"auth"}) {
			t.Errorf("challenge %d: %+v", i, c)
		}
		nonces = append(nonces, c.Nonce)
	}
	if nonces[0] != nonces[1] || len(nonces[0]) != nonceLen {
		t.Errorf("nonces %q", nonces)
	}
	if again := f.a.Challenge(phone, false); strings.Contains(again[0], nonces[0]) {
		t.Error("two challenges share a nonce")
	}
	stale, _ := ParseChallenge(f.a.Challenge(phone, true)[0])
	if !stale.Stale {
		t.Error("stale challenge without stale=true")
	}
	if code, _ := f.a.Status(); code != 401 || f.a.ChallengeHeader() != "WWW-Authenticate" || f.a.CredentialsHeader() != "Authorization" {
		t.Errorf("UAS mode: %d %s %s", code, f.a.ChallengeHeader(), f.a.CredentialsHeader())
	}
	p := newFixture(t, WithProxy(), WithAlgorithms(MD5))
	if code, _ := p.a.Status(); code != 407 || p.a.ChallengeHeader() != "Proxy-Authenticate" || p.a.CredentialsHeader() != "Proxy-Authorization" {
		t.Errorf("proxy mode: %d %s %s", code, p.a.ChallengeHeader(), p.a.CredentialsHeader())
	}
	if vals := p.a.Challenge(phone, false); len(vals) != 1 || !strings.Contains(vals[0], "algorithm=MD5") {
		t.Errorf("MD5-only challenge: %q", vals)
	}
}

// TestVerify: a correct answer with either algorithm is accepted, and the same nonce
// serves later requests with higher nonce counts (how phones refresh registrations).
func TestVerify(t *testing.T) {
	for _, alg := range []Algorithm{SHA256, MD5} {
		t.Run(alg.String(), func(t *testing.T) {
			f := newFixture(t)
			ch := f.challengeFor(t, phone, alg)
			for nc := uint32(1); nc <= 3; nc++ {
				res := f.verify(t, phone, answer(ch, "agent1", "secret", "REGISTER", testURI, nc).String())
				if !res.OK || res.Username != "agent1" || res.Algorithm != alg || res.Reason != ReasonUnknown {
					t.Fatalf("nc %d: %+v", nc, res)
				}
			}
			if got := f.metric(t, "hotline_sip_auth_successes_total", "algorithm", alg.label()); got != 3 {
				t.Errorf("successes %v, want 3", got)
			}
			if len(f.lim.all()) != 0 {
				t.Errorf("limiter told about successes: %v", f.lim.all())
			}
		})
	}
}

// TestMissingCredentials: no credentials for our realm is the first leg of the
// handshake, not a failure (RFC 3261 §22.1, §22.4).
func TestMissingCredentials(t *testing.T) {
	f := newFixture(t)
	other := answer(Challenge{Realm: "elsewhere", Nonce: "x", Algorithm: "MD5"}, "agent1", "secret", "REGISTER", testURI, 1)
	for name, creds := range map[string][]string{
		"none":        nil,
		"basic":       {"Basic YWdlbnQxOnNlY3JldA=="},
		"other realm": {other.String()},
	} {
		if res := f.verify(t, phone, creds...); res.OK || res.Reason != ReasonMissing {
			t.Errorf("%s: %+v", name, res)
		}
	}
	if n := len(f.lim.all()); n != 0 {
		t.Errorf("%d failures reported for missing credentials", n)
	}
	// Our realm's credentials are found among others' (RFC 3261 §22.4).
	ch := f.challengeFor(t, phone, MD5)
	good := answer(ch, "agent1", "secret", "REGISTER", testURI, 1)
	if res := f.verify(t, phone, other.String(), good.String()); !res.OK {
		t.Errorf("credentials after another realm's: %+v", res)
	}
}

// TestReplayedNonceCount: a nonce count is good once; a lower or equal one is a
// replay (RFC 7616 §3.4), gaps are fine (lost requests).
func TestReplayedNonceCount(t *testing.T) {
	f := newFixture(t)
	ch := f.challengeFor(t, phone, SHA256)
	for _, step := range []struct {
		nc uint32
		ok bool
	}{{1, true}, {1, false}, {2, true}, {1, false}, {7, true}, {7, false}, {6, false}, {8, true}} {
		res := f.verify(t, phone, answer(ch, "agent1", "secret", "REGISTER", testURI, step.nc).String())
		if res.OK != step.ok || !step.ok && res.Reason != ReasonReplay {
			t.Errorf("nc %d: %+v, want ok=%v", step.nc, res, step.ok)
		}
	}
	if got := f.metric(t, "hotline_sip_auth_failures_total", "reason", "replay"); got != 4 {
		t.Errorf("replay failures %v, want 4", got)
	}
	// nc 0 is never valid.
	ch2 := f.challengeFor(t, phone, SHA256)
	if res := f.verify(t, phone, answer(ch2, "agent1", "secret", "REGISTER", testURI, 0).String()); res.Reason != ReasonReplay {
		t.Errorf("nc 0: %+v", res)
	}
}

// TestExpiredNonceIsStale: past the TTL a correct answer earns stale=true (RFC 7616
// §3.3), a wrong one an ordinary failure; the fresh nonce then works.
func TestExpiredNonceIsStale(t *testing.T) {
	f := newFixture(t, WithNonceTTL(time.Minute))
	ch := f.challengeFor(t, phone, SHA256)
	if res := f.verify(t, phone, answer(ch, "agent1", "secret", "REGISTER", testURI, 1).String()); !res.OK {
		t.Fatalf("fresh nonce: %+v", res)
	}
	f.clock.advance(61 * time.Second)
	res := f.verify(t, phone, answer(ch, "agent1", "secret", "REGISTER", testURI, 2).String())
	if res.OK || !res.Stale() {
		t.Fatalf("expired nonce, right password: %+v", res)
	}
	if res := f.verify(t, phone, answer(ch, "agent1", "wrong", "REGISTER", testURI, 3).String()); res.Stale() || res.Reason != ReasonBadResponse {
		t.Errorf("expired nonce, wrong password: %+v (stale must be earned)", res)
	}
	if res := f.verify(t, phone, answer(ch, "nobody", "secret", "REGISTER", testURI, 3).String()); res.Stale() || res.Reason != ReasonUnknownUser {
		t.Errorf("expired nonce, unknown user: %+v", res)
	}
	ch = f.challengeFor(t, phone, SHA256)
	if res := f.verify(t, phone, answer(ch, "agent1", "secret", "REGISTER", testURI, 1).String()); !res.OK {
		t.Errorf("new nonce after stale: %+v", res)
	}
	if got := f.metric(t, "hotline_sip_auth_stale_total"); got != 1 {
		t.Errorf("stale count %v, want 1", got)
	}
	for _, c := range f.lim.all() {
		if c.reason == ReasonStale {
			t.Errorf("stale reported to the limiter as a failure")
		}
	}
}

// TestNonceBinding: a nonce is good only as issued: unmodified, for this realm and
// secret, to this client address. A node with the same secret accepts it.
func TestNonceBinding(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	f := newFixture(t, WithSecret(secret))
	ch := f.challengeFor(t, phone, MD5)

	tampered := ch
	b := []byte(ch.Nonce)
	b[3] ^= 0x01
	tampered.Nonce = string(b)
	if res := f.verify(t, phone, answer(tampered, "agent1", "secret", "REGISTER", testURI, 1).String()); res.Reason != ReasonNonce {
		t.Errorf("tampered nonce: %+v", res)
	}
	forged := ch
	forged.Nonce = "not-a-nonce"
	if res := f.verify(t, phone, answer(forged, "agent1", "secret", "REGISTER", testURI, 1).String()); res.Reason != ReasonNonce {
		t.Errorf("forged nonce: %+v", res)
	}
	if res := f.verify(t, attacker, answer(ch, "agent1", "secret", "REGISTER", testURI, 1).String()); res.Reason != ReasonNonce {
		t.Errorf("nonce used from another address: %+v", res)
	}
	other := newFixture(t, WithSecret([]byte("another secret of 32 bytes......")))
	if res := other.verify(t, phone, answer(ch, "agent1", "secret", "REGISTER", testURI, 1).String()); res.Reason != ReasonNonce {
		t.Errorf("nonce checked under another secret: %+v", res)
	}
	sibling := newFixture(t, WithSecret(secret))
	sibling.clock = f.clock
	if res := sibling.verify(t, phone, answer(ch, "agent1", "secret", "REGISTER", testURI, 1).String()); !res.OK {
		t.Errorf("node with the same secret: %+v", res)
	}
	// A nonce from the future (beyond clock skew) was not issued by a sane node.
	future := newFixture(t, WithSecret(secret))
	future.clock.advance(time.Hour)
	fch := future.challengeFor(t, phone, MD5)
	if res := f.verify(t, phone, answer(fch, "agent1", "secret", "REGISTER", testURI, 1).String()); res.Reason != ReasonNonce {
		t.Errorf("nonce from the future: %+v", res)
	}
}

// TestRejectedAnswers: each deviation is a counted failure with its own reason.
func TestRejectedAnswers(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct {
		name   string
		mutate func(*Credentials)
		want   Reason
	}{
		{"md5-sess", func(c *Credentials) { c.Algorithm = "MD5-sess" }, ReasonAlgorithm},
		{"no qop (RFC 2069)", func(c *Credentials) { c.QOP, c.NC, c.CNonce = "", "", "" }, ReasonQOP},
		{"auth-int", func(c *Credentials) { c.QOP = "auth-int" }, ReasonQOP},
		{"short nc", func(c *Credentials) { c.NC = "1" }, ReasonMalformed},
		{"non-hex nc", func(c *Credentials) { c.NC = "0000000g" }, ReasonMalformed},
		{"no cnonce", func(c *Credentials) { c.CNonce = "" }, ReasonMalformed},
		{"userhash", func(c *Credentials) { c.UserHash = true }, ReasonMalformed},
		{"short response", func(c *Credentials) { c.Response = c.Response[:10] }, ReasonMalformed},
		{"other uri", func(c *Credentials) { c.URI = "sip:elsewhere.example.com" }, ReasonURI},
		{"wrong password", nil, ReasonBadResponse},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ch := f.challengeFor(t, phone, SHA256)
			pass := "secret"
			if tc.mutate == nil {
				pass = "guess"
			}
			c := answer(ch, "agent1", pass, "REGISTER", testURI, 1)
			if tc.mutate != nil {
				tc.mutate(&c)
			}
			if res := f.verify(t, phone, c.String()); res.OK || res.Reason != tc.want {
				t.Errorf("%+v, want reason %v", res, tc.want)
			}
		})
	}
	if res := f.verify(t, phone, `Digest username="agent1", realm="hotline", nonce=`); res.Reason != ReasonMalformed {
		t.Errorf("unparsable: %+v", res)
	}
	md5only := newFixture(t, WithAlgorithms(MD5))
	ch := f.challengeFor(t, phone, SHA256)
	if res := md5only.verify(t, phone, answer(ch, "agent1", "secret", "REGISTER", testURI, 1).String()); res.Reason != ReasonAlgorithm {
		t.Errorf("SHA-256 when only MD5 is offered: %+v", res)
	}
	// The digest uri may be written differently from sipgo's re-serialization.
	ch = f.challengeFor(t, phone, MD5)
	c := answer(ch, "agent1", "secret", "REGISTER", "SIP:127.0.0.1:5060", 1)
	if res := f.verify(t, phone, c.String()); !res.OK {
		t.Errorf("uri differing in scheme case: %+v", res)
	}
}

// TestUnknownUserIndistinguishable: an unknown user and a known user with a wrong
// password get the same outcome on the wire (a fresh, non-stale challenge) after
// the same work: both reach the user store and one constant-time comparison.
func TestUnknownUserIndistinguishable(t *testing.T) {
	var lookups []string
	var mu sync.Mutex
	static, err := NewStaticUsers(testRealm, map[string]UserConfig{"agent1": {Password: "secret"}})
	if err != nil {
		t.Fatal(err)
	}
	users := UsersFunc(func(ctx context.Context, u, r string, alg Algorithm) (Credential, error) {
		mu.Lock()
		lookups = append(lookups, u)
		mu.Unlock()
		return static.Lookup(ctx, u, r, alg)
	})
	a, err := New(testRealm, users)
	if err != nil {
		t.Fatal(err)
	}
	try := func(user string) Result {
		var ch Challenge
		for _, v := range a.Challenge(attacker, false) {
			ch, _ = ParseChallenge(v)
		}
		c := answer(ch, user, "guess", "REGISTER", testURI, 1)
		res, err := a.Verify(context.Background(), Request{Method: "REGISTER", URI: testURI, Source: attacker, Credentials: []string{c.String()}})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	known, unknown := try("agent1"), try("agent9")
	if known.OK || unknown.OK || known.Stale() || unknown.Stale() {
		t.Fatalf("known %+v, unknown %+v", known, unknown)
	}
	if known.Reason != ReasonBadResponse || unknown.Reason != ReasonUnknownUser {
		t.Errorf("internal reasons: known %v, unknown %v", known.Reason, unknown.Reason)
	}
	if !slices.Equal(lookups, []string{"agent1", "agent9"}) {
		t.Errorf("store lookups %q: both users must reach the store", lookups)
	}
	// Timing: interleaved runs of both, medians within a loose bound (the work is
	// identical; the bound only catches an early return for unknown users).
	const runs = 301
	var tk, tu []time.Duration
	for range runs {
		s := time.Now()
		try("agent1")
		tk = append(tk, time.Since(s))
		s = time.Now()
		try("agent9")
		tu = append(tu, time.Since(s))
	}
	slices.Sort(tk)
	slices.Sort(tu)
	mk, mu2 := tk[runs/2], tu[runs/2]
	if ratio := float64(mk) / float64(mu2); ratio > 1.5 || ratio < 1/1.5 {
		t.Errorf("median verify time known %v, unknown %v: differ by more than 50%%", mk, mu2)
	}
}

// TestFailuresReported: failures are counted per source address in a window and each
// one is reported to the Limiter with the running count.
func TestFailuresReported(t *testing.T) {
	f := newFixture(t, WithFailureWindow(time.Minute, 100))
	bad := func(src netip.Addr) {
		ch := f.challengeFor(t, src, MD5)
		f.verify(t, src, answer(ch, "agent1", "guess", "REGISTER", testURI, 1).String())
	}
	bad(attacker)
	bad(attacker)
	bad(phone)
	bad(attacker)
	want := []limiterCall{{attacker, ReasonBadResponse, 1}, {attacker, ReasonBadResponse, 2},
		{phone, ReasonBadResponse, 1}, {attacker, ReasonBadResponse, 3}}
	if got := f.lim.all(); !slices.Equal(got, want) {
		t.Errorf("limiter calls %v\nwant %v", got, want)
	}
	if n := f.a.RecentFailures(attacker); n != 3 {
		t.Errorf("RecentFailures %d, want 3", n)
	}
	f.clock.advance(time.Minute)
	if n := f.a.RecentFailures(attacker); n != 0 {
		t.Errorf("RecentFailures after the window %d, want 0", n)
	}
	bad(attacker)
	if got := f.lim.all(); got[len(got)-1].recent != 1 {
		t.Errorf("count after the window: %v", got[len(got)-1])
	}
	if got := f.metric(t, "hotline_sip_auth_failures_total", "reason", "bad_response"); got != 5 {
		t.Errorf("bad_response failures %v, want 5", got)
	}
}

// TestForgottenNonceIsStale: when the nonce-count table evicts a nonce that may have
// been used, its next use is answered stale, never accepted on faith.
func TestForgottenNonceIsStale(t *testing.T) {
	f := newFixture(t, WithNonceCounter(NewNonceCounter(2)))
	var chs []Challenge
	for range 3 {
		ch := f.challengeFor(t, phone, MD5)
		chs = append(chs, ch)
		if res := f.verify(t, phone, answer(ch, "agent1", "secret", "REGISTER", testURI, 1).String()); !res.OK {
			t.Fatalf("first use: %+v", res)
		}
		f.clock.advance(time.Millisecond)
	}
	if res := f.verify(t, phone, answer(chs[0], "agent1", "secret", "REGISTER", testURI, 1).String()); !res.Stale() {
		t.Errorf("replay of an evicted nonce: %+v, want stale", res)
	}
	if res := f.verify(t, phone, answer(chs[2], "agent1", "secret", "REGISTER", testURI, 2).String()); !res.OK {
		t.Errorf("nonce still in the table: %+v", res)
	}
}

func TestUsersBackendError(t *testing.T) {
	boom := errors.New("database down")
	a, err := New(testRealm, UsersFunc(func(context.Context, string, string, Algorithm) (Credential, error) {
		return Credential{}, boom
	}))
	if err != nil {
		t.Fatal(err)
	}
	ch, _ := ParseChallenge(a.Challenge(phone, false)[1])
	_, err = a.Verify(context.Background(), Request{Method: "REGISTER", URI: testURI, Source: phone,
		Credentials: []string{answer(ch, "agent1", "secret", "REGISTER", testURI, 1).String()}})
	if !errors.Is(err, boom) {
		t.Errorf("Verify error %v, want the store's", err)
	}
}

// TestPlainPasswordStore: a store that returns the password (not HA1) works too.
func TestPlainPasswordStore(t *testing.T) {
	a, err := New(testRealm, UsersFunc(func(_ context.Context, u, _ string, _ Algorithm) (Credential, error) {
		if u != "agent1" {
			return Credential{}, ErrUnknownUser
		}
		return Credential{Password: "secret"}, nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range a.Challenge(phone, false) { // both share the nonce: count on
		ch, _ := ParseChallenge(v)
		res, err := a.Verify(context.Background(), Request{Method: "REGISTER", URI: testURI, Source: phone,
			Credentials: []string{answer(ch, "agent1", "secret", "REGISTER", testURI, uint32(i+1)).String()}})
		if err != nil || !res.OK {
			t.Errorf("%s: %+v %v", ch.Algorithm, res, err)
		}
	}
}

func TestNewValidation(t *testing.T) {
	users, _ := NewStaticUsers(testRealm, map[string]UserConfig{"a": {Password: "b"}})
	for name, tc := range map[string]struct {
		realm string
		users Users
		opts  []Option
	}{
		"empty realm":   {"", users, nil},
		"control realm": {"a\nb", users, nil},
		"no users":      {testRealm, nil, nil},
		"short secret":  {testRealm, users, []Option{WithSecret([]byte("short"))}},
		"zero ttl":      {testRealm, users, []Option{WithNonceTTL(0)}},
		"no algorithms": {testRealm, users, []Option{WithAlgorithms()}},
		"bad algorithm": {testRealm, users, []Option{WithAlgorithms(AlgorithmUnknown)}},
		"twice":         {testRealm, users, []Option{WithAlgorithms(MD5, MD5)}},
		"bad window":    {testRealm, users, []Option{WithFailureWindow(0, 10)}},
		"bad sources":   {testRealm, users, []Option{WithFailureWindow(time.Minute, 0)}},
	} {
		if _, err := New(tc.realm, tc.users, tc.opts...); err == nil {
			t.Errorf("%s: New accepted it", name)
		}
	}
	// Two authenticators (registrar and a trunk) share one registry.
	reg := prometheus.NewRegistry()
	for range 2 {
		if _, err := New(testRealm, users, WithRegistry(reg)); err != nil {
			t.Errorf("second authenticator on one registry: %v", err)
		}
	}
}
