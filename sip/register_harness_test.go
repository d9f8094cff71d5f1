package sip

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	gosip "github.com/emiago/sipgo/sip"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/hotline-ivr/hotline/media"
	"github.com/hotline-ivr/hotline/sip/auth"
	"github.com/hotline-ivr/hotline/sip/registrar"
)

// The agents every registrar test knows, in realm regRealm.
const (
	regRealm    = "hotline"
	regPassword = "secret" // agent1's
)

// regEnv is a testEnv whose server is also the registrar, with agent1 (password
// "secret") and agent2 ("other") as users.
type regEnv struct {
	*testEnv
	bindings *registrar.Memory
	authn    *auth.Authenticator
	limiter  *regLimiter
}

type regConfig struct {
	policy  registrar.Policy
	auth    []auth.Option
	aliases []string
}

type regOption func(*regConfig)

func withRegPolicy(p registrar.Policy) regOption { return func(c *regConfig) { c.policy = p } }

func withRegAliases(hosts ...string) regOption { return func(c *regConfig) { c.aliases = hosts } }

func withRegAuth(opts ...auth.Option) regOption {
	return func(c *regConfig) { c.auth = append(c.auth, opts...) }
}

// newRegEnv starts a registrar on UDP and TCP 127.0.0.1 port 0, with the same leak
// check as newEnv; the bindings store is closed before it runs.
func newRegEnv(t testing.TB, opts ...regOption) *regEnv {
	t.Helper()
	baseline := runtime.NumGoroutine()
	rc := regConfig{policy: registrar.Policy{MinExpires: time.Second}}
	for _, o := range opts {
		o(&rc)
	}
	e := &testEnv{t: t, reg: prometheus.NewRegistry(), handler: newTestHandler(), logs: &syncBuffer{}}
	log := slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	users, err := auth.NewStaticUsers(regRealm, map[string]auth.UserConfig{
		"agent1": {Password: regPassword},
		"agent2": {HA1MD5: auth.HA1(auth.MD5, "agent2", regRealm, "other"), HA1SHA256: auth.HA1(auth.SHA256, "agent2", regRealm, "other")},
	})
	if err != nil {
		t.Fatal(err)
	}
	lim := &regLimiter{}
	authn, err := auth.New(regRealm, users, append([]auth.Option{auth.WithRegistry(e.reg), auth.WithLimiter(lim), auth.WithLogger(log)}, rc.auth...)...)
	if err != nil {
		t.Fatalf("auth.New: %v", err)
	}
	bindings, err := registrar.NewMemory(registrar.WithPolicy(rc.policy), registrar.WithLogger(log))
	if err != nil {
		t.Fatalf("registrar: %v", err)
	}
	eng, err := media.NewEngine(media.Config{BindIP: netip.MustParseAddr("127.0.0.1"), PortMin: testPortMin, PortMax: testPortMax},
		media.WithRegistry(e.reg), media.WithLogger(log))
	if err != nil {
		bindings.Close()
		t.Fatalf("media engine: %v", err)
	}
	e.eng = eng
	srv, err := NewServer(Config{Listen: []Listen{{"udp", "127.0.0.1:0"}, {"tcp", "127.0.0.1:0"}}, T1: testT1, T2: testT2},
		eng, e.handler, WithLogger(log), WithRegistry(e.reg),
		WithRegistrar(RegistrarConfig{Bindings: bindings, Auth: authn, Aliases: rc.aliases}))
	if err != nil {
		eng.Close()
		bindings.Close()
		t.Fatalf("NewServer: %v", err)
	}
	e.srv = srv
	if err := srv.Listen(); err != nil {
		eng.Close()
		bindings.Close()
		t.Fatalf("Listen: %v", err)
	}
	for _, a := range srv.Addrs() {
		switch a.Network() {
		case "udp":
			e.udpAddr = a.String()
		case "tcp":
			e.tcpAddr = a.String()
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	e.cancel = cancel
	e.serveDone = make(chan error, 1)
	go func() { e.serveDone <- srv.Serve(ctx) }()
	t.Cleanup(func() { e.finish(baseline) })
	t.Cleanup(func() { bindings.Close() }) // cleanups run last-in first-out: before finish
	return &regEnv{testEnv: e, bindings: bindings, authn: authn, limiter: lim}
}

// aor is the address-of-record of user on the test server.
func (e *regEnv) aor(user string) string { return e.srv.AOR(user) }

// regLimiter records the failures the authenticator reports.
type regLimiter struct {
	mu    sync.Mutex
	calls []string // "src reason recent"
}

func (l *regLimiter) AuthFailed(src netip.Addr, reason auth.Reason, recent int) {
	l.mu.Lock()
	l.calls = append(l.calls, fmt.Sprintf("%s %s %d", src, reason, recent))
	l.mu.Unlock()
}

func (l *regLimiter) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.calls...)
}

// regPhone is a registering SIP phone written by hand on a raw peer: it builds each
// REGISTER itself and computes its digest answers with crypto/md5 and crypto/sha256
// directly, so the server's digest code is checked against an independent client.
type regPhone struct {
	p        *peer
	user     string // the AOR's user (To and From)
	authUser string // the digest username
	password string
	alg      string // the challenge it answers: "SHA-256" or "MD5"
	callID   string
	fromTag  string
	cseq     uint32
	ch       auth.Challenge // the challenge being answered
	nc       uint32
}

func (e *regEnv) newRegPhone(transport, user, password string) *regPhone {
	return &regPhone{p: e.newPeer(transport), user: user, authUser: user, password: password, alg: "SHA-256",
		callID: randHex(8) + "@phone", fromTag: randHex(4)}
}

