//go:build linux

package main

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hotline-ivr/hotline/media/audio"
)

// The caller's offer in uac_dtmf.xml and the answer it requires, rewritten for a
// caller that prefers PCMA.
var preferPCMA = []string{
	"m=audio [media_port] RTP/AVP 0 8 101", "m=audio [media_port] RTP/AVP 8 0 101",
	`regexp="m=audio [0-9]+ RTP/AVP 0 101"`, `regexp="m=audio [0-9]+ RTP/AVP 8 101"`,
}

// pressDigit rewrites uac_dtmf.xml (or uac_dtmf_skip.xml) to press digit instead of 1.
func pressDigit(digit string) []string {
	if digit == "1" {
		return nil
	}
	return []string{pcapPath("1"), pcapPath(digit)}
}

// TestSampleFlowRoutesDigit is the first call of issue 2, end to end: a caller dials
// the sample flow, is answered with 200 and SDP, hears the greeting, presses a key
// with RFC 4733, hears the department's sentence and goodbye, and the engine hangs up.
func TestSampleFlowRoutesDigit(t *testing.T) {
	cases := []struct {
		name      string
		transport string
		digit     string
		node      string
		pressAt   time.Duration // after the ACK: 3.5 s is during the menu, 1 s during the greeting
		codec     string
		pt        uint8
		rewrite   []string
	}{
		{name: "udp/2_support_during_menu", transport: "u1", digit: "2", node: "support", pressAt: 3500 * time.Millisecond, codec: "PCMU", pt: 0},
		{name: "udp/1_billing_during_greeting", transport: "u1", digit: "1", node: "billing", pressAt: time.Second, codec: "PCMU", pt: 0},
		{name: "tcp/1_billing_pcma", transport: "t1", digit: "1", node: "billing", pressAt: time.Second, codec: "PCMA", pt: 8, rewrite: preferPCMA},
	}
	engines := make([]*testEngine, len(cases))
	for i := range cases {
		engines[i] = startEngine(t, engineOptions{})
	}
	t.Parallel() // after the engines started: see startEngine
	for i, tc := range cases {
		te := engines[i]
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ports := freeSippPorts(t)
			sniff := startSniffer(t, ports.media)

			// The scenario requires 200 OK with the negotiated codec and telephone-event
			// in its SDP, receives the engine's BYE and answers it.
			res := runSipp(t, te, ports, sippCall{
				scenario:  "uac_dtmf.xml",
				replace:   append(pressDigit(tc.digit), tc.rewrite...),
				transport: tc.transport,
				pause:     tc.pressAt,
			})
			if !strings.Contains(res.messages, "BYE sip:") {
				t.Errorf("sipp's message trace shows no BYE from the engine")
			}

			started := te.waitLog(t, 5*time.Second, "call started")
			if got, want := started.str("transport"), map[string]string{"u1": "udp", "t1": "tcp"}[tc.transport]; got != want {
				t.Errorf("call started over %q, want %q", got, want)
			}
			answered := te.waitLog(t, 5*time.Second, "call answered", "codec", tc.codec)
			choice := te.waitLog(t, 5*time.Second, "gather: choice", "node", "main_menu", "digits", tc.digit, "next", tc.node)
			// The key press cut the prompt short (barge-in): the choice was taken when the
			// caller pressed, not when the greeting and the menu had been said (9 s).
			if d := choice.time().Sub(answered.time()); d > tc.pressAt+1500*time.Millisecond {
				t.Errorf("the choice was taken %v after the answer; the caller pressed after %v", d, tc.pressAt)
			}
			te.waitLog(t, 5*time.Second, "flow node", "node", tc.node)
			te.waitLog(t, 5*time.Second, "flow finished", "disposition", "resolved",
				"path", "welcome>main_menu>"+tc.node+">goodbye>end")
			te.waitLog(t, 5*time.Second, "call ended", "cause", "engine_bye")
			te.requireNoLog(t, "BYE failed")
			te.requireNoLog(t, "BYE answered with an error")

			// The department's sentence was heard to its end: the BYE came after it.
			node := te.waitLog(t, time.Second, "flow node", "node", tc.node)
			bye := te.waitLog(t, time.Second, "flow node", "node", "end")
			if d := bye.time().Sub(node.time()); d < 4*time.Second {
				t.Errorf("engine hung up %v after starting the %s sentence; the sentence is longer", d, tc.node)
			}

			// What the caller heard: the greeting in the first second.
			requireAudio(t, sniff.packets(t), audioCheck{
				pt: tc.pt, minPackets: 100, ports: [2]int{te.rtpMin, te.rtpMax},
				speechFrom: 0, speechTo: 50, speechDBFS: -40, speechFrame: 20,
			})
			te.waitIdle(t)
		})
	}
}

