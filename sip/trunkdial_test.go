package sip

import (
	"context"
	"errors"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/icholy/digest"
)

// carrierTrunk is a North American trunk toward the raw peer at addr.
func carrierTrunk(addr netip.AddrPort) TrunkConfig {
	return TrunkConfig{
		Name: "carrier", Host: addr.Addr().String(), Port: int(addr.Port()),
		Username: "15550001111", Password: "s3cret",
		Numbers:  NumberPlan{CountryCode: "1", NationalPrefix: "1", InternationalPrefix: "011"},
		CallerID: CallerIDConfig{Number: "+15550001111", Name: "Hotline", AssertIdentity: true},
		Allow:    []string{"+1NXXNXXXXXX"},
	}
}

// checkDigest recomputes a credentials header with an independent implementation
// (icholy/digest) and fails the test unless it matches.
func checkDigest(t *testing.T, header, challenge, method, password string) *digest.Credentials {
	t.Helper()
	cr, err := digest.ParseCredentials(header)
	if err != nil {
		t.Fatalf("credentials %q: %v", header, err)
	}
	ch, err := digest.ParseChallenge(challenge)
	if err != nil {
		t.Fatal(err)
	}
	want, err := digest.Digest(ch, digest.Options{Method: method, URI: cr.URI, Username: cr.Username,
		Password: password, Cnonce: cr.Cnonce, Count: cr.Nc})
	if err != nil {
		t.Fatal(err)
	}
	if cr.Response != want.Response || cr.Algorithm != ch.Algorithm {
		t.Errorf("%s credentials %s\nwant response %s (algorithm %s)", method, header, want.Response, ch.Algorithm)
	}
	return cr
}

// TestTrunkDialAuth: a national number through a trunk becomes E.164 in the
// Request-URI; the trunk's 407 offering SHA-256 then MD5 is answered with SHA-256
// (the topmost supported, RFC 8760 §2.4) on a new INVITE with a higher CSeq; the ACK
// carries the credentials; a BYE challenged again is answered again.
func TestTrunkDialAuth(t *testing.T) {
	e, p := newTrunkEnv(t, func(a netip.AddrPort) []TrunkConfig { return []TrunkConfig{carrierTrunk(a)} })
	ch := e.dial(context.Background(), DialRequest{Target: "(212) 555-0123", Trunk: "carrier",
		CallerID: CallerID{Policy: CallerIDPass, Number: "212 555 0199", Name: "Ann"}})
	first := p.acceptInvite()
	inv := first.invite
	if inv.Recipient.User != "+12125550123" || inv.Recipient.Host != "127.0.0.1" || inv.Recipient.Port != int(p.local.Port()) {
		t.Errorf("Request-URI %s, want +12125550123 at the trunk", inv.Recipient.String())
	}
	if inv.From().Address.User != "+12125550199" || inv.From().DisplayName != "Ann" {
		t.Errorf("From %s, want the passed caller in E.164", inv.From().Value())
	}
	if pai := inv.GetHeader("P-Asserted-Identity"); pai == nil || !strings.Contains(pai.Value(), "sip:+12125550199@") {
		t.Errorf("P-Asserted-Identity %v", pai)
	}
	sha := `Digest realm="carrier", nonce="n256", algorithm=SHA-256, qop="auth"`
	md5 := `Digest realm="carrier", nonce="n5", algorithm=MD5, qop="auth"`
	first.respond(407, "", "Proxy-Authenticate: "+sha, "Proxy-Authenticate: "+md5)
	p.request(first.callID(), "ACK", waitTimeout) // the transaction's ACK of the 407

	second := p.acceptInvite()
	if second.callID() != first.callID() || tagOfFrom(second.invite.From()) != tagOfFrom(inv.From()) ||
		second.invite.CSeq().SeqNo != inv.CSeq().SeqNo+1 {
		t.Errorf("resent INVITE: Call-ID, From tag and CSeq+1 expected (RFC 3261 §22.1)")
	}
	pa := second.invite.GetHeaders("Proxy-Authorization")
	if len(pa) != 1 {
		t.Fatalf("%d Proxy-Authorization headers", len(pa))
	}
	cr := checkDigest(t, pa[0].Value(), sha, "INVITE", "s3cret")
	if cr.URI != inv.Recipient.String() || cr.Username != "15550001111" {
		t.Errorf("credentials uri %q user %q", cr.URI, cr.Username)
	}
	second.respond(180, "")
	second.respond(200, g711Answer(40000, 1))
	ack := second.expectAck()
	if ack.GetHeader("Proxy-Authorization") == nil {
		t.Errorf("ACK without the INVITE's credentials (RFC 3261 §13.2.2.4)")
	}
	r := result(t, ch)
	if r.err != nil {
		t.Fatal(r.err)
	}
	if r.c.Info().Trunk != "carrier" {
		t.Errorf("trunk %q", r.c.Info().Trunk)
	}
	done := make(chan struct{})
	go func() {
		_ = r.c.Hangup(context.Background())
		close(done)
	}()
	bye := p.request(second.callID(), "BYE", waitTimeout)
	second.respondTo(bye, 407, "", "Proxy-Authenticate: "+md5)
	bye2 := p.request(second.callID(), "BYE", waitTimeout)
	if bye2.CSeq().SeqNo != bye.CSeq().SeqNo+1 {
		t.Errorf("challenged BYE resent with CSeq %d, want %d", bye2.CSeq().SeqNo, bye.CSeq().SeqNo+1)
	}
	checkDigest(t, bye2.GetHeader("Proxy-Authorization").Value(), md5, "BYE", "s3cret")
	second.respondTo(bye2, 200, "")
	<-done
	e.checkMetric(1, "hotline_outbound_attempts_total", "trunk", "carrier", "result", "answered")
}

