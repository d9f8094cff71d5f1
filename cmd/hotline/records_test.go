package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestCallRecordEndToEnd: a SIPp caller presses 2 in the sample flow; the call's
// durable record (through the REST API) says who called, how it went, the path
// through the flow, who hung up and the media quality; its recording is served by
// the API; `hotline calls show` prints its timeline.
func TestCallRecordEndToEnd(t *testing.T) {
	var dataDir string
	te := startEngine(t, engineOptions{flow: "short", configure: func(c *Config) {
		c.Recordings.Calls = true
		dataDir = c.DataDir
	}})
	t.Parallel()

	runSipp(t, te, freeSippPorts(t), sippCall{scenario: "uac_dtmf.xml", replace: pressDigit("2"), pause: 300 * time.Millisecond})
	fin := te.waitLog(t, 5*time.Second, "flow finished", "disposition", "resolved")
	id := fin.str("call_id")

	var rec struct {
		State, Direction, Caller, Called, Transport, Codec, Flow, Disposition string
		FlowVersion                                                           string   `json:"flow_version"`
		HangupCause                                                           string   `json:"hangup_cause"`
		HangupSide                                                            string   `json:"hangup_side"`
		NodePath                                                              []string `json:"node_path"`
		Recordings                                                            []string
		Contained                                                             bool
		Answered                                                              time.Time `json:"answered_at"`
		Quality                                                               struct {
			PacketsSent     int64 `json:"packets_sent"`
			PacketsReceived int64 `json:"packets_received"`
		}
	}
	waitFor(t, 10*time.Second, "the call's record ended", func() bool {
		code, body := apiGet(t, te.httpURL("/api/v1/records/"+id), testAPIToken)
		if code != 200 {
			return false
		}
		if err := json.Unmarshal([]byte(body), &rec); err != nil {
			t.Fatalf("record %s: %v", body, err)
		}
		return rec.State == "ended"
	})
	want := map[string][2]string{
		"direction": {rec.Direction, "inbound"}, "caller": {rec.Caller, "+15551230000"},
		"transport": {rec.Transport, "udp"}, "codec": {rec.Codec, "PCMU"}, "flow": {rec.Flow, "short"},
		"disposition": {rec.Disposition, "resolved"}, "hangup_side": {rec.HangupSide, "engine"},
		"hangup_cause": {rec.HangupCause, "engine_bye"},
	}
	for k, v := range want {
		if v[0] != v[1] {
			t.Errorf("record %s = %q, want %q", k, v[0], v[1])
		}
	}
	if got := strings.Join(rec.NodePath, ">"); !strings.Contains(got, "main_menu>support") {
		t.Errorf("record node_path %q, want the way through main_menu to support", got)
	}
	if rec.FlowVersion == "" || rec.Answered.IsZero() || !rec.Contained {
		t.Errorf("record flow_version %q answered_at %v contained %v", rec.FlowVersion, rec.Answered, rec.Contained)
	}
	if rec.Quality.PacketsSent < 50 { // the prompts: over a second of 20 ms packets
		t.Errorf("record quality %+v: our RTP not counted", rec.Quality)
	}
	if len(rec.Recordings) != 1 {
		t.Fatalf("record recordings %v, want the call's recording", rec.Recordings)
	}
	code, wav := apiGet(t, te.httpURL("/api/v1/recordings/"+rec.Recordings[0]), testAPIToken)
	if code != 200 || !strings.HasPrefix(wav, "RIFF") || len(wav) < 44+8000 {
		t.Errorf("GET the recording: %d, %d bytes", code, len(wav))
	}

	// The CLI reads the same database while the engine runs.
	cfgPath := filepath.Join(t.TempDir(), "hotline.yaml")
	if err := os.WriteFile(cfgPath, []byte("data_dir: "+dataDir+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	root := newRootCmd()
	root.SetOut(&out)
	root.SetArgs([]string{"calls", "show", "-c", cfgPath, id})
	if err := root.Execute(); err != nil {
		t.Fatalf("hotline calls show: %v", err)
	}
	for _, s := range []string{id, "resolved", "main_menu", "support", "+15551230000"} {
		if !strings.Contains(out.String(), s) {
			t.Errorf("hotline calls show does not mention %q:\n%s", s, out.String())
		}
	}
	// The engine hung up: its BYE and the caller's answer close the SIP lines.
	var shown string
	waitFor(t, 10*time.Second, "the engine's BYE in the timeline", func() bool {
		shown = callsShow(t, dataDir, id)
		return strings.Contains(shown, "← 200 OK (BYE)")
	})
	requireInOrder(t, shown, "← INVITE", "→ 200 OK (INVITE)", "← ACK", "main_menu", "→ BYE", "← 200 OK (BYE)")
}

// TestCallsShowSIPMessages: `hotline calls show` prints the SIP messages of a call
// in brief, in order, among its other timeline lines: a SIPp caller that is
// answered and hangs up, and nothing of the OPTIONS probe sent beside it.
func TestCallsShowSIPMessages(t *testing.T) {
	var dataDir string
	te := startEngine(t, engineOptions{configure: func(c *Config) { dataDir = c.DataDir }})
	t.Parallel() // after the engine started: see startEngine

	runSipp(t, te, freeSippPorts(t), sippCall{scenario: "uac_options.xml"})
	runSipp(t, te, freeSippPorts(t), sippCall{scenario: "uac_hangup.xml", pause: time.Second})
	id := te.waitLog(t, 5*time.Second, "call ended", "cause", "caller_bye").str("call_id")

	want := []string{
		"← INVITE", "→ 100 Trying (INVITE)", "→ 200 OK (INVITE)", "← ACK", "← BYE", "→ 200 OK (BYE)",
	}
	var out string
	waitFor(t, 10*time.Second, "the call's SIP messages and quality summary in its timeline", func() bool {
		out = callsShow(t, dataDir, id)
		// The summary is written once the media session has closed, after the 200.
		return strings.Contains(out, "→ 200 OK (BYE)") && strings.Contains(out, "summary")
	})
	requireInOrder(t, out, want...)
	if strings.Contains(out, "OPTIONS") {
		t.Errorf("the timeline shows an OPTIONS probe of another dialog:\n%s", out)
	}
	// The other lines are interleaved with the messages by time, not appended: the
	// record starts after the INVITE arrived, the flow's first node runs before the
	// caller's BYE, the quality summary is written when the call is over.
	requireInOrder(t, out, "← INVITE", "inbound call from", "welcome", "← BYE", "→ 200 OK (BYE)", "summary")
	if !regexp.MustCompile(`← INVITE +sip:5000@127\.0\.0\.1:\d+, from 127\.0\.0\.1:\d+ \(udp\)`).MatchString(out) {
		t.Errorf("the INVITE's line does not give its Request-URI:\n%s", out)
	}
}

// callsShow runs `hotline calls show ID` against the data directory's records.
func callsShow(t *testing.T, dataDir, id string) string {
	t.Helper()
	cfgPath := filepath.Join(t.TempDir(), "hotline.yaml")
	if err := os.WriteFile(cfgPath, []byte("data_dir: "+dataDir+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	root := newRootCmd()
	root.SetOut(&out)
	root.SetArgs([]string{"calls", "show", "-c", cfgPath, id})
	if err := root.Execute(); err != nil {
		t.Fatalf("hotline calls show: %v", err)
	}
	return out.String()
}

// requireInOrder fails unless each of want occurs in out after the previous one.
func requireInOrder(t *testing.T, out string, want ...string) {
	t.Helper()
	rest := out
	for _, w := range want {
		i := strings.Index(rest, w)
		if i < 0 {
			t.Fatalf("%q missing, or not after %v, in:\n%s", w, want, out)
		}
		rest = rest[i+len(w):]
	}
}
