//go:build linux

package main

import (
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hotline-ivr/hotline/media/codec"
)

// The tones of TestSupervisorMonitor: every party speaks its own frequency, so what
// each one hears says who reached whom.
const (
	toneCaller  = 500.0
	toneAgent   = 900.0
	toneListen  = 1300.0 // the listening supervisor: heard by nobody
	toneWhisper = 1700.0 // the whispering supervisor: heard by the agent only
	toneBarge   = 2100.0 // the barging supervisor: heard by both
)

// TestSupervisorMonitor is issue 6's supervision through the real engine: a SIPp
// caller (speaking a 500 Hz tone) is queued in care and answered by agent alice's
// baresip phone (900 Hz). A monitor request for an unknown call is a 404, and one
// for the caller while they still wait (no agent) a 409. Then three supervisors,
// each a baresip phone registered with the engine and speaking its own tone, join
// one after the other through POST /api/v1/calls/{id}/monitor: listen (1300 Hz),
// whisper (1700 Hz), barge (2100 Hz); each hangs up after a few seconds and the call
// goes on. What everyone heard proves the routing: the caller hears the agent and
// the barging supervisor, never the listener nor the whisperer; the agent hears the
// caller, the whisperer and the barger, never the listener; every supervisor hears
// the caller and the agent. The checks count 20 ms frames where a tone is present
// (flow), with wide margins (not quality).
func TestSupervisorMonitor(t *testing.T) {
	requireAgentTool(t, "baresip", "baresip-core")
	requireAgentTool(t, "sox", "sox")
	if _, err := exec.LookPath("sipp"); err != nil {
		t.Fatalf("sipp not found (Debian package sip-tester): %v", err)
	}
	sups := []struct {
		mode, ext string
		tone      float64
	}{{"listen", "1009", toneListen}, {"whisper", "1010", toneWhisper}, {"barge", "1011", toneBarge}}
	var recDir string
	te := startEngine(t, engineOptions{flow: "queue", configure: func(c *Config) {
		c.SIP.Users = map[string]SIPUser{agentExt: {Password: agentPass}}
		for _, s := range sups {
			c.SIP.Users[s.ext] = SIPUser{Password: "sup-" + s.ext}
		}
		c.ACD.File = agentACDFile
		c.Recordings.Calls = true
		recDir = c.recordingsDir()
	}})
	t.Parallel()
	exclusiveAudio(t)
	dir := t.TempDir()

	agent := startTonePhone(t, te.udpAddr, agentExt, agentPass, toneWAV(t, dir, "agent", toneAgent))
	phones := make([]*agentPhone, len(sups))
	for i, s := range sups {
		phones[i] = startTonePhone(t, te.udpAddr, s.ext, "sup-"+s.ext, toneWAV(t, dir, s.mode, s.tone))
	}
	waitFor(t, 20*time.Second, "the agent's and the supervisors' phones registered", func() bool {
		for _, ext := range []string{agentExt, "1009", "1010", "1011"} {
			if len(te.people.bindings.Lookup(te.sip.AOR(ext))) == 0 {
				return false
			}
		}
		return true
	})
	waitFor(t, 10*time.Second, "alice available", func() bool {
		code, body := apiGet(t, te.httpURL("/api/v1/queues/care"), testAPIToken)
		return code == 200 && strings.Contains(body, `"agents_available":1`)
	})
	setPresence(t, te, "alice", "break") // the caller waits until the 409 was checked

	// The caller: µ-law, a 500 Hz tone from the answer on, until the engine's BYE.
	voice := toneULaw(t, dir, toneCaller)
	done := streamingCaller(t, te, voice, 110*time.Second)
	id := waitOnlyCall(t, te, 15*time.Second, "the caller waiting in care", "queue", "")
	monitor := func(call, mode, sup string) (int, string) {
		return apiDo(t, "POST", te.httpURL("/api/v1/calls/"+call+"/monitor"), testAPIToken,
			fmt.Sprintf(`{"mode":%q,"supervisor":%q}`, mode, sup))
	}
	if code, body := monitor("no-such-call", "listen", "1009"); code != 404 {
		t.Errorf("monitor of an unknown call: %d %s, want 404", code, body)
	}
	if code, body := monitor(id, "listen", "1009"); code != 409 {
		t.Errorf("monitor of a caller without agent: %d %s, want 409", code, body)
	}
	if code, body := monitor(id, "shout", "1009"); code != 400 {
		t.Errorf("monitor with mode shout: %d %s, want 400", code, body)
	}

	setPresence(t, te, "alice", "available")
	te.waitLog(t, 15*time.Second, "telephony: bridged", "call_id", id)
	if code, body := monitor(id, "listen", "nobody"); code != 404 {
		t.Errorf("monitor by an unknown supervisor: %d %s, want 404", code, body)
	}

	for i, s := range sups {
		code, body := monitor(id, s.mode, s.ext)
		if code != 202 {
			t.Fatalf("monitor %s by %s: %d %s, want 202", s.mode, s.ext, code, body)
		}
		te.waitLogs(t, 20*time.Second, i+1, "telephony: supervisor joined", "call_id", id)
		time.Sleep(3 * time.Second) // everyone talks
		phones[i].quit()            // the supervisor hangs up (baresip's BYE on quit)
		te.waitLogs(t, 15*time.Second, i+1, "telephony: supervisor left; caller and agent bridged again", "call_id", id)
		if code, _ := apiGet(t, te.httpURL("/api/v1/calls/"+id), testAPIToken); code != 200 {
			t.Fatalf("the call did not survive the %s supervisor hanging up: GET %d", s.mode, code)
		}
	}
	time.Sleep(time.Second) // caller and agent bridged again
	if code, body := apiDo(t, "POST", te.httpURL("/api/v1/calls/"+id+"/hangup"), testAPIToken, ""); code != 204 {
		t.Fatalf("hang up: %d %s", code, body)
	}
	if err := <-done; err != nil {
		t.Fatalf("the caller's call failed: %v", err)
	}
	te.waitLog(t, 10*time.Second, "telephony: agent leg hung up")

	// What the caller heard: the right channel of the engine's recording.
	var rec struct {
		Recordings []string
		AnsweredAt time.Time `json:"answered_at"`
	}
	endedRecord(t, te, id, &rec)
	heard, rate, _ := callerHeard(t, recDir, rec.Recordings, rec.AnsweredAt)
	expectTones(t, "the caller", heard, rate, map[float64]bool{
		toneAgent: true, toneBarge: true, toneListen: false, toneWhisper: false})

	agent.quit()
	agentHeard, arate := readMonoWAV(t, dumpOf(t, agent, "the agent"))
	expectTones(t, "the agent", agentHeard, arate, map[float64]bool{
		toneCaller: true, toneWhisper: true, toneBarge: true, toneListen: false})
	for i, s := range sups {
		heard, r := readMonoWAV(t, dumpOf(t, phones[i], s.mode))
		expectTones(t, "the "+s.mode+" supervisor", heard, r, map[float64]bool{toneCaller: true, toneAgent: true, s.tone: false})
	}
	te.waitIdle(t)
}

