package sip

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	gosip "github.com/emiago/sipgo/sip"
)

// FuzzInvite sends arbitrary extra headers and an arbitrary body in an INVITE to a real
// server over UDP, plays the caller's part of whatever follows (ACK, answer in the ACK
// for a late offer, 200 to the BYE) and checks that no input panics the server or
// leaves a call or RTP port behind. Seeds in testdata/fuzz/FuzzInvite hold valid and
// malformed SDP and header variants.
func FuzzInvite(f *testing.F) {
	// Fuzzing runs one process per worker, each with its own engine: give each a
	// slice of the package's port range so they do not race for the same ports.
	slice := os.Getpid() % 16
	lo := testPortMin + slice*62
	// Tiny SIP timers: an input may legitimately cost an ACK timeout or a BYE timeout
	// (a fuzzed From tag our ACK no longer matches, a Record-Route to nowhere), and
	// every exec must stay short for the fuzzing engine.
	const t1 = 5 * time.Millisecond
	e := newEnv(f, withPorts(lo, lo+60), withSIP(func(c *Config) { c.T1, c.T2 = t1, 8*t1 }))
	e.handler.set(func(ctx context.Context, c *Call) {
		if c.Answer(ctx) == nil {
			_ = c.Hangup(ctx)
		}
	})
	n := 0
	f.Fuzz(func(t *testing.T, headers string, body []byte) {
		n++
		p := e.openPeer(t, "udp")
		defer p.close()
		l := p.newLeg()
		l.callID = fmt.Sprintf("fuzz-%d-%s", n, l.callID)
		raw := l.build(reqSpec{method: "INVITE", cseq: 1, noToTag: true, branch: "z9hG4bKfuzz" + randHex(6)})
		// Splice the fuzzed headers and body in before the blank line.
		head, _, _ := strings.Cut(string(raw), "Content-Length: 0\r\n\r\n")
		var b strings.Builder
		b.WriteString(head)
		for _, h := range strings.Split(headers, "\n") {
			h = strings.TrimRight(h, "\r")
			if h != "" {
				b.WriteString(h + "\r\n")
			}
		}
		if len(body) > 0 {
			b.WriteString("Content-Type: application/sdp\r\n")
		}
		fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n", len(body))
		b.Write(body)
		msg := []byte(b.String())
		if _, err := gosip.NewParser().ParseSIP(msg); err != nil {
			return // sipgo's transport drops what it cannot parse: nothing reaches us
		}
		p.send(msg)

		// Play the caller until the exchange is over.
		final, ok := p.take(300*time.Millisecond, func(in inbound) bool {
			res, ok := in.msg.(*gosip.Response)
			return ok && res.StatusCode >= 200 && res.CSeq() != nil && res.CSeq().MethodName == gosip.INVITE
		})
		if ok {
			res := final.msg.(*gosip.Response)
			t.Logf("answered %d %s %v", res.StatusCode, res.Reason, res.GetHeader("Warning"))
			l.callID = res.CallID().Value()
			if res.StatusCode < 300 {
				l.learn(res)
				answer := ""
				if len(body) == 0 { // late offer: the 200 carries ours
					answer = g711Offer(40000)
				}
				l.ack(res.CSeq().SeqNo, answer)
				if bye, ok := p.take(64*t1+300*time.Millisecond, isRequest(l.callID, "BYE")); ok {
					p.reply(bye.msg.(*gosip.Request), 200)
				}
			} else {
				l.ackFailure(res)
			}
		}
		deadline := time.Now().Add(2*64*t1 + 2*time.Second)
		for e.srv.ActiveCalls() != 0 || e.eng.Sessions() != 0 {
			if time.Now().After(deadline) {
				t.Fatalf("input left %d calls and %d RTP sessions behind:\n%s", e.srv.ActiveCalls(), e.eng.Sessions(), b.String())
			}
			time.Sleep(5 * time.Millisecond)
		}
	})
}