// TestTrunkDialAuthRejected: a trunk that keeps challenging gets credentials twice
// (a stale nonce is retried), then Dial fails with ErrAuthFailed; a call without
// credentials fails at the first challenge.
func TestTrunkDialAuthRejected(t *testing.T) {
	e, p := newTrunkEnv(t, func(a netip.AddrPort) []TrunkConfig { return []TrunkConfig{carrierTrunk(a)} })
	ch := e.dial(context.Background(), DialRequest{Target: "+12125550123", Trunk: "carrier"})
	chal := `Digest realm="carrier", nonce="x", algorithm=MD5`
	for range 3 {
		l := p.acceptInvite()
		l.respond(401, "", "WWW-Authenticate: "+chal)
		p.request(l.callID(), "ACK", waitTimeout)
	}
	if r := result(t, ch); !errors.Is(r.err, ErrAuthFailed) {
		t.Errorf("Dial: %v, want ErrAuthFailed", r.err)
	}
	ch = e.dial(context.Background(), DialRequest{Target: p.uri("bob")}) // direct: no credentials
	l := p.acceptInvite()
	l.respond(401, "", "WWW-Authenticate: "+chal)
	if r := result(t, ch); !errors.Is(r.err, ErrAuthFailed) {
		t.Errorf("direct Dial: %v, want ErrAuthFailed", r.err)
	}
	e.checkMetric(1, "hotline_outbound_attempts_total", "trunk", "carrier", "result", "auth_failed")
}

// TestTrunkRealmRestriction: with realm set, a challenge from another realm gets no
// hash of our password.
func TestTrunkRealmRestriction(t *testing.T) {
	e, p := newTrunkEnv(t, func(a netip.AddrPort) []TrunkConfig {
		tc := carrierTrunk(a)
		tc.Realm = "carrier"
		return []TrunkConfig{tc}
	})
	ch := e.dial(context.Background(), DialRequest{Target: "+12125550123", Trunk: "carrier"})
	l := p.acceptInvite()
	l.respond(407, "", `Proxy-Authenticate: Digest realm="elsewhere", nonce="x"`)
	if r := result(t, ch); !errors.Is(r.err, ErrAuthFailed) {
		t.Errorf("Dial: %v", r.err)
	}
	if _, ok := p.take(300*time.Millisecond, isRequestMethod("INVITE")); ok {
		t.Errorf("INVITE resent to a foreign realm")
	}
}