// TestCallerHangsUpMidGreeting: the caller's BYE during the greeting gets 200 OK, the
// greeting stops and the call is recorded as abandoned by the caller.
func TestCallerHangsUpMidGreeting(t *testing.T) {
	te := startEngine(t, engineOptions{})
	t.Parallel() // after the engine started: see startEngine
	ports := freeSippPorts(t)
	sniff := startSniffer(t, ports.media)
	runSipp(t, te, ports, sippCall{scenario: "uac_hangup.xml", pause: time.Second})

	te.waitLog(t, 5*time.Second, "caller hung up")
	ended := te.waitLog(t, 5*time.Second, "call ended", "cause", "caller_bye")
	te.waitLog(t, 5*time.Second, "flow finished", "disposition", "abandoned", "path", "welcome")
	te.requireNoLog(t, "flow node", "node", "main_menu")

	// The greeting played until the BYE and not after it.
	pkts := requireAudio(t, sniff.packets(t), audioCheck{
		pt: 0, minPackets: 25, ports: [2]int{te.rtpMin, te.rtpMax},
		speechDBFS: -40, speechFrame: 15,
	})
	requireQuietAfter(t, pkts, ended.time())
	te.waitIdle(t)
}

// TestCancelBeforeAnswer: a flow with early media keeps the call unanswered in 183
// while its announcement plays; the caller hears it, gives up with CANCEL and gets
// 200 for the CANCEL and 487 for the INVITE.
func TestCancelBeforeAnswer(t *testing.T) {
	te := startEngine(t, engineOptions{flow: "early"})
	t.Parallel() // after the engine started: see startEngine
	ports := freeSippPorts(t)
	sniff := startSniffer(t, ports.media)
	res := runSipp(t, te, ports, sippCall{scenario: "uac_cancel.xml", pause: 1500 * time.Millisecond})
	if !strings.Contains(res.messages, "SIP/2.0 487") {
		t.Errorf("sipp's message trace shows no 487")
	}

	te.waitLog(t, 5*time.Second, "caller cancelled before answer")
	ended := te.waitLog(t, 5*time.Second, "call ended", "cause", "cancel")
	te.waitLog(t, 5*time.Second, "flow finished", "disposition", "abandoned", "path", "announcement")
	te.requireNoLog(t, "call answered")

	// The early media reached the caller until it cancelled, and stopped then.
	pkts := requireAudio(t, sniff.packets(t), audioCheck{
		pt: 0, minPackets: 50, ports: [2]int{te.rtpMin, te.rtpMax},
		speechDBFS: -40, speechFrame: 20,
	})
	requireQuietAfter(t, pkts, ended.time())
	te.waitIdle(t)
}

// TestNoCommonCodec: an offer of G.729 only gets 488 with a Warning, and no call.
func TestNoCommonCodec(t *testing.T) {
	te := startEngine(t, engineOptions{flow: "short"})
	t.Parallel() // after the engine started: see startEngine
	ports := freeSippPorts(t)
	res := runSipp(t, te, ports, sippCall{scenario: "uac_no_common_codec.xml"})
	if !regexp.MustCompile(`(?m)^Warning: 305 \S+ "Incompatible media format"`).MatchString(res.messages) {
		t.Errorf("488 without Warning: 305 ... \"Incompatible media format\" (RFC 3261 section 20.43):\n%s", res.messages)
	}
	te.waitLog(t, 5*time.Second, "INVITE rejected: no acceptable media")
	te.requireNoLog(t, "call started")
	requireMetric(t, te.metrics(t), "hotline_sip_responses_total", 1, "method", "INVITE", "code", "488")
	te.waitIdle(t)
}

// TestMalformedSDP: a broken SDP body gets 400 with a Warning and a log line, and the
// engine goes on answering calls.
func TestMalformedSDP(t *testing.T) {
	te := startEngine(t, engineOptions{flow: "short"})
	t.Parallel() // after the engine started: see startEngine
	ports := freeSippPorts(t)
	runSipp(t, te, ports, sippCall{scenario: "uac_bad_sdp.xml"})
	te.waitLog(t, 5*time.Second, "INVITE rejected: malformed SDP")
	te.requireNoLog(t, "call started")

	runSipp(t, te, ports, sippCall{scenario: "uac_dtmf.xml", pause: 300 * time.Millisecond})
	te.waitLog(t, 5*time.Second, "flow finished", "disposition", "resolved", "path", "welcome>main_menu>billing>goodbye>end")
	te.waitIdle(t)
}

