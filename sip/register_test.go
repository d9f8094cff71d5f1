package sip

import (
	"errors"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hotline-ivr/hotline/media"
	"github.com/hotline-ivr/hotline/sip/auth"
	"github.com/hotline-ivr/hotline/sip/registrar"
)

// TestRegisterDigest: a phone registers over UDP and TCP answering the SHA-256 or the
// MD5 challenge (two WWW-Authenticate headers, SHA-256 first, RFC 8760 §2.4); the 200
// lists its contact with expires (RFC 3261 §10.3 step 8) and the binding records the
// socket it came from.
func TestRegisterDigest(t *testing.T) {
	for _, tc := range []struct{ transport, alg string }{
		{"udp", "SHA-256"}, {"udp", "MD5"}, {"tcp", "SHA-256"}, {"tcp", "MD5"},
	} {
		t.Run(tc.transport+"/"+tc.alg, func(t *testing.T) {
			e := newRegEnv(t)
			ph := e.newRegPhone(tc.transport, "agent1", regPassword)
			ph.alg = tc.alg
			res := ph.send(regReq{expires: "600"})
			expectRegCode(t, res, 401)
			var algs []string
			for _, h := range res.GetHeaders("WWW-Authenticate") {
				ch, err := auth.ParseChallenge(h.Value())
				if err != nil {
					t.Fatal(err)
				}
				algs = append(algs, ch.Algorithm)
				if ch.Realm != regRealm || !slices.Equal(ch.QOP, []string{"auth"}) || ch.Stale {
					t.Errorf("challenge %+v", ch)
				}
			}
			if !slices.Equal(algs, []string{"SHA-256", "MD5"}) {
				t.Errorf("challenge algorithms %q, want SHA-256 then MD5", algs)
			}
			ph.learn(res)
			res = ph.send(regReq{expires: "600", auth: true})
			expectRegCode(t, res, 200)
			want := strings.Trim(ph.contact(), "<>")
			if got := regContacts(res); len(got) != 1 || got[want] != "600" {
				t.Errorf("200 lists %v, want %s;expires=600", got, want)
			}
			if res.GetHeader("Date") == nil {
				t.Error("200 without Date (RFC 3261 §10.3 step 8)")
			}
			bs := e.bindings.Lookup(e.aor("agent1"))
			if len(bs) != 1 {
				t.Fatalf("bindings %+v", bs)
			}
			b := bs[0]
			if b.URI != want || b.Source != ph.p.local || b.Transport != tc.transport || b.UserAgent != "hotline-test-phone" ||
				b.CallID != ph.callID || b.CSeq != 2 {
				t.Errorf("binding %+v", b)
			}
			e.checkMetric(1, "hotline_sip_registrations_total", "result", "challenged")
			e.checkMetric(1, "hotline_sip_registrations_total", "result", "registered")
			e.checkMetric(1, "hotline_registered_contacts")
			e.checkMetric(1, "hotline_sip_auth_successes_total", "algorithm", map[string]string{"MD5": "md5", "SHA-256": "sha256"}[tc.alg])
		})
	}
}

// TestRegisterWrongPassword: the wrong password gets 401 with a fresh challenge again,
// is counted, reported to the limiter against the socket address, and binds nothing.
func TestRegisterWrongPassword(t *testing.T) {
	e := newRegEnv(t)
	ph := e.newRegPhone("udp", "agent1", "guess")
	res := ph.register(regReq{expires: "600"})
	expectRegCode(t, res, 401)
	if res.GetHeader("WWW-Authenticate") == nil {
		t.Error("second 401 without a challenge")
	}
	if len(e.bindings.Lookup(e.aor("agent1"))) != 0 {
		t.Error("wrong password bound a contact")
	}
	e.checkMetric(1, "hotline_sip_registrations_total", "result", "auth_failed")
	e.checkMetric(1, "hotline_sip_auth_failures_total", "reason", "bad_response")
	e.checkMetric(0, "hotline_registered_contacts")
	if got := e.limiter.all(); !slices.Equal(got, []string{"127.0.0.1 bad_response 1"}) {
		t.Errorf("limiter heard %q", got)
	}
}