// TestTrunkCallerID: fixed and withheld policies (RFC 3323 §4.1.1.3, RFC 3325 §9.3),
// the carrier's number format, and a passed number that is no number.
func TestTrunkCallerID(t *testing.T) {
	e, p := newTrunkEnv(t, func(a netip.AddrPort) []TrunkConfig {
		tc := carrierTrunk(a)
		tc.Numbers.Format = FormatE164Digits
		tc.FromDomain = "carrier.example"
		return []TrunkConfig{tc}
	})
	for _, tc := range []struct {
		cid                 CallerID
		user, name, privacy string
		pai                 string
	}{
		{CallerID{Policy: CallerIDFixed}, "15550001111", "Hotline", "", "sip:15550001111@carrier.example"},
		{CallerID{Policy: CallerIDWithheld, Number: "+12125550199"}, "anonymous", "Anonymous", "id", "sip:12125550199@carrier.example"},
		{CallerID{Policy: CallerIDPass, Number: "alice"}, "15550001111", "Hotline", "", "sip:15550001111@"},
	} {
		ch := e.dial(context.Background(), DialRequest{Target: "2125550123", Trunk: "carrier", CallerID: tc.cid})
		l := p.acceptInvite()
		inv := l.invite
		if inv.Recipient.User != "12125550123" || inv.Recipient.Host != "carrier.example" {
			t.Errorf("%v: Request-URI %s", tc.cid.Policy, inv.Recipient.String())
		}
		if inv.From().Address.User != tc.user || inv.From().DisplayName != tc.name {
			t.Errorf("%v: From %s", tc.cid.Policy, inv.From().Value())
		}
		priv := ""
		if h := inv.GetHeader("Privacy"); h != nil {
			priv = h.Value()
		}
		if priv != tc.privacy {
			t.Errorf("%v: Privacy %q, want %q", tc.cid.Policy, priv, tc.privacy)
		}
		if h := inv.GetHeader("P-Asserted-Identity"); h == nil || !strings.Contains(h.Value(), tc.pai) {
			t.Errorf("%v: P-Asserted-Identity %v, want %s", tc.cid.Policy, h, tc.pai)
		}
		l.respond(486, "")
		if r := result(t, ch); !errors.Is(r.err, ErrBusy) {
			t.Errorf("%v: %v", tc.cid.Policy, r.err)
		}
	}
}

// TestTrunkGuards: the toll-fraud guards refuse before anything is sent, log the
// refusal and count it: a destination outside the allow list, more concurrent calls
// than max_calls, more attempts than calls_per_minute.
func TestTrunkGuards(t *testing.T) {
	e, p := newTrunkEnv(t, func(a netip.AddrPort) []TrunkConfig {
		tc := carrierTrunk(a)
		tc.MaxCalls = 1
		tc.CallsPerMinute = 3
		return []TrunkConfig{tc}
	})
	_, err := e.srv.Dial(context.Background(), DialRequest{Target: "+442079460958", Trunk: "carrier"})
	if !errors.Is(err, ErrNotAllowed) || !errors.Is(err, ErrRefused) {
		t.Errorf("foreign number: %v, want ErrNotAllowed", err)
	}
	_, err = e.srv.Dial(context.Background(), DialRequest{Target: "sip:+881612345678@evil.example", Trunk: "carrier"})
	if !errors.Is(err, ErrNotAllowed) {
		t.Errorf("satellite number in a URI: %v", err)
	}
	if _, ok := p.take(200*time.Millisecond, isRequestMethod("INVITE")); ok {
		t.Errorf("a refused call left the engine")
	}
	if !e.logs.contains("outbound call refused") {
		t.Errorf("refusal not logged")
	}

	ch := e.dial(context.Background(), DialRequest{Target: "+12125550123", Trunk: "carrier"})
	l := p.acceptInvite()
	l.respond(180, "")
	if st, _ := e.srv.Trunk("carrier"); st.ActiveCalls != 1 {
		t.Errorf("active calls %d", st.ActiveCalls)
	}
	if _, err := e.srv.Dial(context.Background(), DialRequest{Target: "+12125550124", Trunk: "carrier"}); !errors.Is(err, ErrTrunkFull) {
		t.Errorf("second concurrent call: %v, want ErrTrunkFull", err)
	}
	l.respond(486, "")
	result(t, ch)
	waitUntil(t, time.Second, "slot released", func() bool { st, _ := e.srv.Trunk("carrier"); return st.ActiveCalls == 0 })
	for i := range 2 { // the 2nd and 3rd attempts of the minute
		ch := e.dial(context.Background(), DialRequest{Target: "+1212555012" + strconv.Itoa(i), Trunk: "carrier"})
		l := p.acceptInvite()
		l.respond(486, "")
		result(t, ch)
	}
	if _, err := e.srv.Dial(context.Background(), DialRequest{Target: "+12125550129", Trunk: "carrier"}); !errors.Is(err, ErrTrunkRate) {
		t.Errorf("fourth attempt within a minute: %v, want ErrTrunkRate", err)
	}
	e.checkMetric(2, "hotline_outbound_attempts_total", "trunk", "carrier", "result", "refused_destination")
	e.checkMetric(1, "hotline_outbound_attempts_total", "trunk", "carrier", "result", "refused_concurrency")
	e.checkMetric(1, "hotline_outbound_attempts_total", "trunk", "carrier", "result", "refused_rate")
}