// regReq is one REGISTER.
type regReq struct {
	contacts  []string // Contact values; nil: the phone's own contact
	noContact bool     // a query: no Contact at all
	expires   string   // Expires header value; "" : none
	headers   []string // extra header lines
	auth      bool     // answer the phone's current challenge (next nonce count)
	cseq      uint32   // 0 : next
	toUser    string   // "" : the phone's user
	toHost    string   // "" : 127.0.0.1
}

func (ph *regPhone) contact() string {
	c := "<sip:" + ph.user + "@" + ph.p.local.String()
	if ph.p.transport == "TCP" {
		c += ";transport=tcp"
	}
	return c + ">"
}

func (ph *regPhone) ruri() string { return "sip:" + ph.p.server }

// build writes the REGISTER.
func (ph *regPhone) build(r regReq) (raw []byte, cseq uint32) {
	if r.cseq == 0 {
		ph.cseq++
		r.cseq = ph.cseq
	}
	toUser, toHost := ph.user, "127.0.0.1"
	if r.toUser != "" {
		toUser = r.toUser
	}
	if r.toHost != "" {
		toHost = r.toHost
	}
	var b strings.Builder
	fmt.Fprintf(&b, "REGISTER %s SIP/2.0\r\n", ph.ruri())
	fmt.Fprintf(&b, "Via: SIP/2.0/%s %s;branch=z9hG4bK%s;rport\r\n", ph.p.transport, ph.p.local, randHex(6))
	b.WriteString("Max-Forwards: 70\r\n")
	fmt.Fprintf(&b, "From: <sip:%s@%s>;tag=%s\r\n", toUser, toHost, ph.fromTag)
	fmt.Fprintf(&b, "To: <sip:%s@%s>\r\n", toUser, toHost)
	fmt.Fprintf(&b, "Call-ID: %s\r\n", ph.callID)
	fmt.Fprintf(&b, "CSeq: %d REGISTER\r\n", r.cseq)
	switch {
	case r.noContact:
	case r.contacts == nil:
		fmt.Fprintf(&b, "Contact: %s\r\n", ph.contact())
	default:
		for _, c := range r.contacts {
			fmt.Fprintf(&b, "Contact: %s\r\n", c)
		}
	}
	if r.expires != "" {
		fmt.Fprintf(&b, "Expires: %s\r\n", r.expires)
	}
	if r.auth {
		ph.nc++
		fmt.Fprintf(&b, "Authorization: %s\r\n", regDigest(ph.ch, ph.authUser, ph.password, "REGISTER", ph.ruri(), ph.nc))
	}
	b.WriteString("User-Agent: hotline-test-phone\r\n")
	for _, h := range r.headers {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("Content-Length: 0\r\n\r\n")
	return []byte(b.String()), r.cseq
}

// send sends one REGISTER and returns its final response.
func (ph *regPhone) send(r regReq) *gosip.Response {
	ph.p.t.Helper()
	raw, cseq := ph.build(r)
	ph.p.send(raw)
	return ph.p.finalSeq(ph.callID, "REGISTER", cseq)
}

// register sends r; a 401 is answered once with the phone's algorithm.
func (ph *regPhone) register(r regReq) *gosip.Response {
	ph.p.t.Helper()
	res := ph.send(r)
	if res.StatusCode != 401 {
		return res
	}
	ph.learn(res)
	r.auth, r.cseq = true, 0
	return ph.send(r)
}

// learn takes the challenge for the phone's algorithm from a 401.
func (ph *regPhone) learn(res *gosip.Response) {
	ph.p.t.Helper()
	for _, h := range res.GetHeaders("WWW-Authenticate") {
		ch, err := auth.ParseChallenge(h.Value())
		if err != nil {
			ph.p.t.Fatalf("unparsable challenge %q: %v", h.Value(), err)
		}
		if ch.Algorithm == ph.alg {
			ph.ch, ph.nc = ch, 0
			return
		}
	}
	ph.p.t.Fatalf("no %s challenge in\n%s", ph.alg, res)
}

// regDigest is an independent client computation of a Digest Authorization value
// (RFC 7616 §3.4.1, qop=auth).
func regDigest(ch auth.Challenge, user, pass, method, uri string, nc uint32) string {
	h := func(s string) string {
		if ch.Algorithm == "SHA-256" {
			sum := sha256.Sum256([]byte(s))
			return hex.EncodeToString(sum[:])
		}
		sum := md5.Sum([]byte(s))
		return hex.EncodeToString(sum[:])
	}
	cnonce, ncs := randHex(8), fmt.Sprintf("%08x", nc)
	resp := h(h(user+":"+ch.Realm+":"+pass) + ":" + ch.Nonce + ":" + ncs + ":" + cnonce + ":auth:" + h(method+":"+uri))
	return fmt.Sprintf(`Digest username="%s", realm="%s", nonce="%s", uri="%s", response="%s", algorithm=%s, cnonce="%s", qop=auth, nc=%s`,
		user, ch.Realm, ch.Nonce, uri, resp, ch.Algorithm, cnonce, ncs)
}

// expectRegCode fails the test unless res has code.
func expectRegCode(t testing.TB, res *gosip.Response, code int) {
	t.Helper()
	if res.StatusCode != code {
		t.Fatalf("REGISTER answered %d %s, want %d\n%s", res.StatusCode, res.Reason, code, res)
	}
}

// regContacts returns the Contact values of a 200 to REGISTER, with their expires.
func regContacts(res *gosip.Response) map[string]string {
	out := map[string]string{}
	for _, h := range res.GetHeaders("Contact") {
		c, ok := h.(*gosip.ContactHeader)
		if !ok {
			continue
		}
		exp, _ := c.Params.Get("expires")
		out[c.Address.String()] = exp
	}
	return out
}
