//go:build linux

package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	// agentACDFile is the ACD configuration of the agent test: alice, extension
	// 1001, available, and the care queue.
	agentACDFile = "../../testdata/acd/agents.yaml"
	agentExt     = "1001"
	agentPass    = "s3cret-1001"
	// agentCaller is the number uac_hangup.xml calls from.
	agentCaller = "+15551230000"
	// callerPCAP is sipp's recording of a voice in G.711 A-law: the caller speaks.
	callerPCAP = pcapDir + "/g711a.pcap"
)

// TestAgentAnswersQueuedCaller is issue 6's whole path through the real engine: a
// baresip softphone registers as agent alice's extension 1001 with the engine (its
// registrar, digest authenticated); a SIPp caller is queued in care by the queue
// flow and hears hold music while alice is on a break; alice becomes available,
// her phone rings with the caller's number and answers by itself; the agent's
// speech (espeak-ng, baresip's audio source) reaches the caller, and the caller's
// voice (sipp's A-law pcap) reaches the agent's phone; the caller hangs up and the
// agent's call ends. The call record names the queue and the agent with a talk
// time, and the queue's figures count the call offered and answered.
func TestAgentAnswersQueuedCaller(t *testing.T) {
	requireAgentTool(t, "baresip", "baresip-core")
	requireAgentTool(t, "sox", "sox")
	if _, err := os.Stat(callerPCAP); err != nil {
		t.Fatalf("sipp's voice recording missing (%v): %s", err, installHint)
	}
	var recDir string
	te := startEngine(t, engineOptions{flow: "queue", configure: func(c *Config) {
		c.SIP.Users = map[string]SIPUser{agentExt: {Password: agentPass}}
		c.ACD.File = agentACDFile
		c.Recordings.Calls = true
		recDir = c.recordingsDir()
	}})
	t.Parallel()
	exclusiveAudio(t)

	// The agent's phone registers; the engine sees alice reachable.
	ph := startAgentPhone(t, te.udpAddr)
	waitFor(t, 15*time.Second, "the agent's phone registered (log \"telephony: agent phone\" online)", func() bool {
		if out := ph.out.String(); strings.Contains(out, "Register: ") && !strings.Contains(out, "200 OK") {
			// baresip 1.0 (libre) gives up on a SHA-256 challenge with ENOSYS
			// ("Function not implemented") instead of answering the MD5 one.
			t.Fatalf("baresip's registration failed (does the engine's registrar challenge with SHA-256? "+
				"baresip 1.0 needs MD5 alone, see sip/register_sipp_test.go): %s", tail(out, 400))
		}
		return len(te.logs.find("telephony: agent phone", "agent", "alice", "online", "true")) > 0
	})
	waitFor(t, 10*time.Second, "alice available in GET /api/v1/agents", func() bool {
		code, body := apiGet(t, te.httpURL("/api/v1/agents"), testAPIToken)
		var list struct{ Agents []struct{ ID, State string } }
		if code != 200 || json.Unmarshal([]byte(body), &list) != nil {
			return false
		}
		return len(list.Agents) == 1 && list.Agents[0].ID == "alice" && list.Agents[0].State == "available"
	})
	waitFor(t, 5*time.Second, "care has one agent available", func() bool {
		code, body := apiGet(t, te.httpURL("/api/v1/queues/care"), testAPIToken)
		return code == 200 && strings.Contains(body, `"agents_available":1`)
	})
	// Alice takes a break, so the caller waits in the queue with hold music.
	setPresence(t, te, "alice", "break")

	// The caller: offers A-law only (the pcap's codec), starts speaking 3 s after
	// the answer (6.4 s of voice) and hangs up 10 s after it.
	done := make(chan struct{})
	go func() {
		defer close(done)
		res, err := execSipp(t, te.sipTarget(""), freeSippPorts(t), sippCall{scenario: "uac_hangup.xml",
			replace: []string{
				"RTP/AVP 0 8 101", "RTP/AVP 8 101",
				"a=rtpmap:0 PCMU/8000\n", "",
				"<pause/>", `<pause milliseconds="3000"/>
  <nop><action><exec play_pcap_audio="` + callerPCAP + `"/></action></nop>
  <pause milliseconds="7000"/>`,
			}})
		if err != nil {
			t.Errorf("the caller's call failed: %v\n%s", err, tail(res.messages, 6000))
		}
	}()
	id := waitOnlyCall(t, te, 10*time.Second, "the caller waiting in care", "queue", "care")
	time.Sleep(1500 * time.Millisecond) // hold music
	setPresence(t, te, "alice", "available")

	// Alice's phone rings with the caller's number and answers.
	bridged := te.waitLog(t, 15*time.Second, "telephony: bridged", "call_id", id)
	waitFor(t, 5*time.Second, "the agent's phone shows the caller's number", func() bool {
		return strings.Contains(ph.out.String(), agentCaller)
	})
	waitFor(t, 5*time.Second, "alice on the call in GET /api/v1/agents", func() bool {
		code, body := apiGet(t, te.httpURL("/api/v1/agents/alice"), testAPIToken)
		var a struct{ State, CallID string }
		return code == 200 && json.Unmarshal([]byte(body), &a) == nil && a.State == "on_call"
	})

	// The caller hangs up; the agent's call ends.
	<-done
	te.waitLog(t, 10*time.Second, "telephony: agent leg hung up")
	waitFor(t, 10*time.Second, "the agent's phone ends the call", func() bool {
		out := strings.ToLower(ph.out.String())
		return strings.Contains(out, "terminated") || strings.Contains(out, "closed")
	})

	// The call record.
	var rec struct {
		Queue, Agent, Disposition string
		HangupSide                string    `json:"hangup_side"`
		AnsweredAt                time.Time `json:"answered_at"`
		Wait                      float64   `json:"wait_seconds"`
		Talk                      float64   `json:"talk_seconds"`
		Recordings                []string
		Quality                   struct {
			PacketsSent     int64 `json:"packets_sent"`
			PacketsReceived int64 `json:"packets_received"`
		}
	}
	t.Logf("call record: %s", endedRecord(t, te, id, &rec))
	if rec.Queue != "care" || rec.Agent != "alice" || rec.HangupSide != "caller" {
		t.Errorf("record queue %q agent %q hangup_side %q, want care, alice, caller", rec.Queue, rec.Agent, rec.HangupSide)
	}
	// The call left the flow for a human: transferred, not abandoned (the caller
	// hung up on the agent, not in the queue).
	if rec.Disposition != "transferred" {
		t.Errorf("record disposition %q, want transferred: the agent answered the call", rec.Disposition)
	}
	if rec.Talk <= 0 || rec.Wait <= 0 {
		t.Errorf("record wait %v s, talk %v s: want both positive", rec.Wait, rec.Talk)
	}
	if rec.Quality.PacketsReceived < 100 { // the caller's voice: 2 s of 20 ms packets at least
		t.Errorf("record quality %+v: the caller's RTP not counted", rec.Quality)
	}

	// The queue's figures: one call offered, answered.
	waitFor(t, 10*time.Second, "care's figures count the call", func() bool {
		code, body := apiGet(t, te.httpURL("/api/v1/queues/care/figures"), testAPIToken)
		var f struct{ Offered, Answered int }
		return code == 200 && json.Unmarshal([]byte(body), &f) == nil && f.Offered == 1 && f.Answered == 1
	})

	// What the caller heard: the engine's stereo recording of the call, the right
	// channel. Before the bridge hold music (never below -40 dBFS); after it the
	// agent's speech, loud words and silent pauses between them.
	right, rate, at := callerHeard(t, recDir, rec.Recordings, rec.AnsweredAt)
	bridgeAt := bridged.time()
	hold := frameLevels(right[at(bridgeAt.Add(-1200*time.Millisecond)):at(bridgeAt.Add(-200*time.Millisecond))], rate)
	music := 0
	for _, l := range hold {
		if l > -45 {
			music++
		}
	}
	// Thresholds prove audio, not its quality: on a loaded 2-core box baresip and the
	// engine are descheduled now and then, and a starved frame is concealed or quiet.
	if len(hold) == 0 || music < len(hold)/2 {
		t.Errorf("the caller did not hear hold music before the bridge: %d of %d frames above -45 dBFS", music, len(hold))
	}
	talk := frameLevels(right[at(bridgeAt.Add(500*time.Millisecond)):], rate)
	loud, quiet := 0, 0
	for _, l := range talk {
		if l > -35 {
			loud++
		}
		if l < -55 {
			quiet++
		}
	}
	if loud < 10 || quiet == 0 {
		t.Errorf("the caller did not hear the agent's speech: %d frames, %d loud, %d silent", len(talk), loud, quiet)
	}

	// What the agent heard: baresip's sndfile module dumped the decoded audio.
	ph.quit()
	heard := ph.heardWAV()
	if heard == "" {
		t.Fatal("baresip wrote no dump of what the agent heard")
	}
	pcm, prate := readMonoWAV(t, heard)
	voiced := 0
	for _, l := range frameLevels(pcm, prate) {
		if l > -35 {
			voiced++
		}
	}
	t.Logf("hold: %d of %d frames music; the caller heard %d loud, %d silent of %d frames; the agent heard %d voiced frames of %d",
		music, len(hold), loud, quiet, len(talk), voiced, len(pcm)/(prate/50))
	if voiced < 10 { // 200 ms of the caller's voice, at least: silence has none
		t.Errorf("the agent heard the caller's voice in %d frames, want at least 10", voiced)
	}
	te.waitIdle(t)
}