// TestDialInvalid: requests that cannot be placed fail at once with ErrInvalidDial.
func TestDialInvalid(t *testing.T) {
	e, _ := newTrunkEnv(t, func(a netip.AddrPort) []TrunkConfig { return []TrunkConfig{carrierTrunk(a)} })
	for _, r := range []DialRequest{
		{},
		{Target: "+12125550123"},                // a number without a trunk
		{Target: "+12125550123", Trunk: "nope"}, // unknown trunk
		{Target: "sips:bob@example.com"},        // no TLS
		{Target: "sip:bob@example.com", Headers: []Header{{"From", "x"}}},
		{Target: "sip:bob@example.com", Headers: []Header{{"X-A", "a\r\nVia: evil"}}},
		{Target: "call me maybe", Trunk: "carrier"},
		{Target: "sip:bob@example.com;transport=tls"},
		{Target: "sip:bob@example.com", CallerID: CallerID{Name: `evil"`}},
	} {
		if _, err := e.srv.Dial(context.Background(), r); !errors.Is(err, ErrInvalidDial) {
			t.Errorf("%+v: %v, want ErrInvalidDial", r, err)
		}
	}
	if _, err := e.srv.Dial(context.Background(), DialRequest{Target: "+1", Trunk: "nope"}); !errors.Is(err, ErrUnknownTrunk) {
		t.Errorf("unknown trunk: %v", err)
	}
}

// TestTrunkOutboundProxy: with an outbound proxy the INVITE goes to the proxy with a
// pre-loaded loose Route (RFC 3261 §8.1.2); the Request-URI still names the carrier.
func TestTrunkOutboundProxy(t *testing.T) {
	e, p := newTrunkEnv(t, func(a netip.AddrPort) []TrunkConfig {
		tc := carrierTrunk(a)
		tc.Host, tc.Port = "carrier.invalid", 0
		tc.OutboundProxy = a.String()
		return []TrunkConfig{tc}
	})
	ch := e.dial(context.Background(), DialRequest{Target: "+12125550123", Trunk: "carrier"})
	l := p.acceptInvite()
	if l.invite.Recipient.Host != "carrier.invalid" {
		t.Errorf("Request-URI %s", l.invite.Recipient.String())
	}
	routes := l.invite.GetHeaders("Route")
	if len(routes) != 1 || !strings.Contains(routes[0].Value(), p.local.String()) || !strings.Contains(routes[0].Value(), ";lr") {
		t.Errorf("Route %v, want the proxy with lr", routes)
	}
	l.respond(200, g711Answer(40000, 1))
	l.expectAck()
	c := result(t, ch).c
	hangupAndAnswer(t, c, l)
}