// TestLateOfferAndInfoDTMF: an INVITE without SDP is answered with an offer in the
// 200 OK, the caller's answer comes in the ACK, audio flows, and a digit sent as SIP
// INFO (application/dtmf-relay) routes the call.
func TestLateOfferAndInfoDTMF(t *testing.T) {
	te := startEngine(t, engineOptions{flow: "short"})
	t.Parallel() // after the engine started: see startEngine
	ports := freeSippPorts(t)
	sniff := startSniffer(t, ports.media)
	runSipp(t, te, ports, sippCall{scenario: "uac_late_offer_info.xml", pause: time.Second})

	te.waitLog(t, 5*time.Second, "call started", "late_offer", "true")
	te.waitLog(t, 5*time.Second, "gather: choice", "digits", "1", "next", "billing")
	te.waitLog(t, 5*time.Second, "flow finished", "disposition", "resolved", "path", "welcome>main_menu>billing>goodbye>end")
	te.waitLog(t, 5*time.Second, "call ended", "cause", "engine_bye")
	te.requireNoLog(t, "late offer: unusable answer in ACK; ending call")
	requireMetric(t, te.metrics(t), "hotline_sip_responses_total", 1, "method", "INFO", "code", "200")

	requireAudio(t, sniff.packets(t), audioCheck{
		pt: 0, minPackets: 50, ports: [2]int{te.rtpMin, te.rtpMax},
		speechDBFS: -40, speechFrame: 20,
	})
	te.waitIdle(t)
}

// TestHoldAndResume: re-INVITE with a=sendonly is answered a=recvonly and the engine
// stops sending audio; re-INVITE with a=sendrecv is answered a=sendrecv and audio
// comes back; the caller's BYE ends the call.
func TestHoldAndResume(t *testing.T) {
	te := startEngine(t, engineOptions{flow: "wait"})
	t.Parallel() // after the engine started: see startEngine
	ports := freeSippPorts(t)
	sniff := startSniffer(t, ports.media)
	runSipp(t, te, ports, sippCall{scenario: "uac_hold.xml", pause: time.Second})

	te.waitLog(t, 5*time.Second, "call put on hold by caller")
	te.waitLog(t, 5*time.Second, "call resumed by caller")
	te.waitLog(t, 5*time.Second, "call ended", "cause", "caller_bye")

	pkts := requireAudio(t, sniff.packets(t), audioCheck{
		pt: 0, minPackets: 75, ports: [2]int{te.rtpMin, te.rtpMax},
		speechTo: 50, speechDBFS: -40, speechFrame: 10,
	})
	// Held for 2 s: the caller hears nothing from the engine for most of it, then the
	// stream resumes for the last second.
	gap, idx := longestGap(pkts)
	t.Logf("longest silence on the wire: %v before packet %d of %d", gap.Round(time.Millisecond), idx, len(pkts))
	if gap < 1500*time.Millisecond {
		t.Errorf("longest pause in the engine's RTP is %v; on hold for 2 s it must stop sending", gap)
	}
	if after := len(pkts) - idx; after < 10 {
		t.Errorf("%d RTP packets after the resume, want the stream back (about 50 in the last second)", after)
	}
	te.waitIdle(t)
}

// TestOutOfDialogRequests: OPTIONS 200, REGISTER 405 with Allow, an unknown method 501.
func TestOutOfDialogRequests(t *testing.T) {
	te := startEngine(t, engineOptions{flow: "short"})
	t.Parallel() // after the engine started: see startEngine
	ports := freeSippPorts(t)
	res := runSipp(t, te, ports, sippCall{scenario: "uac_methods.xml"})
	for _, want := range []string{"SIP/2.0 200", "SIP/2.0 405", "SIP/2.0 501"} {
		if !strings.Contains(res.messages, want) {
			t.Errorf("sipp's message trace shows no %q", want)
		}
	}
	m := te.metrics(t)
	requireMetric(t, m, "hotline_sip_responses_total", 1, "method", "OPTIONS", "code", "200")
	requireMetric(t, m, "hotline_sip_responses_total", 1, "method", "REGISTER", "code", "405")
	requireMetric(t, m, "hotline_sip_responses_total", 1, "method", "other", "code", "501")
	te.waitIdle(t)
}

