package sip

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestCallerCodecPreference: the answerer honours the offerer's order (RFC 3264 §6.1).
func TestCallerCodecPreference(t *testing.T) {
	e := newEnv(t)
	p := e.newPeer("udp")
	l := p.newLeg()
	ok := l.establish(sdpOffer{port: 40000, formats: []string{fmtPCMA, fmtPCMU, fmtTE}, dir: "sendrecv"}.String())
	checkG711Answer(t, parseSDP(t, ok), "PCMA", 8)
	if c := e.handler.call(t); c.Codec() != "PCMA" {
		t.Errorf("Call.Codec %q, want PCMA", c.Codec())
	}
	l.hangupByCaller()
}

// TestRejectedOffers: what a caller hears when its INVITE cannot become a call. No call
// may be left behind and the handler never runs.
func TestRejectedOffers(t *testing.T) {
	malformed := "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio notaport RTP/AVP 0\r\n"
	cases := []struct {
		name    string
		body    string
		ct      string
		code    int
		warning string // substring of the Warning header; "" when none is required
		log     string // substring of the server log
		reason  string // the Refusal reported to WithRefusedCalls; "": none
	}{
		{"no common codec", sdpOffer{port: 40000, formats: []string{fmtG729}, dir: "sendrecv"}.String(), "", 488, "305", "no acceptable media", "no_acceptable_media"},
		{"malformed SDP", malformed, "", 400, "Malformed SDP", "malformed SDP", "malformed_sdp"},
		{"garbage SDP", "this is not SDP", "", 400, "Malformed SDP", "malformed SDP", "malformed_sdp"},
		{"text body", "hello", "text/plain", 415, "", "body is not SDP", "not_sdp"},
		{"bad content type", g711Offer(40000), "application/", 415, "", "body is not SDP", "not_sdp"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			refusals := make(chan Refusal, 4)
			e := newEnv(t, withOptions(WithRefusedCalls(func(r Refusal) { refusals <- r })))
			p := e.newPeer("udp")
			l := p.newLeg()
			l.inviteSpec(reqSpec{body: tc.body, contentType: tc.ct})
			res := p.final(l.callID, "INVITE")
			if res.StatusCode != tc.code {
				t.Fatalf("INVITE answered %d, want %d\n%s", res.StatusCode, tc.code, res)
			}
			if tc.warning != "" {
				w := res.GetHeader("Warning")
				if w == nil || !strings.Contains(w.Value(), tc.warning) {
					t.Errorf("Warning %v, want one containing %q", w, tc.warning)
				}
			}
			if tc.code == 415 {
				if a := res.GetHeader("Accept"); a == nil || !strings.Contains(a.Value(), "application/sdp") {
					t.Errorf("415 without Accept: application/sdp")
				}
			}
			if tag, _ := res.To().Params.Get("tag"); tag == "" {
				t.Errorf("final response without To tag (RFC 3261 §8.2.6.2)")
			}
			l.ackFailure(res)
			select {
			case r := <-refusals:
				if tc.reason == "" {
					t.Errorf("refusal %+v reported for an INVITE refused before the inbound policy", r)
				} else if r.Status != tc.code || r.Reason != tc.reason || r.Info.CallID != l.callID || r.Info.Transport != "udp" {
					t.Errorf("refusal %+v, want status %d reason %s for call %s over udp", r, tc.code, tc.reason, l.callID)
				}
			default:
				if tc.reason != "" {
					t.Errorf("the refused INVITE was not reported to WithRefusedCalls")
				}
			}
			if !e.logs.contains(tc.log) {
				t.Errorf("log does not mention %q:\n%s", tc.log, e.logs.String())
			}
			if e.handler.count.Load() != 0 || e.srv.ActiveCalls() != 0 || e.eng.PortsInUse() != 0 {
				t.Errorf("rejected INVITE left handler=%d calls=%d ports=%d", e.handler.count.Load(), e.srv.ActiveCalls(), e.eng.PortsInUse())
			}
			e.checkMetric(1, "hotline_sip_responses_total", "method", "INVITE", "code", strconv.Itoa(tc.code))
			// The final response is not retransmitted once ACKed (RFC 3261 §17.2.1).
			time.Sleep(3 * testT1)
			if extra := p.drain(isResponse(l.callID, "INVITE", 0)); len(extra) > 0 {
				t.Logf("%d retransmissions of the final response before the ACK landed", len(extra))
			}
		})
	}
}

