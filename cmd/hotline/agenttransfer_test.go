//go:build linux

package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hotline-ivr/hotline/sip"
)

// The ACD of TestAgentTransfer: alice (1001) answers the care queue; bob (1002) is
// on break, so queue calls never ring him, but transfers do.
const transferACD = `engine:
  interval: 15m
  timezone: UTC
agents:
  - {id: alice, name: Alice Martin, extension: "1001", presence: available}
  - {id: bob, name: Bob Chen, extension: "1002", presence: break}
queues:
  care:
    strategy: longest_idle
    max_wait: 2m
    ring_timeout: 15s
    wrap_up: 1s
`

const toneBob = 1300.0

// TestAgentTransfer is issue 6's agent transfers through the real engine: a SIPp
// caller (500 Hz) queued in care is answered by alice's baresip phone (900 Hz).
// (a) An attended transfer to bob through the API: the caller hears music on hold
// (neither alice nor bob) while alice and bob (1300 Hz, a second baresip) talk;
// complete hands the caller to bob and ends alice's call; the queue's figures count
// one TRANSFER. (b) bob's phone sends a REFER (baresip's transfer command) to
// alice's extension: the phone gets its NOTIFY, alice's phone rings again and the
// caller talks to her. The audio checks count 20 ms frames where a party's tone is
// present (flow, not quality).
func TestAgentTransfer(t *testing.T) {
	requireAgentTool(t, "baresip", "baresip-core")
	requireAgentTool(t, "sox", "sox")
	if _, err := exec.LookPath("sipp"); err != nil {
		t.Fatalf("sipp not found (Debian package sip-tester): %v", err)
	}
	acdFile := filepath.Join(t.TempDir(), "acd.yaml")
	if err := os.WriteFile(acdFile, []byte(transferACD), 0o644); err != nil {
		t.Fatal(err)
	}
	var recDir string
	te := startEngine(t, engineOptions{flow: "queue", configure: func(c *Config) {
		c.SIP.Users = map[string]SIPUser{"1001": {Password: "pw-1001"}, "1002": {Password: "pw-1002"}}
		c.ACD.File = acdFile
		c.Recordings.Calls = true
		recDir = c.recordingsDir()
	}})
	t.Parallel()
	exclusiveAudio(t)
	dir := t.TempDir()
	alice, _ := startCtrlPhone(t, te.udpAddr, "1001", "pw-1001", toneWAV(t, dir, "alice", toneAgent))
	bob, bobCtrl := startCtrlPhone(t, te.udpAddr, "1002", "pw-1002", toneWAV(t, dir, "bob", toneBob))
	waitFor(t, 20*time.Second, "alice's and bob's phones registered", func() bool {
		return len(te.people.bindings.Lookup(te.sip.AOR("1001"))) > 0 && len(te.people.bindings.Lookup(te.sip.AOR("1002"))) > 0
	})
	waitFor(t, 10*time.Second, "alice available", func() bool {
		code, body := apiGet(t, te.httpURL("/api/v1/queues/care"), testAPIToken)
		return code == 200 && strings.Contains(body, `"agents_available":1`)
	})

	voice := toneULaw(t, dir, toneCaller)
	done := streamingCaller(t, te, voice, 80*time.Second)
	id := waitOnlyCall(t, te, 15*time.Second, "the caller in the queue", "", "")
	te.waitLog(t, 20*time.Second, "telephony: bridged", "call_id", id)
	xfer := func(path, body string) (int, string) {
		return apiDo(t, "POST", te.httpURL("/api/v1/calls/"+id+path), testAPIToken, body)
	}
	if code, body := xfer("/transfer/complete", ""); code != 409 {
		t.Errorf("complete without a transfer: %d %s, want 409", code, body)
	}
	time.Sleep(2 * time.Second) // caller and alice talk

	// (a) Attended transfer to bob through the API.
	if code, body := xfer("/transfer", `{"to":"bob","mode":"attended"}`); code != 202 {
		t.Fatalf("attended transfer: %d %s, want 202", code, body)
	}
	consult := te.waitLog(t, 20*time.Second, "telephony: attended transfer: target answered; agent consulting", "call_id", id).time()
	time.Sleep(3 * time.Second) // alice and bob talk, the caller hears music
	completeAt := time.Now()
	if code, body := xfer("/transfer/complete", ""); code != 204 {
		t.Fatalf("complete: %d %s, want 204", code, body)
	}
	te.waitLog(t, 10*time.Second, "telephony: transfer: caller bridged to the target", "call_id", id)
	te.waitLog(t, 10*time.Second, "telephony: agent leg hung up", "call_id", id, "agent", "alice")
	// The ACD's event log has the TRANSFER, and alice's talk time ends with it.
	waitFor(t, 10*time.Second, "care's figures count one answered call and one transfer", func() bool {
		f := te.people.acd.Today("care")
		return f.Answered == 1 && f.Transfers == 1
	})
	bridgedAt := te.waitLog(t, time.Second, "telephony: bridged", "call_id", id).time()
	completedAt := te.waitLog(t, time.Second, "telephony: attended transfer completed", "call_id", id).time()
	time.Sleep(3 * time.Second) // the caller and bob talk
	referAt := time.Now()

	// (b) Blind transfer by REFER from bob's phone to alice's extension.
	ctrlCommand(t, bobCtrl, "transfer", "1001")
	te.waitLog(t, 15*time.Second, "telephony: REFER taken", "call_id", id)
	te.waitLogs(t, 20*time.Second, 2, "telephony: transfer: caller bridged to the target", "call_id", id)
	time.Sleep(2 * time.Second) // the caller and alice talk again

	if code, body := apiDo(t, "POST", te.httpURL("/api/v1/calls/"+id+"/hangup"), testAPIToken, ""); code != 204 {
		t.Fatalf("hang up: %d %s", code, body)
	}
	if err := <-done; err != nil {
		t.Fatalf("the caller's call failed: %v", err)
	}
	left := te.waitLog(t, 10*time.Second, "telephony: left queue", "call_id", id)
	talk, _ := left["talk"].(float64) // ns
	if left.str("end") != "transfer" || left.str("agent") != "alice" || time.Duration(talk) > completedAt.Sub(bridgedAt)+100*time.Millisecond {
		t.Errorf("left queue %v: want end transfer, agent alice, talk at most the %v from bridge to transfer", left, completedAt.Sub(bridgedAt))
	}

	// What the caller heard: the right channel of the engine's recording.
	var rec struct {
		Recordings []string
		AnsweredAt time.Time `json:"answered_at"`
	}
	endedRecord(t, te, id, &rec)
	heard, rate, at := callerHeard(t, recDir, rec.Recordings, rec.AnsweredAt)
	consulting := heard[at(consult.Add(500*time.Millisecond)):at(completeAt.Add(-500*time.Millisecond))]
	expectTones(t, "the caller, consulting", consulting, rate, map[float64]bool{toneAgent: false, toneBob: false})
	loud, levels := 0, frameLevels(consulting, rate)
	for _, l := range levels {
		if l > -40 {
			loud++
		}
	}
	if loud < len(levels)/2 { // music on hold, never silence
		t.Errorf("the caller, consulting: sound in %d of %d frames; want music on hold", loud, len(levels))
	}
	// A second's margin at each end: the recording's timeline and the test's clock
	// drift apart when a loaded machine stalls the engine's media clock.
	expectTones(t, "the caller, transferred to bob", heard[at(completeAt.Add(time.Second)):at(referAt.Add(-time.Second))], rate,
		map[float64]bool{toneBob: true, toneAgent: false})
	expectTones(t, "the caller, whole call", heard, rate, map[float64]bool{toneAgent: true, toneBob: true})

	bobHeard, brate := readMonoWAV(t, dumpOf(t, bob, "bob"))
	expectTones(t, "bob", bobHeard, brate, map[float64]bool{toneAgent: true, toneCaller: true})
	alice.quit()
	dumps := dumpsOf(t, alice)
	if len(dumps) != 2 {
		t.Errorf("alice's phone wrote %d call dumps, want 2 (answering the queue, then the REFER's transfer)", len(dumps))
	}
	for _, p := range dumps {
		heard, r := readMonoWAV(t, p)
		expectTones(t, "alice ("+filepath.Base(p)+")", heard, r, map[float64]bool{toneCaller: true})
	}
	te.waitIdle(t)
}