// TestRTPTimeout: a caller whose RTP never arrives is hung up with BYE after
// rtp.timeout, though the flow would have waited a minute for a key.
func TestRTPTimeout(t *testing.T) {
	te := startEngine(t, engineOptions{flow: "wait", rtpTimeout: 2 * time.Second})
	t.Parallel() // after the engine started: see startEngine
	ports := freeSippPorts(t)
	runSipp(t, te, ports, sippCall{scenario: "uac_silent.xml"})

	answered := te.waitLog(t, 5*time.Second, "call answered")
	te.waitLog(t, 5*time.Second, "RTP timeout: no media from caller")
	ended := te.waitLog(t, 5*time.Second, "call ended", "cause", "rtp_timeout")
	if d := ended.time().Sub(answered.time()); d < 1500*time.Millisecond || d > 6*time.Second {
		t.Errorf("call ended %v after the answer, want about the 2 s RTP timeout", d)
	}
	requireMetric(t, te.metrics(t), "hotline_calls_ended_total", 1, "cause", "rtp_timeout")
	te.waitIdle(t)
}

// TestHoldLongerThanRTPTimeout: time on hold does not count towards the RTP timeout.
// The caller holds with a=inactive (answered a=inactive) for longer than rtp.timeout,
// resumes and hangs up a second later; the engine must not have ended the call for
// lack of RTP, since the caller was silent for less than the timeout outside the hold.
func TestHoldLongerThanRTPTimeout(t *testing.T) {
	te := startEngine(t, engineOptions{flow: "wait", rtpTimeout: 2 * time.Second})
	t.Parallel() // after the engine started: see startEngine
	ports := freeSippPorts(t)
	// Answer at 0 s, hold at 0.5 s, resume at 2.5 s, BYE at 3.5 s: 1.5 s without RTP
	// outside the hold, 3.5 s in all.
	_, err := execSipp(t, te.udpAddr, ports, sippCall{
		scenario: "uac_hold.xml",
		replace: []string{
			"a=sendonly", "a=inactive",
			`regexp="a=recvonly"`, `regexp="a=inactive"`,
		},
		pause: 500 * time.Millisecond,
	})
	resumed := te.waitLog(t, 10*time.Second, "call resumed by caller")
	ended := te.waitLog(t, 10*time.Second, "call ended")
	if err != nil || ended.str("cause") != "caller_bye" {
		t.Errorf("the call did not last until the caller's BYE: sipp %v; call ended %s after the resume with cause %q, want caller_bye",
			err, ended.time().Sub(resumed.time()).Round(time.Millisecond), ended.str("cause"))
	}
	te.waitLog(t, 5*time.Second, "call put on hold by caller", "direction", "inactive")
	te.waitIdle(t)
}

// TestRetransmittedRequests: the network duplicates a caller's INVITE and the copy
// arrives after the ACK. It belongs to the first transaction (RFC 3261 section
// 17.2.1, RFC 6026 section 7.1): one call, not two.
func TestRetransmittedRequests(t *testing.T) {
	te := startEngine(t, engineOptions{flow: "wait"})
	t.Parallel() // after the engine started: see startEngine
	ports := freeSippPorts(t)
	res := runSipp(t, te, ports, sippCall{scenario: "uac_retransmit.xml", pause: time.Second})

	te.waitLog(t, 5*time.Second, "call ended", "cause", "caller_bye")
	if n := len(te.logs.find("call started")); n != 1 {
		t.Errorf("%d calls started from one INVITE and its retransmission, want 1", n)
	}
	m := te.metrics(t)
	requireMetric(t, m, "hotline_calls_started_total", 1)
	requireMetric(t, m, "hotline_sip_responses_total", 1, "method", "INVITE", "code", "200")
	// The copy got no answer of its own, or the same one: sipp would have failed on a
	// response with another To tag.
	var got []string
	for _, msg := range receivedBySipp(res.messages) {
		first, _, _ := strings.Cut(msg, "\n")
		cseq := regexp.MustCompile(`CSeq: .*`).FindString(msg)
		got = append(got, strings.TrimSpace(first)+" ("+strings.TrimSpace(cseq)+")")
	}
	t.Logf("the caller received: %s", strings.Join(got, ", "))
	if n := len(te.logs.find("caller hung up")); n != 1 {
		t.Errorf("the engine logged %d hang-ups, want 1", n)
	}
	te.waitIdle(t)
}

