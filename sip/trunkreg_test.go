package sip

import (
	"net/netip"
	"strconv"
	"testing"
	"time"

	gosip "github.com/emiago/sipgo/sip"
)

func registeringTrunk(a netip.AddrPort) []TrunkConfig {
	tc := carrierTrunk(a)
	tc.Register = RegisterConfig{Enabled: true, RetryBase: 100 * time.Millisecond, RetryMax: 400 * time.Millisecond}
	return []TrunkConfig{tc}
}

// TestTrunkRegister: REGISTER to the carrier (RFC 3261 §10.2) with the account as
// address-of-record and our Contact, the 401 answered with credentials, the granted
// expiry refreshed before it runs out with the same Call-ID and a higher CSeq
// (§10.2.4), a failed refresh retried while the binding still holds, and Expires: 0
// when the server closes. Status and hotline_trunk_registered follow.
func TestTrunkRegister(t *testing.T) {
	e, p := newTrunkEnv(t, registeringTrunk)
	reg := &callee{p: p, tag: randHex(4)}
	first := p.requestAny("REGISTER", waitTimeout)
	wantRURI := "sip:127.0.0.1:" + strconv.Itoa(int(p.local.Port()))
	if first.Recipient.String() != wantRURI || first.From().Address.String() != "sip:15550001111@127.0.0.1" ||
		first.To().Address.String() != first.From().Address.String() {
		t.Errorf("REGISTER %s From %s To %s", first.Recipient.String(), first.From().Value(), first.To().Value())
	}
	ct := first.Contact()
	if ct == nil || ct.Address.User != "15550001111" || ct.Address.Host != "127.0.0.1" || strconv.Itoa(ct.Address.Port) != portString(e.udpAddr) {
		t.Errorf("Contact %v, want the account at our UDP listener %s", ct, e.udpAddr)
	}
	if h := first.GetHeader("Expires"); h == nil || h.Value() != "3600" {
		t.Errorf("Expires %v, want 3600", h)
	}
	chal := `Digest realm="carrier", nonce="r1", algorithm=SHA-256, qop="auth"`
	reg.respondTo(first, 401, "", "WWW-Authenticate: "+chal)
	second := p.request(first.CallID().Value(), "REGISTER", waitTimeout)
	if second.CSeq().SeqNo != first.CSeq().SeqNo+1 {
		t.Errorf("CSeq %d after %d", second.CSeq().SeqNo, first.CSeq().SeqNo)
	}
	checkDigest(t, second.GetHeader("Authorization").Value(), chal, "REGISTER", "s3cret")
	contact := "Contact: <" + ct.Address.String() + ">;expires=1"
	reg.respondTo(second, 200, "", contact)
	waitUntil(t, time.Second, "registered", func() bool {
		st, _ := e.srv.Trunk("carrier")
		return st.Registration != nil && st.Registration.Registered
	})
	e.checkMetric(1, "hotline_trunk_registered", "trunk", "carrier")
	st, _ := e.srv.Trunk("carrier")
	if d := time.Until(st.Registration.Expires); d <= 0 || d > time.Second {
		t.Errorf("expires in %v, want the granted 1 s", d)
	}

	// The refresh comes halfway through the granted second.
	granted := time.Now()
	refresh := p.request(first.CallID().Value(), "REGISTER", 2*time.Second)
	if d := time.Since(granted); d < 300*time.Millisecond || d > 900*time.Millisecond {
		t.Errorf("refresh after %v, want about 500 ms", d)
	}
	if refresh.CSeq().SeqNo <= second.CSeq().SeqNo {
		t.Errorf("refresh CSeq %d", refresh.CSeq().SeqNo)
	}
	reg.respondTo(refresh, 500, "")
	retry := p.request(first.CallID().Value(), "REGISTER", 2*time.Second)
	if st, _ := e.srv.Trunk("carrier"); st.Registration.Failures != 1 || st.Registration.LastStatus != 500 {
		t.Errorf("after a failed refresh: %+v", *st.Registration)
	}
	reg.respondTo(retry, 200, "", "Contact: <"+ct.Address.String()+">;expires=60")
	waitUntil(t, time.Second, "registered again", func() bool {
		st, _ := e.srv.Trunk("carrier")
		return st.Registration.Failures == 0 && time.Until(st.Registration.Expires) > 30*time.Second
	})

	closed := make(chan struct{})
	go func() {
		e.srv.Close()
		close(closed)
	}()
	bye := p.request(first.CallID().Value(), "REGISTER", waitTimeout)
	if h := bye.GetHeader("Expires"); h == nil || h.Value() != "0" {
		t.Errorf("unregister Expires %v, want 0", h)
	}
	reg.respondTo(bye, 200, "")
	<-closed
	e.checkMetric(0, "hotline_trunk_registered", "trunk", "carrier")
}

func portString(hostport string) string {
	ap := netip.MustParseAddrPort(hostport)
	return strconv.Itoa(int(ap.Port()))
}

// TestTrunkRegisterBackoff: a registrar that refuses is retried with growing,
// randomized waits (RFC 5626 §4.5) bounded by retry_max; Retry-After is obeyed.
func TestTrunkRegisterBackoff(t *testing.T) {
	e, p := newTrunkEnv(t, registeringTrunk)
	reg := &callee{p: p, tag: randHex(4)}
	var at []time.Time
	var last *gosip.Request
	for range 4 {
		last = p.requestAny("REGISTER", 2*time.Second)
		at = append(at, time.Now())
		reg.respondTo(last, 403, "")
	}
	// Waits of 50-100 ms, 100-200 ms, 200-400 ms: only the lower bounds are the
	// back-off's (a busy machine can only make them longer).
	for i, lo := range []time.Duration{40 * time.Millisecond, 90 * time.Millisecond, 190 * time.Millisecond} {
		if d := at[i+1].Sub(at[i]); d < lo {
			t.Errorf("wait %d: %v, want at least %v", i+1, d, lo)
		}
	}
	// The fourth 403 is processed on the registration goroutine after we sent it.
	waitUntil(t, 2*time.Second, "the fourth failure recorded", func() bool {
		st, _ := e.srv.Trunk("carrier")
		return st.Registration.Failures >= 4
	})
	st, _ := e.srv.Trunk("carrier")
	if r := st.Registration; r.Registered || r.LastStatus != 403 || r.Failures < 4 || r.LastError == "" {
		t.Errorf("status %+v", *r)
	}
	next := p.requestAny("REGISTER", 2*time.Second)
	start := time.Now()
	reg.respondTo(next, 503, "", "Retry-After: 1")
	p.requestAny("REGISTER", 3*time.Second)
	if d := time.Since(start); d < 900*time.Millisecond {
		t.Errorf("retried %v after Retry-After: 1", d)
	}
	e.checkMetric(0, "hotline_trunk_registered", "trunk", "carrier")
}