// TestAgentTransferToNumber: blind transfers to numbers go through
// acd.callback_trunk and its allow list. alice transfers a SIPp caller (500 Hz)
// through the API to a number the trunk does not allow: nobody is reached, so the
// caller is queued in care again and alice answers a second time; then to an
// allowed number, a SIPp callee behind the trunk echoing its audio: the caller hears
// their own tone back, and the queue's figures count two transfers.
func TestAgentTransferToNumber(t *testing.T) {
	requireAgentTool(t, "baresip", "baresip-core")
	requireAgentTool(t, "sox", "sox")
	requireAgentTool(t, "sipp", "sip-tester")
	customer := freeSippPorts(t)
	var recDir string
	te := startEngine(t, engineOptions{flow: "queue", configure: func(c *Config) {
		c.SIP.Users = map[string]SIPUser{agentExt: {Password: agentPass}}
		c.ACD.File = agentACDFile
		c.SIP.Trunks = []sip.TrunkConfig{{Name: "carrier", Host: "127.0.0.1", Port: customer.sip, Allow: []string{"+1555999."}}}
		c.ACD.CallbackTrunk = "carrier"
		c.Recordings.Calls = true
		recDir = c.recordingsDir()
	}})
	t.Parallel()
	exclusiveAudio(t)
	dir := t.TempDir()
	alice, _ := startCtrlPhone(t, te.udpAddr, agentExt, agentPass, toneWAV(t, dir, "alice", toneAgent))
	waitFor(t, 20*time.Second, "alice's phone registered", func() bool {
		return len(te.people.bindings.Lookup(te.sip.AOR(agentExt))) > 0
	})
	uasDone, uasOut := startSippCallee(t, customer, "-rtp_echo")
	voice := toneULaw(t, dir, toneCaller)
	done := streamingCaller(t, te, voice, 50*time.Second)
	id := waitOnlyCall(t, te, 15*time.Second, "the caller in the queue", "", "")
	te.waitLog(t, 20*time.Second, "telephony: bridged", "call_id", id)
	xfer := func(body string) {
		t.Helper()
		if code, resp := apiDo(t, "POST", te.httpURL("/api/v1/calls/"+id+"/transfer"), testAPIToken, body); code != 202 {
			t.Fatalf("transfer %s: %d %s, want 202", body, code, resp)
		}
	}
	if code, body := apiDo(t, "POST", te.httpURL("/api/v1/calls/"+id+"/transfer"), testAPIToken, `{"to":"care","mode":"attended"}`); code != 400 {
		t.Errorf("attended transfer to a queue: %d %s, want 400", code, body)
	}
	time.Sleep(time.Second)
	xfer(`{"to":"+4420700000","mode":"blind"}`) // not in the trunk's allow list
	te.waitLog(t, 10*time.Second, "acd: transfer target not reached; queued again", "call_id", id)
	te.waitLogs(t, 20*time.Second, 2, "telephony: bridged", "call_id", id) // alice again
	time.Sleep(time.Second)
	transferAt := time.Now()
	xfer(`{"to":"+15559990001","mode":"blind"}`)
	te.waitLog(t, 15*time.Second, "agent transfer: the number answered", "call_id", id)
	te.waitLog(t, 10*time.Second, "telephony: transfer: caller bridged to the target", "call_id", id)
	time.Sleep(3 * time.Second) // the caller hears their echo
	endAt := time.Now()
	waitFor(t, 10*time.Second, "care's figures count two transfers", func() bool {
		f := te.people.acd.Today("care")
		return f.Answered == 2 && f.Transfers == 2
	})
	if code, body := apiDo(t, "POST", te.httpURL("/api/v1/calls/"+id+"/hangup"), testAPIToken, ""); code != 204 {
		t.Fatalf("hang up: %d %s", code, body)
	}
	if err := <-done; err != nil {
		t.Fatalf("the caller's call failed: %v", err)
	}
	select {
	case err := <-uasDone:
		if err != nil {
			t.Fatalf("the callee (sipp) failed: %v\n%s", err, tail(uasOut.String(), 3000))
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("the callee was not hung up:\n%s", tail(uasOut.String(), 3000))
	}
	var rec struct {
		Recordings []string
		AnsweredAt time.Time `json:"answered_at"`
	}
	endedRecord(t, te, id, &rec)
	heard, rate, at := callerHeard(t, recDir, rec.Recordings, rec.AnsweredAt)
	expectTones(t, "the caller, transferred to the number", heard[at(transferAt.Add(1500*time.Millisecond)):at(endAt)], rate,
		map[float64]bool{toneCaller: true, toneAgent: false})
	alice.quit()
	if n := len(dumpsOf(t, alice)); n != 2 {
		t.Errorf("alice's phone wrote %d call dumps, want 2 (before and after the failed transfer)", n)
	}
	te.waitIdle(t)
}

// dumpsOf lists every call dump a stopped phone wrote.
func dumpsOf(t *testing.T, ph *agentPhone) []string {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(ph.dir, "dump-*-dec.wav"))
	return m
}

