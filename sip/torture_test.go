package sip

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	gosip "github.com/emiago/sipgo/sip"
)

// tortureAnswers are the answers RFC 4475's invalid messages (testdata/torture,
// as sipgo ships them) must get from hotline's validation layer. Messages not
// listed are sent too: they must neither crash the server nor stop it serving.
var tortureAnswers = map[string]int{
	"badvers.dat":    505, // SIP/7.0
	"bext01.dat":     420, // Require: an unknown extension
	"insuf.dat":      400, // Call-ID, From and To missing
	"mismatch01.dat": 400, // CSeq method is not the request's
	"mismatch02.dat": 400,
	"unkscm.dat":     416, // Request-URI scheme unknown
}

// tortureUDPOnly are answered over UDP only: over TCP their framing is ambiguous
// (no or conflicting Content-Length), so the stream is closed instead.
var tortureUDPOnly = map[string]int{
	"mcl01.dat":   400, // two Content-Length values
	"inv2543.dat": 400, // RFC 2543 INVITE: no Max-Forwards
}

// TestTortureMessages sends every RFC 4475 torture message over UDP and over TCP to
// a running server: the invalid ones get the RFC 3261 answer or are dropped and are
// counted; the server never panics, and a normal call right after succeeds.
func TestTortureMessages(t *testing.T) {
	e := newEnv(t)
	e.handler.set(func(ctx context.Context, c *Call) {
		if c.Caller() == "alice" {
			answerAndWait(ctx, c)
		}
	})
	files, err := filepath.Glob("testdata/torture/*/*.dat")
	if err != nil || len(files) < 40 {
		t.Fatalf("torture messages missing in testdata/torture: %d files, %v", len(files), err)
	}
	answered := 0
	for _, tr := range []string{"udp", "tcp"} {
		for _, f := range files {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			name := filepath.Base(f)
			want, ok := tortureAnswers[name]
			if w, udpOnly := tortureUDPOnly[name]; udpOnly && tr == "udp" {
				want, ok = w, true
			}
			p := e.openPeer(t, tr)
			msg := rewriteVia(raw, p)
			p.send(msg)
			if ok {
				in, got := p.take(waitTimeout, func(in inbound) bool {
					r, isRes := in.msg.(*gosip.Response)
					return isRes && r.StatusCode >= 200
				})
				if !got {
					t.Errorf("%s over %s: no answer, want %d", name, tr, want)
				} else if code := in.msg.(*gosip.Response).StatusCode; code != want {
					t.Errorf("%s over %s: answered %d, want %d", name, tr, code, want)
				} else {
					answered++
				}
			}
			p.close()
		}
	}
	if got := e.metric("hotline_sip_malformed_total"); got < float64(answered) {
		t.Errorf("hotline_sip_malformed_total = %v, want at least the %d answered", got, answered)
	}
	for _, tr := range []string{"udp", "tcp"} {
		p := e.newPeer(tr)
		l := p.newLeg()
		l.establish(g711Offer(40000))
		l.hangupByCaller()
	}
}

// rewriteVia points the top Via of a torture message at the test peer, so the
// answer comes back to it (the messages name hosts of RFC 4475's examples).
func rewriteVia(raw []byte, p *peer) []byte {
	lines := strings.Split(string(raw), "\r\n")
	for i, l := range lines {
		if l == "" {
			break
		}
		low := strings.ToLower(l)
		if strings.HasPrefix(low, "via:") || strings.HasPrefix(low, "v:") || strings.HasPrefix(low, "via ") {
			br := "z9hG4bK" + randHex(6)
			if j := strings.Index(low, "branch="); j >= 0 {
				if f := strings.FieldsFunc(l[j+7:], func(r rune) bool { return r == ';' || r == ',' || r == ' ' }); len(f) > 0 {
					br = f[0]
				}
			}
			lines[i] = "Via: SIP/2.0/" + p.transport + " " + p.local.String() + ";rport;branch=" + br
			break
		}
	}
	return []byte(strings.Join(lines, "\r\n"))
}

// TestNonSIPDatagrams: binary datagrams on the SIP port (an RTCP report, an RTP
// packet, a STUN binding request, a byte of 0xff) are dropped and counted as
// not_sip, without an error in the log, and a call right after goes through.
func TestNonSIPDatagrams(t *testing.T) {
	e := newEnv(t)
	e.handler.set(func(ctx context.Context, c *Call) { answerAndWait(ctx, c) })
	rtcp := []byte{0x80, 0xc8, 0x00, 0x06, 0x12, 0x34, 0x56, 0x78, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	rtp := append([]byte{0x80, 0x00, 0x00, 0x01, 0, 0, 0, 160, 0xde, 0xad, 0xbe, 0xef}, make([]byte, 160)...)
	stun := []byte{0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
	p := e.openPeer(t, "udp")
	for _, d := range [][]byte{rtcp, rtp, stun, {0xff}} {
		p.send(d)
	}
	e.checkMetric(4, "hotline_sip_malformed_total", "reason", "not_sip")
	p.close()
	l := e.newPeer("udp").newLeg()
	l.establish(g711Offer(40000))
	l.hangupByCaller()
	if logs := e.logs.String(); strings.Contains(logs, "level=ERROR") {
		t.Errorf("binary datagrams logged as errors:\n%s", logs)
	}
}
