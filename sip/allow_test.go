package sip

import "testing"

// TestAllowsInfo: a caller whose INVITE lists its methods without INFO is known
// not to take keys as INFO; one listing INFO, or sending no Allow, is.
func TestAllowsInfo(t *testing.T) {
	cases := []struct {
		name    string
		headers []string
		want    bool
	}{
		{"no Allow", nil, true},
		{"Allow with INFO", []string{"Allow: INVITE, ACK, BYE, CANCEL, info"}, true},
		{"Allow without INFO", []string{"Allow: INVITE, ACK, BYE, CANCEL, OPTIONS"}, false},
		{"two Allow headers", []string{"Allow: INVITE, ACK", "Allow: BYE, INFO"}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			p := e.newPeer("udp")
			l := p.newLeg()
			l.invite(g711Offer(40000), tc.headers...)
			res := p.final(l.callID, "INVITE")
			if res.StatusCode != 200 {
				t.Fatalf("INVITE answered %d, want 200", res.StatusCode)
			}
			l.learn(res)
			l.ack(0, "")
			if got := e.handler.call(t).AllowsInfo(); got != tc.want {
				t.Errorf("AllowsInfo = %v, want %v", got, tc.want)
			}
			l.hangupByCaller()
		})
	}
}

func TestAllowsMethod(t *testing.T) {
	if !allowsMethod("INVITE,ACK , Info", "INFO") || allowsMethod("INVITE, INFORMATION", "INFO") || allowsMethod("", "INFO") {
		t.Error("allowsMethod misreads a method list")
	}
}
