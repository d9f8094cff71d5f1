package sip

import (
	"context"
	"strings"
	"testing"

	gosip "github.com/emiago/sipgo/sip"
)

// hangupAtOnce is a handler that answers nothing: the call ends with 480.
func hangupAtOnce(context.Context, *Call) {}

func TestInboundUnknownSourceForbidden(t *testing.T) {
	e := newEnv(t, withSIP(func(c *Config) { c.Inbound.Trusted = []string{} }))
	e.handler.set(hangupAtOnce)
	p := e.newPeer("udp")
	l := p.newLeg()
	l.invite(g711Offer(40000))
	res := p.final(l.callID, "INVITE")
	if res.StatusCode != 403 {
		t.Fatalf("INVITE from an untrusted source answered %d, want 403", res.StatusCode)
	}
	l.ackFailure(res)
	e.checkMetric(1, "hotline_sip_inbound_rejected_total", "reason", "unknown_source")
	if n := e.handler.count.Load(); n != 0 {
		t.Fatalf("handler ran %d times for a refused call", n)
	}
}

func TestInboundTrunkBySourceRoutesNormalizedNumber(t *testing.T) {
	router, err := NewRouter([]RouteConfig{
		{Number: "+1555NXXXXXX", Trunk: "other", Flow: "wrong"},
		{Number: "+1555NXXXXXX", Trunk: "carrier", Flow: "sales"},
		{Number: "!", Flow: "main"},
	})
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, withSIP(func(c *Config) {
		c.Inbound = InboundConfig{Trusted: []string{}, Trunks: []InboundTrunk{
			{Name: "other", Sources: []string{"192.0.2.0/24"}},
			{Name: "carrier", Sources: []string{"127.0.0.1"}, Hosts: []string{"127.0.0.1"},
				Numbers: NumberPlan{CountryCode: "1", NationalPrefix: "1", InternationalPrefix: "011"}},
		}}
		c.Route = router.Route
	}))
	got := make(chan Info, 1)
	e.handler.set(func(ctx context.Context, c *Call) { got <- c.Info() })
	p := e.newPeer("udp")
	l := p.newLeg()
	l.user = "1-555-234-5678"
	l.invite(g711Offer(40000))
	info := <-got
	if info.Trunk != "carrier" || info.Called != "+15552345678" || info.Flow != "sales" {
		t.Fatalf("Info = trunk %q called %q flow %q, want carrier +15552345678 sales", info.Trunk, info.Called, info.Flow)
	}
	l.ackFailure(p.final(l.callID, "INVITE"))
}

func TestInboundNoRouteNotFound(t *testing.T) {
	router, err := NewRouter([]RouteConfig{{Regex: `^2\d\d$`, Flow: "main"}})
	if err != nil {
		t.Fatal(err)
	}
	refusals := make(chan Refusal, 1)
	e := newEnv(t, withSIP(func(c *Config) { c.Route = router.Route }),
		withOptions(WithRefusedCalls(func(r Refusal) { refusals <- r })))
	e.handler.set(hangupAtOnce)
	p := e.newPeer("tcp")
	l := p.newLeg() // dials 100
	l.invite(g711Offer(40000))
	if res := p.final(l.callID, "INVITE"); res.StatusCode != 404 {
		t.Fatalf("INVITE to an unrouted number answered %d, want 404", res.StatusCode)
	}
	e.checkMetric(1, "hotline_sip_inbound_rejected_total", "reason", "no_route")
	select {
	case r := <-refusals:
		if r.Status != 404 || r.Reason != "no_route" || r.Info.Called != "100" || r.Info.Transport != "tcp" {
			t.Errorf("refusal %+v, want 404 no_route for 100 over tcp", r)
		}
	default:
		t.Error("the unrouted INVITE was not reported to WithRefusedCalls")
	}
}

// TestInboundTrunkDigest: a trunk identified by credentials only gets a 407 with
// MD5 and SHA-256 challenges; the answered INVITE becomes a call of the trunk;
// wrong credentials get a new 407 and are counted.
func TestInboundTrunkDigest(t *testing.T) {
	e := newEnv(t, withSIP(func(c *Config) {
		c.Inbound = InboundConfig{Trusted: []string{}, Trunks: []InboundTrunk{
			{Name: "pbx", Username: "pbx", Password: "s3cret"},
		}}
	}))
	got := make(chan Info, 1)
	e.handler.set(func(ctx context.Context, c *Call) { got <- c.Info() })
	for _, tc := range []struct {
		password string
		want     int
	}{{"wrong", 407}, {"s3cret", 480}} {
		p := e.openPeer(t, "udp")
		l := p.newLeg()
		raw := l.invite(g711Offer(40000))
		res := p.final(l.callID, "INVITE")
		if res.StatusCode != 407 || len(res.GetHeaders("Proxy-Authenticate")) < 2 {
			t.Fatalf("first INVITE answered %d with %d challenges, want 407 with MD5 and SHA-256\n%s", res.StatusCode,
				len(res.GetHeaders("Proxy-Authenticate")), res)
		}
		l.ackFailure(res)
		req, err := gosip.NewParser().ParseSIP(raw)
		if err != nil {
			t.Fatal(err)
		}
		inv := req.(*gosip.Request)
		if err := newAuthenticator(Credentials{Username: "pbx", Password: tc.password}).authorize(inv, res); err != nil {
			t.Fatal(err)
		}
		inv.CSeq().SeqNo = 2
		branch := "z9hG4bK" + randHex(6)
		inv.Via().Params.Remove("branch")
		inv.Via().Params.Add("branch", branch)
		l.inviteCSeq, l.inviteBranch = 2, branch
		p.send([]byte(inv.String()))
		res = p.finalSeq(l.callID, "INVITE", 2)
		if res.StatusCode != tc.want {
			t.Fatalf("password %q: INVITE answered %d, want %d\n%s", tc.password, res.StatusCode, tc.want, res)
		}
		l.ackFailure(res)
		p.close()
	}
	if info := <-got; info.Trunk != "pbx" {
		t.Fatalf("Info.Trunk = %q, want pbx", info.Trunk)
	}
	e.checkMetric(1, "hotline_sip_inbound_rejected_total", "reason", "auth_failed")
}

func TestInboundConfigErrors(t *testing.T) {
	err := ValidateInbound(InboundConfig{Trusted: []string{"nope"}, Trunks: []InboundTrunk{
		{Name: "open"}, {Name: "x", Username: "u"}, {Name: "y", Sources: []string{"10.0.0.0/8"}, SRTP: "maybe"},
	}})
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"trusted", "matches every call", "username and password", "srtp"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %q:\n%v", want, err)
		}
	}
	if _, err := NewRouter([]RouteConfig{{Flow: "x"}, {Number: "1[", Flow: "y"}, {Regex: "("}}); err == nil {
		t.Fatal("bad routes accepted")
	}
}
