//go:build linux

package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hotline-ivr/hotline/internal/chromium"
	"github.com/hotline-ivr/hotline/media/audio"
)

// Browser callers through the real engine: headless Chromium (internal/chromium)
// opens the engine's /call page, its fake microphone plays a WAV, and the call runs
// the speech flow (testdata/flows/speech.yaml) like a SIP call: WebRTC endpoint,
// flow runtime, PocketSphinx, call records. Issue 7, item 6.

const (
	// browserFlowGuard bounds a browser call from the click to "flow finished": the
	// prompt, up to three 8 s menu attempts and the goodbye. A hang guard.
	browserFlowGuard = 60 * time.Second
	// pageState is the /call page's state, shown when a wait fails.
	pageState = `JSON.stringify(window.hotline ? {state: hotline.state, connection: hotline.connection, errors: hotline.errors, digits: hotline.digitsSent} : null)`
)

// browserRecord is what these tests read of a call's record.
type browserRecord struct {
	State, Transport, Codec, Flow, Disposition, Caller string
	HangupSide                                         string   `json:"hangup_side"`
	NodePath                                           []string `json:"node_path"`
}

// micWAV writes the fake microphone's WAV into dir: lead of silence, then text
// spoken by espeak-ng (none when text is ""), then tail of silence. Chromium loops
// the file, so the caller says text again every cycle.
func micWAV(t *testing.T, dir, text string, lead, tail time.Duration) string {
	t.Helper()
	rate := 22050
	var speech []int16
	if text != "" {
		bin, err := exec.LookPath("espeak-ng")
		if err != nil {
			t.Fatalf("espeak-ng is required for the browser tests' fake microphone: install it with `apt-get install espeak-ng`: %v", err)
		}
		out, err := exec.Command(bin, "-v", "en-us", "-s", "140", "--stdout", text).Output()
		if err != nil {
			t.Fatalf("espeak-ng %q: %v", text, err)
		}
		if speech, rate, err = audio.ReadWAV(bytes.NewReader(out)); err != nil {
			t.Fatalf("espeak-ng's WAV: %v", err)
		}
	}
	samples := func(d time.Duration) int { return int(int64(rate) * int64(d) / int64(time.Second)) }
	pcm := make([]int16, 0, samples(lead)+len(speech)+samples(tail))
	pcm = append(pcm, make([]int16, samples(lead))...)
	pcm = append(pcm, speech...)
	pcm = append(pcm, make([]int16, samples(tail))...)
	path := filepath.Join(dir, "mic.wav")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := audio.WriteWAV(f, pcm, rate); err != nil {
		t.Fatalf("writing %s: %v", path, err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// browserCall opens the engine's /call page in headless Chromium with wav as the
// microphone, clicks Call and waits until the engine has answered.
func browserCall(t *testing.T, te *testEngine, wav string) *chromium.Page {
	t.Helper()
	_, page := chromium.Start(t, te.httpURL("/call"), wav)
	page.Diagnostic = pageState
	page.Wait(t, "the page loaded", `document.readyState === "complete" && !!window.hotline`)
	page.Click(t, "#call")
	page.Wait(t, "ICE connected", `hotline.connection === "connected"`)
	page.Wait(t, "answered", `hotline.state === "answered"`)
	return page
}

// browserFinished waits for the browser call's flow to finish and returns its
// record once the record says the call ended; the page must see the engine hang up.
func browserFinished(t *testing.T, te *testEngine, page *chromium.Page) (logRecord, browserRecord) {
	t.Helper()
	fin := te.waitLog(t, browserFlowGuard, "flow finished")
	id := fin.str("call_id")
	if id == "" {
		t.Fatalf("flow finished without a call_id: %v", fin)
	}
	page.Wait(t, "the page shows the call ended", `hotline.state === "ended"`)
	var rec browserRecord
	waitFor(t, 10*time.Second, "the browser call's record ended", func() bool {
		code, body := apiGet(t, te.httpURL("/api/v1/records/"+id), testAPIToken)
		if code != 200 {
			return false
		}
		if err := json.Unmarshal([]byte(body), &rec); err != nil {
			t.Fatalf("record %s: %v", body, err)
		}
		return rec.State == "ended"
	})
	te.waitIdle(t)
	return fin, rec
}

// checkBrowserRecord compares a browser call's record with what the flow did.
func checkBrowserRecord(t *testing.T, rec browserRecord, wantPath string) {
	t.Helper()
	want := map[string][2]string{
		"transport": {rec.Transport, "webrtc"}, "flow": {rec.Flow, "speech"},
		"disposition": {rec.Disposition, "resolved"}, "codec": {rec.Codec, "opus/48000"},
		"hangup_side": {rec.HangupSide, "engine"},
	}
	for k, v := range want {
		if v[0] != v[1] {
			t.Errorf("record %s = %q, want %q", k, v[0], v[1])
		}
	}
	if got := strings.Join(rec.NodePath, ">"); !strings.Contains(got, wantPath) {
		t.Errorf("record node_path %q, want it through %s", got, wantPath)
	}
}

// TestBrowserSpeechMenu: a browser caller says "billing" into the /call page's
// microphone (an espeak-ng WAV after silence, looped by Chromium); the engine's speech
// menu recognizes it (PocketSphinx, grammar mode, the caller's Opus audio resampled)
// and routes to the billing node; the call record says webrtc and the path.
func TestBrowserSpeechMenu(t *testing.T) {
	wav := micWAV(t, t.TempDir(), "billing", 2500*time.Millisecond, 1500*time.Millisecond)
	// Not parallel: with a dozen engines and browsers sharing two cores, Chromium's
	// fake microphone and the Opus path starve and the recognizer hears stutter (it
	// heard nothing three times in a full `make test` run). Alone it hears "billing".
	te := startEngine(t, engineOptions{flow: "speech"})

	page := browserCall(t, te, wav)
	choice := te.waitLog(t, browserFlowGuard, "menu: choice", "node", "main_menu")
	if choice.str("key") != "1" || choice.str("next") != "billing" || choice.str("speech") == "" {
		t.Errorf("menu choice %v, want key 1 by speech to billing", choice)
	}
	fin, rec := browserFinished(t, te, page)
	if p := fin.str("path"); !strings.Contains(p, "main_menu>billing") || fin.str("disposition") != "resolved" {
		t.Errorf("flow finished %v, want resolved through main_menu>billing", fin)
	}
	checkBrowserRecord(t, rec, "main_menu>billing")
}

// TestBrowserKeypadMenu: a silent browser caller presses 2 on the /call page's keypad
// (RFC 4733 from RTCDTMFSender); the same menu routes to support by the digit.
func TestBrowserKeypadMenu(t *testing.T) {
	wav := micWAV(t, t.TempDir(), "", time.Second, 0)
	te := startEngine(t, engineOptions{flow: "speech"})
	t.Parallel()

	page := browserCall(t, te, wav)
	page.Click(t, `#keypad [data-digit="2"]`)
	page.Wait(t, "the digit sent", `hotline.digitsSent === "2"`)
	choice := te.waitLog(t, browserFlowGuard, "menu: choice", "node", "main_menu")
	if choice.str("key") != "2" || choice.str("next") != "support" || choice.str("speech") != "" {
		t.Errorf("menu choice %v, want key 2 by keypad to support", choice)
	}
	fin, rec := browserFinished(t, te, page)
	if p := fin.str("path"); !strings.Contains(p, "main_menu>support") || fin.str("disposition") != "resolved" {
		t.Errorf("flow finished %v, want resolved through main_menu>support", fin)
	}
	checkBrowserRecord(t, rec, "main_menu>support")
}

// TestBrowserCallerHangsUp: a browser caller hangs up (the page's Hang up button)
// while the menu waits; the flow ends abandoned, the record says the caller hung up,
// and the engine releases the call's media.
func TestBrowserCallerHangsUp(t *testing.T) {
	wav := micWAV(t, t.TempDir(), "", time.Second, 0)
	te := startEngine(t, engineOptions{flow: "speech"})
	t.Parallel()

	page := browserCall(t, te, wav)
	te.waitLog(t, browserFlowGuard, "flow node", "node", "main_menu")
	page.Click(t, "#hangup")
	fin := te.waitLog(t, browserFlowGuard, "flow finished")
	if fin.str("disposition") != "abandoned" {
		t.Errorf("flow finished %v, want abandoned", fin)
	}
	id := fin.str("call_id")
	var rec browserRecord
	var cause string
	waitFor(t, 10*time.Second, "the browser call's record ended", func() bool {
		code, body := apiGet(t, te.httpURL("/api/v1/records/"+id), testAPIToken)
		var r struct {
			browserRecord
			HangupCause string `json:"hangup_cause"`
		}
		if code != 200 || json.Unmarshal([]byte(body), &r) != nil {
			return false
		}
		rec, cause = r.browserRecord, r.HangupCause
		return rec.State == "ended"
	})
	if rec.Transport != "webrtc" || rec.Disposition != "abandoned" || cause != "caller" || rec.HangupSide != "caller" {
		t.Errorf("record transport %q disposition %q hangup_cause %q hangup_side %q, want webrtc, abandoned, caller, caller",
			rec.Transport, rec.Disposition, cause, rec.HangupSide)
	}
	te.waitIdle(t)
}

// TestBrowserCallRefusedAtCapacity: with limits.max_calls 1 taken, a browser caller
// is turned away by admission before any media is set up for them: the /call page
// shows why and ends, no media session or port was taken, the refusal is counted
// and the call still has its durable record (rejected, max_calls).
func TestBrowserCallRefusedAtCapacity(t *testing.T) {
	wav := micWAV(t, t.TempDir(), "", time.Second, 0)
	te := startEngine(t, engineOptions{flow: "speech", configure: func(c *Config) { c.Limits.MaxCalls = 1 }})
	t.Parallel()
	release, _, ok := te.admission.AdmitCall() // a call in progress holds the one slot
	if !ok {
		t.Fatal("the first call was refused with room")
	}
	defer release()

	_, page := chromium.Start(t, te.httpURL("/call"), wav)
	page.Diagnostic = pageState
	page.Wait(t, "the page loaded", `document.readyState === "complete" && !!window.hotline`)
	page.Click(t, "#call")
	page.Wait(t, "the page shows the refusal", `hotline.errors.some(e => e.includes("cannot take the call now") && e.includes("max_calls"))`)
	page.Wait(t, "the page shows the call ended", `hotline.state === "ended"`)
	if s, p := te.media.Sessions(), te.media.PortsInUse(); s != 0 || p != 0 {
		t.Errorf("a refused browser call left %d media sessions and %d ports", s, p)
	}
	requireMetric(t, te.metrics(t), "hotline_admission_refused_total", 1, "limit", "max_calls")
	var body string
	waitFor(t, 10*time.Second, "the refused browser call's record", func() bool {
		var code int
		code, body = apiGet(t, te.httpURL("/api/v1/records?disposition=rejected"), testAPIToken)
		return code == 200 && strings.Contains(body, `"transport":"webrtc"`) && strings.Contains(body, `"hangup_cause":"max_calls"`)
	})
	if n := te.board.count(); n != 0 {
		t.Errorf("%d calls on the wallboard after the refusal", n)
	}
}