// TestRegisterUnknownUser: an unknown user's answer gets exactly what a known user's
// wrong password gets (svwar learns nothing): same status, same headers, same
// challenge but for the nonce.
func TestRegisterUnknownUser(t *testing.T) {
	e := newRegEnv(t)
	shape := func(user string) string {
		ph := e.newRegPhone("udp", user, "guess")
		res := ph.register(regReq{expires: "600"})
		var names []string
		for _, h := range res.Headers() {
			names = append(names, h.Name())
		}
		var chs []string
		for _, h := range res.GetHeaders("WWW-Authenticate") {
			ch, _ := auth.ParseChallenge(h.Value())
			ch.Nonce = "N"
			chs = append(chs, ch.String())
		}
		return res.StartLine() + " | " + strings.Join(names, ",") + " | " + strings.Join(chs, " / ")
	}
	known := shape("agent1")
	unknown := shape("nosuchagent")
	if known != unknown {
		t.Errorf("responses differ:\nknown:   %s\nunknown: %s", known, unknown)
	}
	if !strings.HasPrefix(known, "SIP/2.0 401 Unauthorized") {
		t.Errorf("response %s", known)
	}
	e.checkMetric(1, "hotline_sip_auth_failures_total", "reason", "unknown_user")
	e.checkMetric(1, "hotline_sip_auth_failures_total", "reason", "bad_response")
	e.checkMetric(2, "hotline_sip_registrations_total", "result", "auth_failed")
}

// TestRegisterNonceReuse: a refresh may reuse the nonce with the next nonce count and
// needs no new challenge; the same count again is a replay.
func TestRegisterNonceReuse(t *testing.T) {
	e := newRegEnv(t)
	ph := e.newRegPhone("udp", "agent1", regPassword)
	expectRegCode(t, ph.register(regReq{expires: "600"}), 200)
	expectRegCode(t, ph.send(regReq{expires: "600", auth: true}), 200) // nc=2, no challenge
	ph.nc--                                                            // reuse nc=2
	expectRegCode(t, ph.send(regReq{expires: "600", auth: true}), 401)
	e.checkMetric(1, "hotline_sip_auth_failures_total", "reason", "replay")
	e.checkMetric(2, "hotline_sip_registrations_total", "result", "registered")
}

// TestRegisterStaleNonce: past its TTL the nonce earns a stale challenge, which the
// phone answers without asking anyone for the password again.
func TestRegisterStaleNonce(t *testing.T) {
	e := newRegEnv(t, withRegAuth(auth.WithNonceTTL(300*time.Millisecond)))
	ph := e.newRegPhone("tcp", "agent1", regPassword)
	expectRegCode(t, ph.register(regReq{expires: "600"}), 200)
	time.Sleep(400 * time.Millisecond)
	res := ph.send(regReq{expires: "600", auth: true})
	expectRegCode(t, res, 401)
	ch, err := auth.ParseChallenge(res.GetHeader("WWW-Authenticate").Value())
	if err != nil || !ch.Stale {
		t.Fatalf("challenge %+v %v, want stale=true", ch, err)
	}
	ph.learn(res)
	expectRegCode(t, ph.send(regReq{expires: "600", auth: true}), 200)
	e.checkMetric(1, "hotline_sip_registrations_total", "result", "stale")
	e.checkMetric(0, "hotline_sip_auth_failures_total")
}

// TestRegisterContacts: several contacts per AOR (two in one request, one from a second
// phone), q order in Lookup, removal of one with Expires: 0, then Contact: * with
// Expires: 0 (RFC 3261 §10.3 step 6), and Contact: * misused (400).
func TestRegisterContacts(t *testing.T) {
	e := newRegEnv(t)
	desk := e.newRegPhone("udp", "agent1", regPassword)
	res := desk.register(regReq{expires: "600", contacts: []string{
		"<sip:agent1@10.0.0.5:5060>;q=0.5", "<sip:agent1@10.0.0.5:5070>;expires=120;q=0.9"}})
	expectRegCode(t, res, 200)
	if got := regContacts(res); got["sip:agent1@10.0.0.5:5060"] != "600" || got["sip:agent1@10.0.0.5:5070"] != "120" {
		t.Errorf("200 lists %v", got)
	}
	soft := e.newRegPhone("tcp", "agent1", regPassword)
	res = soft.register(regReq{expires: "300"})
	expectRegCode(t, res, 200)
	if n := len(regContacts(res)); n != 3 {
		t.Errorf("200 lists %d contacts, want all 3 bindings", n)
	}
	bs := e.bindings.Lookup(e.aor("agent1"))
	var qs []float64
	for _, b := range bs {
		qs = append(qs, b.Q)
	}
	if !slices.Equal(qs, []float64{1, 0.9, 0.5}) {
		t.Errorf("Lookup q order %v", qs)
	}
	e.checkMetric(3, "hotline_registered_contacts")

	res = desk.send(regReq{auth: true, contacts: []string{"<sip:agent1@10.0.0.5:5060>;expires=0"}})
	expectRegCode(t, res, 200)
	if n := len(regContacts(res)); n != 2 {
		t.Errorf("after removing one: %d listed", n)
	}
	e.checkMetric(1, "hotline_sip_registrations_total", "result", "unregistered")

	expectRegCode(t, desk.send(regReq{auth: true, contacts: []string{"*"}, expires: "60"}), 400)
	expectRegCode(t, desk.send(regReq{auth: true, contacts: []string{"*", "<sip:agent1@10.0.0.5:5080>"}, expires: "0"}), 400)
	res = desk.send(regReq{auth: true, contacts: []string{"*"}, expires: "0"})
	expectRegCode(t, res, 200)
	if n := len(regContacts(res)); n != 0 || len(e.bindings.Lookup(e.aor("agent1"))) != 0 {
		t.Errorf("Contact: * left %d listed, %v bound", n, e.bindings.Lookup(e.aor("agent1")))
	}
	e.checkMetric(0, "hotline_registered_contacts")
}