// startCtrlPhone is startTonePhone that also returns its ctrl_tcp port, to drive
// it (transfer).
func startCtrlPhone(t *testing.T, engineUDP, ext, pass, source string) (*agentPhone, int) {
	t.Helper()
	sipPort, rtp := freeAgentPort(t), freeAgentPort(t)
	return startBaresip(t, baresipConfig{dir: t.TempDir(), sipPort: sipPort, rtpFirst: rtp, rtpPorts: 10, engineUDP: engineUDP,
		ext: ext, pass: pass, source: source, seconds: 90, label: "baresip " + ext, logTail: 3000})
}

// ctrlCommand sends one ctrl_tcp command (a netstring of JSON) to baresip.
func ctrlCommand(t *testing.T, port int, cmd, params string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), 5*time.Second)
	if err != nil {
		t.Fatalf("baresip ctrl_tcp: %v", err)
	}
	defer c.Close()
	msg := fmt.Sprintf(`{"command":%q,"params":%q,"token":"x1"}`, cmd, params)
	if _, err := fmt.Fprintf(c, "%d:%s,", len(msg), msg); err != nil {
		t.Fatalf("baresip ctrl_tcp: %v", err)
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 4096)
	n, _ := c.Read(buf)
	t.Logf("baresip %s %s: %s", cmd, params, buf[:n])
}