// requireAgentTool fails the test unless name is in PATH.
func requireAgentTool(t *testing.T, name, pkg string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		t.Fatalf("%s not found in PATH: install the Debian package %s (apt-get install %s; make test does)", name, pkg, pkg)
	}
}

// setPresence sets an agent's presence through the API.
func setPresence(t *testing.T, te *testEngine, agent, presence string) {
	t.Helper()
	body := fmt.Sprintf(`{"presence":%q}`, presence)
	req, err := http.NewRequest("PUT", te.httpURL("/api/v1/agents/"+agent+"/presence"), strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testAPIToken)
	req.Header.Set("Content-Type", "application/json")
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	res, err := c.Do(req)
	if err != nil {
		t.Fatalf("PUT presence %s: %v", presence, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode/100 != 2 {
		t.Fatalf("PUT /api/v1/agents/%s/presence %s: %s %s", agent, presence, res.Status, b)
	}
}

// agentPhone is a baresip softphone registered as extension 1001.
type agentPhone struct {
	dir  string
	out  *lockedBuffer
	cmd  *exec.Cmd
	exit chan error
	once sync.Once
}

// lockedBuffer is a goroutine-safe output buffer.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *lockedBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *lockedBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startAgentPhone starts baresip registering 1001 at the engine's SIP address,
// answering by itself, speaking an espeak-ng sentence (its aufile source) and
// dumping what it hears (sndfile) into its directory.
func startAgentPhone(t *testing.T, engineUDP string) *agentPhone {
	t.Helper()
	dir := t.TempDir()
	speech := filepath.Join(dir, "speech.wav")
	raw := speech + ".raw.wav"
	text := "Hello, this is Alice from customer care. How can I help you today? " +
		"I can see your account. Let me check that for you. " +
		"Thank you for waiting. Your issue is solved. Goodbye."
	if out, err := exec.Command("espeak-ng", "-v", "en-us", "-s", "150", "-g", "20", "-w", raw, text).CombinedOutput(); err != nil {
		t.Fatalf("espeak-ng: %v\n%s", err, out)
	}
	// baresip's aufile plays at the codec's rate (G.711, 8 kHz) without resampling.
	if out, err := exec.Command("sox", raw, "-r", "8000", "-c", "1", "-b", "16", "-e", "signed", speech).CombinedOutput(); err != nil {
		t.Fatalf("sox: %v\n%s", err, out)
	}
	sipPort := freeAgentPort(t)
	rtp := 46000 + (sipPort%50)*20
	ph, _ := startBaresip(t, baresipConfig{dir: dir, sipPort: sipPort, rtpFirst: rtp, rtpPorts: 20, engineUDP: engineUDP,
		ext: agentExt, pass: agentPass, source: speech, seconds: 50, label: "baresip", logTail: 6000})
	return ph
}

// baresipConfig is one baresip phone: where it listens, what it registers as and
// says, how long it may run, and how its output is shown when the test failed.
type baresipConfig struct {
	dir                         string // its config, accounts and sndfile dumps
	sipPort, rtpFirst, rtpPorts int
	engineUDP, ext, pass        string
	source                      string // the WAV it speaks (aufile, at the codec's rate)
	seconds                     int    // baresip -t: it exits after this long
	label                       string // "baresip output" or "baresip 1002 output" in a failed test's log
	logTail                     int
}

// startBaresip starts baresip registering cfg.ext at the engine, answering by itself,
// speaking cfg.source and dumping what it hears (sndfile) into cfg.dir, and returns
// its ctrl_tcp port to drive it. The phone quits when the test ends.
func startBaresip(t *testing.T, cfg baresipConfig) (*agentPhone, int) {
	t.Helper()
	ctrl := freeAgentPort(t)
	config := fmt.Sprintf(`sip_listen 127.0.0.1:%d
audio_player aufile,%s
audio_source aufile,%s
audio_alert aufile,/dev/null
rtp_ports %d-%d
module_path /usr/lib/baresip/modules
module g711.so
module aufile.so
module sndfile.so
snd_path %s
module_app account.so
module_app menu.so
module_app ctrl_tcp.so
ctrl_tcp_listen 127.0.0.1:%d
`, cfg.sipPort, filepath.Join(cfg.dir, "player.wav"), cfg.source, cfg.rtpFirst, cfg.rtpFirst+cfg.rtpPorts-1, cfg.dir, ctrl)
	_, port, _ := net.SplitHostPort(cfg.engineUDP)
	account := fmt.Sprintf("<sip:%s@127.0.0.1:%s;transport=udp>;auth_pass=%s;regint=60;answermode=auto\n", cfg.ext, port, cfg.pass)
	for file, text := range map[string]string{"config": config, "accounts": account} {
		if err := os.WriteFile(filepath.Join(cfg.dir, file), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ph := &agentPhone{dir: cfg.dir, out: &lockedBuffer{}, exit: make(chan error, 1)}
	ph.cmd = exec.Command("baresip", "-f", cfg.dir, "-t", strconv.Itoa(cfg.seconds))
	ph.cmd.Dir = cfg.dir
	ph.cmd.Stdout, ph.cmd.Stderr = ph.out, ph.out
	ph.cmd.WaitDelay = 5 * time.Second
	if err := ph.cmd.Start(); err != nil {
		t.Fatalf("start baresip: %v", err)
	}
	go func() { ph.exit <- ph.cmd.Wait() }()
	t.Cleanup(func() {
		ph.quit()
		if t.Failed() {
			t.Logf("%s output:\n%s", cfg.label, tail(ph.out.String(), cfg.logTail))
		}
	})
	return ph, ctrl
}

// quit stops baresip (SIGINT: it unregisters and closes its dump files) and waits
// for it; idempotent. It signals its own child by its process, never by name.
func (ph *agentPhone) quit() {
	ph.once.Do(func() {
		_ = ph.cmd.Process.Signal(os.Interrupt)
		select {
		case <-ph.exit:
		case <-time.After(10 * time.Second):
			_ = ph.cmd.Process.Kill()
			<-ph.exit
		}
	})
}

// heardWAV is the file sndfile wrote the decoded audio of the call into, "" if
// none.
func (ph *agentPhone) heardWAV() string {
	m, _ := filepath.Glob(filepath.Join(ph.dir, "dump-*-dec.wav"))
	if len(m) == 0 {
		return ""
	}
	return m[0]
}

// freeAgentPort finds a port free for UDP and for TCP on it and the next (baresip
// binds SIP over UDP, TCP and TLS on the next one).
func freeAgentPort(t *testing.T) int {
	t.Helper()
	for range 50 {
		u, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := u.LocalAddr().(*net.UDPAddr).Port
		u.Close()
		if portsFree(port, "tcp") && portsFree(port+1, "tcp") {
			return port
		}
	}
	t.Fatal("no free port for baresip")
	return 0
}

// readWAVFile reads a 16-bit PCM WAV file: its interleaved samples, channel count
// and rate.
func readWAVFile(t *testing.T, path string) ([]int16, int, int) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	if len(b) < 12 || string(b[0:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		t.Fatalf("%s is not a WAV file", path)
	}
	var channels, rate, bits int
	for p := 12; p+8 <= len(b); {
		id, size := string(b[p:p+4]), int(binary.LittleEndian.Uint32(b[p+4:p+8]))
		body := b[p+8:]
		switch id {
		case "fmt ":
			if len(body) < 16 {
				t.Fatalf("%s: short fmt chunk", path)
			}
			channels = int(binary.LittleEndian.Uint16(body[2:4]))
			rate = int(binary.LittleEndian.Uint32(body[4:8]))
			bits = int(binary.LittleEndian.Uint16(body[14:16]))
		case "data":
			if bits != 16 || channels == 0 {
				t.Fatalf("%s: %d channels of %d bits, want 16-bit PCM", path, channels, bits)
			}
			// A file still being written (or cut short) may claim more than it holds.
			size = min(size, len(body)) &^ 1
			pcm := make([]int16, size/2)
			for i := range pcm {
				pcm[i] = int16(binary.LittleEndian.Uint16(body[2*i:]))
			}
			return pcm, channels, rate
		}
		p += 8 + size + size&1
	}
	t.Fatalf("%s: no data chunk", path)
	return nil, 0, 0
}

// callerHeard returns what the caller heard, the right channel of the engine's
// stereo recording of the call (recordings must name exactly that one file, under
// recDir), its rate, and at, the sample index of a moment of the call answered at
// answeredAt (clamped to the recording).
func callerHeard(t *testing.T, recDir string, recordings []string, answeredAt time.Time) (heard []int16, rate int, at func(time.Time) int) {
	t.Helper()
	if len(recordings) != 1 {
		t.Fatalf("record recordings %v, want the call's recording", recordings)
	}
	_, heard, rate = readStereoWAV(t, filepath.Join(recDir, filepath.FromSlash(recordings[0])))
	at = func(ts time.Time) int {
		i := int(ts.Sub(answeredAt).Seconds() * float64(rate))
		return max(0, min(i, len(heard)))
	}
	return heard, rate, at
}

// readStereoWAV returns the left and right channels of a stereo WAV file.
func readStereoWAV(t *testing.T, path string) (left, right []int16, rate int) {
	t.Helper()
	pcm, ch, rate := readWAVFile(t, path)
	if ch != 2 {
		t.Fatalf("%s has %d channels, want 2", path, ch)
	}
	left, right = make([]int16, len(pcm)/2), make([]int16, len(pcm)/2)
	for i := range left {
		left[i], right[i] = pcm[2*i], pcm[2*i+1]
	}
	return left, right, rate
}

// readMonoWAV returns a mono WAV file's samples.
func readMonoWAV(t *testing.T, path string) ([]int16, int) {
	t.Helper()
	pcm, ch, rate := readWAVFile(t, path)
	if ch != 1 {
		t.Fatalf("%s has %d channels, want 1", path, ch)
	}
	return pcm, rate
}

// frameLevels returns the dBFS of each 20 ms frame of pcm.
func frameLevels(pcm []int16, rate int) []float64 {
	n := rate / 50
	if n == 0 {
		return nil
	}
	var out []float64
	for ; len(pcm) >= n; pcm = pcm[n:] {
		var sum float64
		for _, v := range pcm[:n] {
			sum += float64(v) * float64(v)
		}
		rms := math.Sqrt(sum / float64(n))
		out = append(out, 20*math.Log10(math.Max(rms, 1)/32768))
	}
	return out
}