// expectTones checks, for each frequency, that who heard it (in at least ten 20 ms
// frames: 200 ms of a call that lasts seconds) or did not (in at most two frames).
// A frame "has" a tone when the tone carries a tenth of its power or more: with
// three tones summed each has about a third.
func expectTones(t *testing.T, who string, pcm []int16, rate int, want map[float64]bool) {
	t.Helper()
	for f, heard := range want {
		n := toneFrameCount(pcm, rate, f)
		t.Logf("%s: %.0f Hz in %d of %d frames", who, f, n, len(pcm)/(rate/50))
		switch {
		case heard && n < 10:
			t.Errorf("%s did not hear %.0f Hz (%d frames of %d)", who, f, n, len(pcm)/(rate/50))
		case !heard && n > 2:
			t.Errorf("%s heard %.0f Hz, which must not reach them (%d frames of %d)", who, f, n, len(pcm)/(rate/50))
		}
	}
}

// toneFrameCount counts the 20 ms frames louder than -50 dBFS in which freq carries
// at least a tenth of the power (Goertzel).
func toneFrameCount(pcm []int16, rate int, freq float64) int {
	n := rate / 50
	count := 0
	coeff := 2 * math.Cos(2*math.Pi*freq/float64(rate))
	for ; len(pcm) >= n; pcm = pcm[n:] {
		var s1, s2, total float64
		for _, v := range pcm[:n] {
			x := float64(v)
			s := x + coeff*s1 - s2
			s2, s1 = s1, s
			total += x * x
		}
		if total/float64(n) < 100*100 { // about -50 dBFS: silence and codec noise
			continue
		}
		p := s1*s1 + s2*s2 - coeff*s1*s2
		if p/(total*float64(n)/2) >= 0.1 {
			count++
		}
	}
	return count
}

// toneWAV writes a two-minute sine at freq (8 kHz, 16-bit mono, -12 dBFS) for a
// baresip phone's audio source.
func toneWAV(t *testing.T, dir, name string, freq float64) string {
	t.Helper()
	path := filepath.Join(dir, name+".wav")
	if out, err := exec.Command("sox", "-n", "-r", "8000", "-c", "1", "-b", "16", "-e", "signed", path,
		"synth", "120", "sine", fmt.Sprint(freq), "vol", "0.25").CombinedOutput(); err != nil {
		t.Fatalf("sox: %v\n%s", err, out)
	}
	return path
}

// toneULaw writes ten seconds of a sine at freq as raw G.711 µ-law, for SIPp's
// rtp_stream (it loops it).
func toneULaw(t *testing.T, dir string, freq float64) string {
	t.Helper()
	pcm := make([]int16, 8000*10)
	for i := range pcm {
		pcm[i] = int16(8000 * math.Sin(2*math.Pi*freq*float64(i)/8000))
	}
	ulaw := make([]byte, len(pcm))
	codec.EncodeMulaw(ulaw, pcm)
	path := filepath.Join(dir, "caller.ulaw")
	if err := os.WriteFile(path, ulaw, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// dumpOf is the WAV a stopped phone wrote of what it heard.
func dumpOf(t *testing.T, ph *agentPhone, who string) string {
	t.Helper()
	ph.quit()
	p := ph.heardWAV()
	if p == "" {
		t.Fatalf("%s's phone (baresip) wrote no dump of what it heard", who)
	}
	return p
}

// startTonePhone starts baresip registering ext at the engine, answering by itself,
// speaking source and dumping what it hears (sndfile) into its directory.
func startTonePhone(t *testing.T, engineUDP, ext, pass, source string) *agentPhone {
	t.Helper()
	ph, _ := startCtrlPhone(t, engineUDP, ext, pass, source)
	return ph
}