// TestRegisterIntervalTooBrief: an expiry below the minimum gets 423 with Min-Expires
// (RFC 3261 §10.3 step 5, §20.23), after authentication; one above the maximum is
// shortened.
func TestRegisterIntervalTooBrief(t *testing.T) {
	e := newRegEnv(t, withRegPolicy(registrar.Policy{MinExpires: 60 * time.Second, MaxExpires: 600 * time.Second, DefaultExpires: 300 * time.Second}))
	ph := e.newRegPhone("udp", "agent1", regPassword)
	res := ph.register(regReq{expires: "30"})
	expectRegCode(t, res, 423)
	if h := res.GetHeader("Min-Expires"); h == nil || h.Value() != "60" {
		t.Errorf("Min-Expires %v, want 60", h)
	}
	res = ph.send(regReq{expires: "86400", auth: true})
	expectRegCode(t, res, 200)
	if got := regContacts(res); got[strings.Trim(ph.contact(), "<>")] != "600" {
		t.Errorf("shortened expiry: %v, want 600", got)
	}
	res = ph.send(regReq{auth: true})
	if got := regContacts(res); got[strings.Trim(ph.contact(), "<>")] != "300" {
		t.Errorf("default expiry: %v, want 300", got)
	}
	e.checkMetric(1, "hotline_sip_registrations_total", "result", "interval_too_brief")
}

// TestRegisterAuthorization: agent1's credentials register agent1's AOR only (403
// for agent2's, RFC 3261 §10.3 step 4); a domain not ours is 404 (step 5).
func TestRegisterAuthorization(t *testing.T) {
	e := newRegEnv(t)
	ph := e.newRegPhone("udp", "agent1", regPassword)
	expectRegCode(t, ph.register(regReq{expires: "600", toUser: "agent2"}), 403)
	expectRegCode(t, ph.register(regReq{expires: "600", toHost: "elsewhere.example.com"}), 404)
	if len(e.bindings.Lookup(e.aor("agent2"))) != 0 || len(e.bindings.Lookup(e.aor("agent1"))) != 0 {
		t.Error("refused REGISTER bound something")
	}
	e.checkMetric(1, "hotline_sip_registrations_total", "result", "forbidden")
	e.checkMetric(1, "hotline_sip_registrations_total", "result", "not_found")
	// agent2 is configured with HA1 values only, and registers with either algorithm.
	for _, alg := range []string{"SHA-256", "MD5"} {
		ph2 := e.newRegPhone("udp", "agent2", "other")
		ph2.alg = alg
		expectRegCode(t, ph2.register(regReq{expires: "600"}), 200)
	}
}

// TestRegisterAliases: another name of ours lands on the domain's AOR; "*" accepts
// any host.
func TestRegisterAliases(t *testing.T) {
	for _, aliases := range [][]string{{"PBX.example.com"}, {"*"}} {
		t.Run(aliases[0], func(t *testing.T) {
			e := newRegEnv(t, withRegAliases(aliases...))
			ph := e.newRegPhone("udp", "agent1", regPassword)
			expectRegCode(t, ph.register(regReq{expires: "600", toHost: "pbx.example.com"}), 200)
			if n := len(e.bindings.Lookup(registrar.AOR("agent1", "127.0.0.1"))); n != 1 || e.aor("agent1") != "sip:agent1@127.0.0.1" {
				t.Errorf("%d bindings under %s", n, e.aor("agent1"))
			}
		})
	}
}

// TestRegisterOrdering: a REGISTER of the same Call-ID with a CSeq not above the
// binding's fails with 500 and changes nothing (RFC 3261 §10.3 step 7).
func TestRegisterOrdering(t *testing.T) {
	e := newRegEnv(t)
	ph := e.newRegPhone("udp", "agent1", regPassword)
	expectRegCode(t, ph.register(regReq{expires: "600"}), 200) // CSeq 2
	ph.cseq = 10
	expectRegCode(t, ph.send(regReq{expires: "300", auth: true}), 200) // CSeq 11
	expectRegCode(t, ph.send(regReq{expires: "0", auth: true, cseq: 5}), 500)
	if bs := e.bindings.Lookup(e.aor("agent1")); len(bs) != 1 || bs[0].CSeq != 11 {
		t.Errorf("bindings after out-of-order REGISTER: %+v", bs)
	}
	e.checkMetric(1, "hotline_sip_registrations_total", "result", "out_of_order")
}