// receivedBySipp splits sipp's -trace_msg log into the messages it received.
func receivedBySipp(trace string) []string {
	var out []string
	parts := strings.Split(trace, "----------------------------------------------- ")
	for _, p := range parts {
		// "<date> <time>\nUDP message received [356] bytes :\n\n<message>"
		_, rest, _ := strings.Cut(p, "\n")
		head, body, ok := strings.Cut(rest, "\n")
		if !ok || !strings.Contains(head, "message received") {
			continue
		}
		out = append(out, strings.TrimLeft(body, "\r\n"))
	}
	return out
}

// TestReinviteMovesMedia: a re-INVITE that moves the caller's media to another port
// moves the engine's RTP with it, although the engine had latched to the caller's
// old RTP source; the old port hears nothing more.
func TestReinviteMovesMedia(t *testing.T) {
	te := startEngine(t, engineOptions{flow: "wait"})
	t.Parallel() // after the engine started: see startEngine
	exclusiveAudio(t)
	ports := freeSippPorts(t)
	moved := ports.media + 2 // free: freeSippPorts checked media..media+3
	before := startSniffer(t, ports.media)
	after := startSniffer(t, moved)
	runSipp(t, te, ports, sippCall{
		scenario: "uac_move_media.xml",
		pause:    time.Second,
		keys:     map[string]string{"moved_port": strconv.Itoa(moved)},
	})
	te.waitLog(t, 5*time.Second, "gather: choice", "digits", "*", "next", "wait")
	move := te.waitLog(t, 5*time.Second, "caller moved its media", "remote", "127.0.0.1:"+strconv.Itoa(moved))
	te.waitLog(t, 5*time.Second, "call ended", "cause", "caller_bye")

	old := requireAudio(t, before.packets(t), audioCheck{
		pt: 0, minPackets: 10, ports: [2]int{te.rtpMin, te.rtpMax},
		speechTo: 40, speechDBFS: -40, speechFrame: 10,
	})
	requireQuietAfter(t, old, move.time())
	pkts := after.packets(t)
	if len(pkts) < 10 {
		t.Fatalf("%d RTP packets reached the caller's new port %d in the second after the move, want about 50", len(pkts), moved)
	}
	decodeRTP(t, pkts, 0)
	if first := pkts[0].at; first.Before(move.time()) {
		t.Errorf("RTP reached the new port %v before the engine took the re-INVITE", move.time().Sub(first))
	}
	te.waitIdle(t)
}

// TestNoInputTwiceEndsPolitely: a caller who presses nothing hears the menu, a
// reprompt and the menu again, then a goodbye, and the engine hangs up; the call is
// recorded as unresolved.
func TestNoInputTwiceEndsPolitely(t *testing.T) {
	te := startEngine(t, engineOptions{flow: "short"})
	t.Parallel() // after the engine started: see startEngine
	ports := freeSippPorts(t)
	sniff := startSniffer(t, ports.media)
	runSipp(t, te, ports, sippCall{scenario: "uac_silent.xml"})

	te.waitLog(t, 5*time.Second, "gather: no input", "node", "main_menu", "attempt", "1")
	te.waitLog(t, 5*time.Second, "gather: no input", "node", "main_menu", "attempt", "2")
	te.waitLog(t, 5*time.Second, "flow finished", "disposition", "unresolved",
		"path", "welcome>main_menu>no_input_goodbye>hangup_unresolved")
	te.waitLog(t, 5*time.Second, "call ended", "cause", "engine_bye")

	// Speech, then the 2 s wait in silence, then speech again: the caller heard the
	// reprompt and the goodbye after the first silence.
	pkts := requireAudio(t, sniff.packets(t), audioCheck{
		pt: 0, minPackets: 250, ports: [2]int{te.rtpMin, te.rtpMax},
		speechDBFS: -40, speechFrame: 100,
	})
	// Silences are measured in RTP time, not in packets counted: a loaded machine
	// can lose a few of the sniffed datagrams, and a silence must not look shorter
	// for it.
	var spurts int
	lastLoud := pkts[0].hdr.Timestamp - 160 // as if loud just before the first packet
	for _, p := range pkts {
		if audio.DBFS(p.pcm) > -45 {
			if p.hdr.Timestamp-lastLoud >= 76*160 { // 1.5 s of silence (75 frames) ended
				spurts++
			}
			lastLoud = p.hdr.Timestamp
		}
	}
	if spurts < 2 {
		t.Errorf("the caller heard speech after %d long silences, want 2 (reprompt, goodbye)", spurts)
	}
	te.waitIdle(t)
}