// TestRequestChecks: INVITEs refused before any media is allocated.
func TestRequestChecks(t *testing.T) {
	cases := []struct {
		name   string
		spec   reqSpec
		code   int
		header string // header the response must carry
		value  string
	}{
		{"Require 100rel", reqSpec{headers: []string{"Require: 100rel"}}, 420, "Unsupported", "100rel"},
		{"Max-Forwards 0", reqSpec{maxForwards: "0"}, 483, "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			p := e.newPeer("udp")
			l := p.newLeg()
			tc.spec.body = g711Offer(40000)
			l.inviteSpec(tc.spec)
			res := p.final(l.callID, "INVITE")
			if res.StatusCode != tc.code {
				t.Fatalf("INVITE answered %d, want %d", res.StatusCode, tc.code)
			}
			if tc.header != "" {
				if h := res.GetHeader(tc.header); h == nil || !strings.Contains(h.Value(), tc.value) {
					t.Errorf("%s: %v, want %q", tc.header, h, tc.value)
				}
			}
			l.ackFailure(res)
			if e.handler.count.Load() != 0 {
				t.Errorf("handler ran for a refused INVITE")
			}
		})
	}
}

// TestHandlerReturnsWithoutAnswer: a handler that gives up before answering rejects
// the call with 480 (and its ctx ends).
func TestHandlerReturnsWithoutAnswer(t *testing.T) {
	e := newEnv(t)
	e.handler.set(func(ctx context.Context, c *Call) {
		_ = c.Ring(ctx)
	})
	p := e.newPeer("udp")
	l := p.newLeg()
	l.invite(g711Offer(40000))
	p.expect(l.callID, "INVITE", 100)
	ring := p.expect(l.callID, "INVITE", 180)
	res := p.expect(l.callID, "INVITE", 480)
	if a, b := tagOf(ring), tagOf(res); a != b {
		t.Errorf("480 To tag %q differs from 180's %q", b, a)
	}
	l.ackFailure(res)
	c := e.handler.call(t)
	<-c.Done()
	if c.Cause() != causeRejected {
		t.Errorf("cause %q, want %q", c.Cause(), causeRejected)
	}
}

// TestUnusualPtime: a ptime the media engine cannot packetise (25 ms, 150 ms) is a
// recommendation (RFC 8866 §6.4): the call is answered at our ptime, and the answer
// says which.
func TestUnusualPtime(t *testing.T) {
	for _, ptime := range []string{"25", "150"} {
		t.Run(ptime, func(t *testing.T) {
			e := newEnv(t)
			p := e.newPeer("udp")
			rtp := e.newRTPPeer()
			l := p.newLeg()
			offer := g711Offer(rtp.port) + "a=ptime:" + ptime + "\r\n"
			ok := l.establish(offer)
			ans := parseSDP(t, ok)
			if v, _ := ans.Media[0].Attr("ptime"); v != "20" {
				t.Errorf("answer a=ptime:%s, want 20", v)
			}
			rtp.waitPackets(t, 5, 2*time.Second)
			l.hangupByCaller()
		})
	}
}

// TestWarningHeaderIsSafe: error text quoted from a caller's body cannot break out of
// the Warning header.
func TestWarningHeaderIsSafe(t *testing.T) {
	h := warning(399, "host", "bad \"line\"\r\nX-Injected: 1\x00\\"+strings.Repeat("x", 500))
	v := h.Value()
	if strings.ContainsAny(v, "\r\n\x00\\") || strings.Count(v, `"`) != 2 || len(v) > 230 {
		t.Errorf("unsafe Warning value %q", v)
	}
	if !strings.HasPrefix(v, `399 host "bad 'line'`) {
		t.Errorf("Warning value %q", v)
	}
}