// TestRegisterBehindNAT: a phone behind NAT registers a private Contact; the binding
// keeps the address the REGISTER came from, which the 200's Via reports too
// (received/rport, RFC 3581).
func TestRegisterBehindNAT(t *testing.T) {
	e := newRegEnv(t)
	ph := e.newRegPhone("udp", "agent1", regPassword)
	res := ph.register(regReq{expires: "600", contacts: []string{"<sip:agent1@192.168.1.20:5060>"}})
	expectRegCode(t, res, 200)
	if rport, _ := res.Via().Params.Get("rport"); rport == "" {
		t.Errorf("Via without rport: %s", res.Via())
	}
	bs := e.bindings.Lookup(e.aor("agent1"))
	if len(bs) != 1 || bs[0].URI != "sip:agent1@192.168.1.20:5060" || bs[0].Source != ph.p.local || bs[0].Transport != "udp" {
		t.Errorf("binding %+v, want the private contact reachable at %v", bs, ph.p.local)
	}
}

// TestRegisterQueryAndPath: a REGISTER without Contact lists the bindings (a query);
// Path is stored and echoed to a phone that supports it (RFC 3327 §5.3); an
// unsupported required extension gets 420 (RFC 3261 §8.2.2.3).
func TestRegisterQueryAndPath(t *testing.T) {
	e := newRegEnv(t)
	ph := e.newRegPhone("udp", "agent1", regPassword)
	res := ph.register(regReq{expires: "600", headers: []string{
		"Path: <sip:edge1.example.com;lr>, <sip:edge2.example.com;lr>", "Supported: path", "Require: path"}})
	expectRegCode(t, res, 200)
	if ps := res.GetHeaders("Path"); len(ps) != 2 || ps[0].Value() != "<sip:edge1.example.com;lr>" {
		t.Errorf("Path echoed: %v", ps)
	}
	if bs := e.bindings.Lookup(e.aor("agent1")); len(bs) != 1 || len(bs[0].Path) != 2 {
		t.Errorf("Path stored: %+v", bs)
	}
	res = ph.send(regReq{auth: true, noContact: true})
	expectRegCode(t, res, 200)
	if n := len(regContacts(res)); n != 1 {
		t.Errorf("query lists %d contacts", n)
	}
	e.checkMetric(1, "hotline_sip_registrations_total", "result", "fetched")
	res = ph.send(regReq{auth: true, headers: []string{"Require: gruu, path"}})
	expectRegCode(t, res, 420)
	if h := res.GetHeader("Unsupported"); h == nil || h.Value() != "gruu" {
		t.Errorf("Unsupported %v", h)
	}
	for _, bad := range []regReq{
		{auth: true, expires: "soon"},
		{auth: true, contacts: []string{"<sip:agent1@10.0.0.5>;q=2"}},
		{auth: true, contacts: []string{"<sip:agent1@10.0.0.5>;expires=-1"}},
	} {
		expectRegCode(t, ph.send(bad), 400)
	}
}

// TestRegisterEvents: the ACD hears the agent come online and go offline.
func TestRegisterEvents(t *testing.T) {
	e := newRegEnv(t)
	evs := make(chan registrar.Event, 8)
	stop := e.bindings.Watch(func(ev registrar.Event) { evs <- ev })
	defer stop()
	ph := e.newRegPhone("udp", "agent1", regPassword)
	expectRegCode(t, ph.register(regReq{expires: "600"}), 200)
	expectRegCode(t, ph.send(regReq{expires: "0", auth: true}), 200)
	for _, want := range []registrar.EventKind{registrar.EventOnline, registrar.EventOffline} {
		select {
		case ev := <-evs:
			if ev.Kind != want || ev.AOR != e.aor("agent1") {
				t.Errorf("event %v %s, want %v", ev.Kind, ev.AOR, want)
			}
		case <-time.After(2 * time.Second):
			t.Fatalf("no %v event", want)
		}
	}
}

// TestRegisterConfigErrors: NewServer refuses a registrar without store or
// authenticator.
func TestRegisterConfigErrors(t *testing.T) {
	for name, rc := range map[string]RegistrarConfig{"no store": {}, "no auth": {Bindings: &registrar.Memory{}}} {
		_, err := NewServer(Config{Listen: []Listen{{"udp", "127.0.0.1:0"}}}, regNoMedia{}, HandlerFunc(nil), WithRegistrar(rc))
		if err == nil || !strings.Contains(err.Error(), "registrar") {
			t.Errorf("%s: NewServer error %v", name, err)
		}
	}
}

// regNoMedia is a media engine for servers that never take a call.
type regNoMedia struct{}

func (regNoMedia) NewSession(*slog.Logger) (*media.Session, error) {
	return nil, errors.New("no media in registrar tests")
}
