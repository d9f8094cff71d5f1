package main

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestBridgeTransfer: a flow's transfer node in bridge mode calls the target (a SIPp
// callee answering and echoing RTP) with the caller's number, joins the two legs'
// audio, and when the caller hangs up the engine hangs the target up too.
func TestBridgeTransfer(t *testing.T) {
	if _, err := exec.LookPath("sipp"); err != nil {
		t.Fatalf("sipp not found (Debian package sip-tester): %v", err)
	}
	callee := freeSippPorts(t)
	dir := t.TempDir()
	flow := fmt.Sprintf(`name: bridge
description: Transfer every caller to a colleague, bridged.
voice: en-us
start: hello
defaults:
  error: hangup_error
nodes:
  hello:
    say: Connecting you.
    next: colleague
  colleague:
    transfer:
      to: "sip:colleague@127.0.0.1:%d"
      mode: bridge
      timeout: 10s
    next: end
    on: {busy: end, no_answer: end, failed: end}
  end:
    hangup: resolved
  hangup_error:
    hangup: error
`, callee.sip)
	if err := os.WriteFile(filepath.Join(dir, "bridge.yaml"), []byte(flow), 0o644); err != nil {
		t.Fatal(err)
	}
	te := startEngine(t, engineOptions{flow: "bridge", configure: func(c *Config) { c.Flows.Dir = dir }})
	t.Parallel()

	// The target: answers, echoes RTP, waits for our BYE.
	uasDone, out := startSippCallee(t, callee, "-rtp_echo", "-trace_msg", "-message_file", filepath.Join(dir, "uas.log"))

	runSipp(t, te, freeSippPorts(t), sippCall{scenario: "uac_hangup.xml", pause: 4 * time.Second})
	select {
	case err := <-uasDone:
		msgs, _ := os.ReadFile(filepath.Join(dir, "uas.log"))
		if err != nil {
			t.Fatalf("the transfer target (sipp) failed: %v\n%s\n%s", err, tail(out.String(), 3000), tail(string(msgs), 6000))
		}
		if !strings.Contains(string(msgs), "+15551230000") {
			t.Errorf("the target's INVITE does not present the caller's number:\n%s", tail(string(msgs), 3000))
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("the transfer target was not hung up after the caller left:\n%s", tail(out.String(), 3000))
	}
	rec := te.waitLog(t, 5*time.Second, "flow finished")
	if !strings.Contains(rec.str("path"), "hello>colleague") {
		t.Errorf("flow path %q, want hello>colleague", rec.str("path"))
	}
}

// TestBridgeTransferDTMFInfo: across a bridge transfer each leg gets keys the way
// its peer negotiated. The caller (SIPp) negotiated telephone-event and presses 7 as
// RFC 4733 once bridged; the target (SIPp, an old PBX) answered without
// telephone-event, so its scenario expects the key as a SIP INFO with
// application/dtmf-relay and Signal=7 (and fails on anything else).
func TestBridgeTransferDTMFInfo(t *testing.T) {
	if _, err := exec.LookPath("sipp"); err != nil {
		t.Fatalf("sipp not found (Debian package sip-tester): %v", err)
	}
	callee := freeSippPorts(t)
	dir := t.TempDir()
	flow := fmt.Sprintf(`name: bridge
description: Transfer every caller to a PBX that takes DTMF only as SIP INFO.
voice: en-us
start: pbx
defaults:
  error: hangup_error
nodes:
  pbx:
    transfer:
      to: "sip:pbx@127.0.0.1:%d"
      mode: bridge
      timeout: 10s
    next: end
    on: {busy: end, no_answer: end, failed: end}
  end:
    hangup: resolved
  hangup_error:
    hangup: error
`, callee.sip)
	if err := os.WriteFile(filepath.Join(dir, "bridge.yaml"), []byte(flow), 0o644); err != nil {
		t.Fatal(err)
	}
	te := startEngine(t, engineOptions{flow: "bridge", configure: func(c *Config) { c.Flows.Dir = dir }})
	t.Parallel()

	uasDone, out := startSippScenario(t, filepath.Join(sippDir, "info_uas_dtmf.xml"), callee,
		"-rtp_echo", "-trace_msg", "-message_file", filepath.Join(dir, "uas.log"))
	// The caller presses 7 three seconds after the answer: the target answers 200 ms
	// after its INVITE, so the bridge is up by then.
	runSipp(t, te, freeSippPorts(t), sippCall{scenario: "info_uac_dtmf_bridged.xml", pause: 3 * time.Second})
	select {
	case err := <-uasDone:
		msgs, _ := os.ReadFile(filepath.Join(dir, "uas.log"))
		if err != nil {
			t.Fatalf("the INFO-only target (sipp) did not get Signal=7 by SIP INFO: %v\n%s\n%s", err, tail(out.String(), 3000), tail(string(msgs), 6000))
		}
		if strings.Count(string(msgs), "INFO sip:") != 1 {
			t.Errorf("the target got %d INFO requests, want 1:\n%s", strings.Count(string(msgs), "INFO sip:"), tail(string(msgs), 6000))
		}
	case <-time.After(40 * time.Second):
		t.Fatalf("the INFO-only target was not hung up after the caller left:\n%s", tail(out.String(), 3000))
	}
}

// startSippCallee starts SIPp as a callee at ports (sip/testdata/sipp/uas_answer.xml:
// answer, then wait for the engine's BYE), with extra arguments, and waits until it
// holds its SIP port: a loaded machine can take seconds to start it, and an INVITE
// sent before would be lost. done reports SIPp's exit; out is its output, to read once
// it exited.
func startSippCallee(t *testing.T, ports sippPorts, extra ...string) (done <-chan error, out *bytes.Buffer) {
	t.Helper()
	return startSippScenario(t, "../../sip/testdata/sipp/uas_answer.xml", ports, extra...)
}

// startSippScenario is startSippCallee with another callee scenario (a path relative
// to this package).
func startSippScenario(t *testing.T, scenario string, ports sippPorts, extra ...string) (done <-chan error, out *bytes.Buffer) {
	t.Helper()
	src, err := filepath.Abs(scenario)
	if err != nil {
		t.Fatal(err)
	}
	out = &bytes.Buffer{}
	args := append([]string{"-sf", src, "-t", "u1", "-i", "127.0.0.1", "-p", strconv.Itoa(ports.sip),
		"-mi", "127.0.0.1", "-mp", strconv.Itoa(ports.media), "-m", "1", "-nostdin",
		"-timeout", "40s", "-timeout_error"}, extra...)
	uas := exec.Command("sipp", args...)
	uas.Stdout, uas.Stderr = out, out
	if err := uas.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- uas.Wait() }()
	t.Cleanup(func() { _ = uas.Process.Kill() })
	addr := "127.0.0.1:" + strconv.Itoa(ports.sip)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		select {
		case err := <-exited: // Wait returned: out is complete and ours to read
			t.Fatalf("sipp exited before it held %s: %v\n%s", addr, err, tail(out.String(), 3000))
		default:
		}
		c, err := net.ListenPacket("udp", addr)
		if err != nil {
			return exited, out // taken: sipp is listening
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatalf("sipp did not bind %s within 30 s (still running)", addr)
		}
	}
}
