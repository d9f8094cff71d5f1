package sip

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/icholy/digest"
	"gopkg.in/yaml.v3"
)

func TestNumberPlanNormalize(t *testing.T) {
	nanp := NumberPlan{CountryCode: "1", NationalPrefix: "1", InternationalPrefix: "011"}
	china := NumberPlan{CountryCode: "86", NationalPrefix: "0", InternationalPrefix: "00"}
	for _, tc := range []struct {
		plan NumberPlan
		in   string
		want string // "" : an error
	}{
		{nanp, "+1 (212) 555-0123", "+12125550123"},
		{nanp, "(212) 555-0123", "+12125550123"},
		{nanp, "1-212-555-0123", "+12125550123"},
		{nanp, "011 44 20 7946 0958", "+442079460958"},
		{nanp, "tel:+12125550123;phone-context=x", "+12125550123"},
		{china, "010 1234 5678", "+861012345678"},
		{china, "138 1234 5678", "+8613812345678"},
		{china, "0086 138 1234 5678", "+8613812345678"},
		{NumberPlan{}, "+4930123456", "+4930123456"},
		{NumberPlan{}, "030123456", ""},    // national, but no country code
		{nanp, "alice", ""},                // not a number
		{nanp, "12", ""},                   // too short
		{nanp, "+1234567890123456", ""},    // longer than E.164
		{nanp, "+1212*555", ""},            // service characters
		{nanp, "212+5550123", ""},          // + inside
		{china, "1381234567812345678", ""}, // too long once normalized
		{nanp, "", ""},
	} {
		got, err := tc.plan.Normalize(tc.in)
		if tc.want == "" {
			if err == nil || !errors.Is(err, errNotANumber) {
				t.Errorf("Normalize(%q) = %q, %v; want an error", tc.in, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("Normalize(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestNumberPlanRender(t *testing.T) {
	nanp := NumberPlan{CountryCode: "1", NationalPrefix: "1", InternationalPrefix: "011"}
	for _, tc := range []struct {
		format, in, want string
	}{
		{"", "+12125550123", "+12125550123"},
		{FormatE164, "+12125550123", "+12125550123"},
		{FormatE164Digits, "+12125550123", "12125550123"},
		{FormatNational, "+12125550123", "12125550123"},
		{FormatNational, "+442079460958", "011442079460958"},
	} {
		p := nanp
		p.Format = tc.format
		if got := p.Render(tc.in); got != tc.want {
			t.Errorf("%s Render(%q) = %q, want %q", tc.format, tc.in, got, tc.want)
		}
	}
	cn := NumberPlan{CountryCode: "86", NationalPrefix: "0", InternationalPrefix: "00", Format: FormatNational}
	if got := cn.Render("+861012345678"); got != "01012345678" {
		t.Errorf("China national: %q", got)
	}
}

func TestPatterns(t *testing.T) {
	for _, tc := range []struct {
		pattern string
		yes, no []string
	}{
		{"+1NXXNXXXXXX", []string{"+12125550123"}, []string{"+12120550123", "+1212555012", "+121255501234", "+442079460958"}},
		{"+44.", []string{"+442079460958", "+441"}, []string{"+44", "+12125550123"}},
		{"+.", []string{"+1", "+8613812345678"}, []string{"+"}},
		{"!", []string{"", "+1"}, nil},
		{"+861[3-9]XXXXXXXXX", []string{"+8613812345678", "+8619912345678"}, []string{"+8612812345678", "+861381234567"}},
		{"+1[2,4-5]Z!", []string{"+121", "+14199", "+151"}, []string{"+131", "+120"}},
	} {
		p, err := compilePattern(tc.pattern)
		if err != nil {
			t.Fatalf("%s: %v", tc.pattern, err)
		}
		for _, n := range tc.yes {
			if !p.match(n) {
				t.Errorf("%s should match %s", tc.pattern, n)
			}
		}
		for _, n := range tc.no {
			if p.match(n) {
				t.Errorf("%s should not match %s", tc.pattern, n)
			}
		}
	}
	for _, bad := range []string{"", "+1.X", "+1[", "+1[]", "+1[9-2]", "+1a", "+1[a]"} {
		if _, err := compilePattern(bad); err == nil {
			t.Errorf("pattern %q compiled", bad)
		}
	}
}

// TestValidateTrunks: every problem of every trunk is reported at once, each with
// its trunk's place.
func TestValidateTrunks(t *testing.T) {
	good := TrunkConfig{Name: "carrier", Host: "sip.carrier.example", Allow: []string{"+."}}
	if err := ValidateTrunks([]TrunkConfig{good}); err != nil {
		t.Fatalf("good trunk: %v", err)
	}
	bad := []TrunkConfig{
		good,
		{Name: "carrier", Host: "bad host!", Port: 70000, Transport: "sctp", OutboundProxy: "x:y",
			Password: "p", Numbers: NumberPlan{CountryCode: "1a", Format: "weird"},
			CallerID: CallerIDConfig{Policy: "fixed"}, MaxCalls: -1, CallsPerMinute: -2, EarlyMedia: "maybe",
			Register: RegisterConfig{Enabled: true, Expires: time.Millisecond, RetryBase: time.Minute, RetryMax: time.Second}},
		{Name: "Upper Case", Allow: []string{"+1[", "ok"}},
	}
	err := ValidateTrunks(bad)
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	for _, want := range []string{
		`trunks[1] (carrier): name: "carrier" is also trunks[0]`,
		"trunks[1] (carrier): host:", "port: 70000", "transport:", "outbound_proxy:", "password: set without username",
		"numbers.country_code", "numbers.format", "caller_id.number: required by policy fixed", "allow: at least one",
		"max_calls", "calls_per_minute", "early_media", "register.enabled: needs username", "register.expires",
		"register.retry_max", "trunks[2] (Upper Case): name:", "trunks[2] (Upper Case): host: required",
		"allow[0]", "allow[1]",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("missing %q in:\n%s", want, msg)
		}
	}
}

// TestTrunkConfigYAML: the trunks section decodes strictly from the engine's YAML.
func TestTrunkConfigYAML(t *testing.T) {
	src := `
- name: carrier
  host: sip.carrier.example
  port: 5080
  transport: tcp
  outbound_proxy: sbc.example:5070
  username: "15550001111"
  password: s3cret
  realm: carrier
  from_domain: carrier.example
  numbers: {country_code: "1", national_prefix: "1", international_prefix: "011", format: e164_digits}
  caller_id: {policy: fixed, number: "+15550001111", name: Hotline, assert_identity: true}
  allow: ["+1NXXNXXXXXX", "+44."]
  max_calls: 20
  calls_per_minute: 60
  ring_timeout: 45s
  early_media: ignore
  register: {enabled: true, expires: 10m, retry_base: 5s, retry_max: 5m}
`
	var ts []TrunkConfig
	dec := yaml.NewDecoder(strings.NewReader(src))
	dec.KnownFields(true)
	if err := dec.Decode(&ts); err != nil {
		t.Fatal(err)
	}
	if err := ValidateTrunks(ts); err != nil {
		t.Fatal(err)
	}
	tc := ts[0]
	if tc.RingTimeout != 45*time.Second || tc.Register.Expires != 10*time.Minute || !tc.CallerID.AssertIdentity ||
		tc.Numbers.Format != FormatE164Digits || tc.Transport != "tcp" {
		t.Errorf("decoded %+v", tc)
	}
	dec = yaml.NewDecoder(bytes.NewReader([]byte("- name: x\n  hots: y\n")))
	dec.KnownFields(true)
	if err := dec.Decode(&ts); err == nil {
		t.Errorf("unknown key accepted")
	}
}

// TestTrunkLimits: concurrent calls and attempts per sliding minute, on an injected clock.
func TestTrunkLimits(t *testing.T) {
	now := time.Unix(1000, 0)
	l := newTrunkLimits(2, 3, func() time.Time { return now })
	r1, err1 := l.acquire()
	r2, err2 := l.acquire()
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	if _, err := l.acquire(); !errors.Is(err, ErrTrunkFull) || !errors.Is(err, ErrRefused) {
		t.Errorf("third concurrent: %v", err)
	}
	r1()
	r1() // idempotent
	if l.inUse() != 1 {
		t.Errorf("in use %d", l.inUse())
	}
	now = now.Add(10 * time.Second)
	r3, err := l.acquire() // the third attempt this minute
	if err != nil {
		t.Fatal(err)
	}
	r2()
	r3()
	if _, err := l.acquire(); !errors.Is(err, ErrTrunkRate) {
		t.Errorf("fourth attempt within a minute: %v", err)
	}
	now = now.Add(51 * time.Second) // the first attempt is a minute old
	if _, err := l.acquire(); err != nil {
		t.Errorf("after a minute: %v", err)
	}
}

// TestDigestVectors: our digest answers match the worked examples of RFC 2617 §3.5
// (MD5) and RFC 7616 §3.9.1 (MD5 and SHA-256), whose hash RFC 8760 adopts for SIP.
func TestDigestVectors(t *testing.T) {
	for _, tc := range []struct {
		name, challenge, password, cnonce, want string
	}{
		{"RFC 2617 MD5", `Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"`,
			"Circle Of Life", "0a4f113b", "6629fae49393a05397450978507c4ef1"},
		{"RFC 7616 MD5", `Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=MD5, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"`,
			"Circle of Life", "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", "8ca523f5e9506fed4657c9700eebdbec"},
		{"RFC 7616 SHA-256", `Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=SHA-256, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"`,
			"Circle of Life", "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"},
	} {
		a := newAuthenticator(Credentials{Username: "Mufasa", Password: tc.password})
		a.cnonce = func() string { return tc.cnonce }
		ch, err := digest.ParseChallenge(tc.challenge)
		if err != nil {
			t.Fatal(err)
		}
		algo, _ := algoOf(ch.Algorithm)
		got := a.answer(challenge{ch, algo}, "GET", "/dir/index.html", nil)
		cr, err := digest.ParseCredentials(got)
		if err != nil {
			t.Fatalf("%s: our header does not parse: %v\n%s", tc.name, err, got)
		}
		if cr.Response != tc.want || cr.Nc != 1 || cr.QOP != "auth" || cr.Opaque != ch.Opaque {
			t.Errorf("%s: %s\nwant response %s", tc.name, got, tc.want)
		}
	}
}

// TestDigestSess: the -sess variants (RFC 2617 §3.2.2.2) agree with an independent
// implementation given the same H(A1).
func TestDigestSess(t *testing.T) {
	a := newAuthenticator(Credentials{Username: "alice", Password: "pw"})
	ch, _ := digest.ParseChallenge(`Digest realm="r", nonce="n", algorithm=SHA-256-sess, qop="auth"`)
	algo, ok := algoOf(ch.Algorithm)
	if !ok || !algo.sess {
		t.Fatalf("algorithm %q not known", ch.Algorithm)
	}
	got := a.answer(challenge{ch, algo}, "INVITE", "sip:bob@example.com", nil)
	cr, _ := digest.ParseCredentials(got)
	h := func(s string) string { return hexSHA256(s) }
	ha1 := h(h("alice:r:pw") + ":n:" + cr.Cnonce)
	want := h(ha1 + ":n:00000001:" + cr.Cnonce + ":auth:" + h("INVITE:sip:bob@example.com"))
	if cr.Response != want {
		t.Errorf("SHA-256-sess response %s, want %s", cr.Response, want)
	}
}

func hexSHA256(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
