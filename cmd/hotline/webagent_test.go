//go:build linux

package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hotline-ivr/hotline/internal/chromium"
	"github.com/hotline-ivr/hotline/media/audio"
	"github.com/hotline-ivr/hotline/media/codec"
	"github.com/hotline-ivr/hotline/webrtc"
)

// A SIP caller reaches an agent working from a browser tab: the engine's /agent
// page in headless Chromium is the agent's only way to be reached (no desk phone),
// and the ACD rings it through the same endpoint merge the phones go through.
// Issue 7, items 4 and 5.

const (
	// webAgentToken is alice's softphone login in these tests.
	webAgentToken = "alice-softphone-0123456789"
	// webAgentState is the /agent page's state, shown when a wait fails.
	webAgentState = `JSON.stringify(window.hotline ? {state: hotline.state, media: hotline.media, connection: hotline.connection, presence: hotline.presence, held: hotline.held, whisper: hotline.whisper, errors: hotline.errors} : null)`
	// webAgentACD is alice (no extension: no phone) and care, which whispers its name.
	webAgentACD = `engine: {interval: 15m, timezone: UTC}
agents:
  - {id: alice, name: Alice Martin, presence: available}
queues:
  care: {strategy: longest_idle, max_wait: 2m, ring_timeout: 30s, wrap_up: 1s, whisper: true}
`
	// inboundEnergy is the page's received audio energy (WebRTC getStats), summed.
	inboundEnergy = `(async () => {
		const s = await hotline.pc.getStats();
		let e = 0;
		s.forEach(x => { if (x.type === "inbound-rtp" && x.kind === "audio") e += x.totalAudioEnergy || 0; });
		return e;
	})()`
)

// callerULaw writes a raw G.711 µ-law file of text spoken by espeak-ng, for SIPp's
// rtp_stream (it loops it: the caller talks all along).
func callerULaw(t *testing.T, dir, text string) string {
	t.Helper()
	out, err := exec.Command("espeak-ng", "-v", "en-us", "-s", "150", "--stdout", text).Output()
	if err != nil {
		t.Fatalf("espeak-ng (apt-get install espeak-ng): %v", err)
	}
	pcm, rate, err := audio.ReadWAV(bytes.NewReader(out))
	if err != nil {
		t.Fatalf("espeak-ng's WAV: %v", err)
	}
	if pcm, err = audio.Resample(pcm, rate, 8000); err != nil {
		t.Fatal(err)
	}
	ulaw := make([]byte, len(pcm))
	codec.EncodeMulaw(ulaw, pcm)
	path := filepath.Join(dir, "caller.ulaw")
	if err := os.WriteFile(path, ulaw, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// packetLevel is the dBFS of one decoded packet.
func packetLevel(pcm []int16) float64 {
	l := frameLevels(pcm, len(pcm)*50)
	if len(l) == 0 {
		return -100
	}
	return l[0]
}

// loudBetween counts the caller's received packets in [from, to) above -45 dBFS,
// and all of them.
func loudBetween(pkts []heardPacket, from, to time.Time) (loud, all int) {
	for _, p := range pkts {
		if p.at.Before(from) || !p.at.Before(to) {
			continue
		}
		all++
		if packetLevel(p.pcm) > -45 {
			loud++
		}
	}
	return loud, all
}

// heardSoFar decodes what the sniffer caught so far (PCMU), without stopping it.
func (s *sniffer) heardSoFar(t *testing.T) []heardPacket {
	t.Helper()
	s.mu.Lock()
	caps := append([]capturedPacket(nil), s.pkts...)
	s.mu.Unlock()
	return decodeRTP(t, caps, 0)
}

// TestWebAgentAnswersSIPCaller: alice logs in on the engine's /agent page (headless
// Chromium, fake microphone playing espeak-ng speech) and goes available; a SIPp
// caller (G.711 µ-law, talking all along) runs the queue flow and is queued in care;
// the ACD rings alice's browser, the page shows the screen-pop and the whispered
// queue name (spoken too: the TTS into her session), and she answers. Audio flows
// both ways through media/bridge (Opus 48 kHz ↔ G.711 8 kHz): the caller's RTP
// carries her speech (captured on loopback), the page's getStats shows the caller's
// audio arriving. She holds: the caller hears music on hold, not silence; she
// unholds and the conversation resumes. She hangs up from the page: SIPp gets the
// BYE, and the call record names alice and care.
func TestWebAgentAnswersSIPCaller(t *testing.T) {
	dir := t.TempDir()
	acdFile := filepath.Join(dir, "acd.yaml")
	if err := os.WriteFile(acdFile, []byte(webAgentACD), 0o644); err != nil {
		t.Fatal(err)
	}
	wav := micWAV(t, dir, "Hello, this is Alice from customer care. How can I help you today?", 300*time.Millisecond, 700*time.Millisecond)
	voice := callerULaw(t, dir, "Hello, I have a question about my bill. It is higher than last month.")
	te := startEngine(t, engineOptions{flow: "queue", configure: func(c *Config) {
		c.ACD.File = acdFile
		c.WebRTC.AgentTokens = append(c.WebRTC.AgentTokens, webrtc.AgentToken{Agent: "alice", Token: webAgentToken})
	}})
	// Not parallel: a browser, a bridge with Opus both ways and SIPp on two cores.

	browser, page := chromium.Start(t, te.httpURL("/agent"), wav)
	page.Diagnostic = webAgentState
	page.Wait(t, "the page loaded", `document.readyState === "complete" && !!window.hotline`)
	page.MustEval(t, `document.getElementById("token").value = `+jsQuote(webAgentToken)+`; document.querySelector("#login button").click(); true`, nil)
	page.Wait(t, "the softphone's media", `hotline.media === "answered" && hotline.connection === "connected"`)
	page.Click(t, "#available")
	page.Wait(t, "available", `hotline.presence === "available"`)
	waitFor(t, 10*time.Second, "care has alice available", func() bool {
		code, body := apiGet(t, te.httpURL("/api/v1/queues/care"), testAPIToken)
		return code == 200 && strings.Contains(body, `"agents_available":1`)
	})

	// The caller: µ-law only, streams its voice from the answer on, waits for BYE.
	ports := freeSippPorts(t)
	sn := startSniffer(t, ports.media)
	done := make(chan error, 1)
	var sippOut sippResult
	go func() {
		res, err := execSipp(t, te.sipTarget(""), ports, sippCall{scenario: "uac_silent.xml", timeout: 120 * time.Second,
			replace: []string{`<recv request="BYE" timeout="20000"/>`,
				`<nop><action><exec rtp_stream="` + voice + `,-1,0"/></action></nop>
  <recv request="BYE" timeout="110000"/>`}})
		sippOut = res
		done <- err
	}()

	// The offer: the screen-pop names the caller and the queue; alice answers.
	page.Wait(t, "the offer rings on the page", `hotline.state === "ringing"`)
	var pop struct {
		Caller string `json:"caller_number"`
		Queue  string `json:"queue"`
		CallID string `json:"call_id"`
	}
	page.MustEval(t, `hotline.screenPop`, &pop)
	if pop.Caller != agentCaller || pop.Queue != "care" || pop.CallID == "" {
		t.Errorf("screen-pop %+v, want caller %s in care with a call id", pop, agentCaller)
	}
	page.Click(t, "#accept")
	page.Wait(t, "the whisper shown", `hotline.whisper === "care"`)
	te.waitLog(t, 15*time.Second, "whisper spoken to agent", "offer_call_id", pop.CallID)
	bridged := te.waitLog(t, 15*time.Second, "telephony: bridged", "call_id", pop.CallID)
	page.Wait(t, "talking", `hotline.state === "talking"`)
	if bridged.str("codec_rate_caller") != "8000" || bridged.str("codec_rate_agent") != "48000" {
		t.Errorf("bridged %v, want G.711 at 8000 Hz to Opus at 48000 Hz", bridged)
	}

	// Agent → caller: the caller's RTP carries the browser's microphone.
	waitFor(t, 30*time.Second, "the caller hears the agent", func() bool {
		loud, _ := loudBetween(sn.heardSoFar(t), bridged.time().Add(300*time.Millisecond), time.Now())
		return loud >= 10
	})
	// Caller → agent: the page receives the caller's audio (transcoded to Opus),
	// counted from now: the whisper before the bridge is long over.
	var e0 float64
	page.MustEval(t, inboundEnergy, &e0)
	page.Wait(t, "the caller's audio in the browser", `(async () => (await `+inboundEnergy+`) > `+fmt.Sprint(e0)+` + 0.001)()`)

	// Hold: music on hold to the caller (the page's microphone is disabled).
	page.Click(t, "#hold")
	holdOn := te.waitLog(t, 10*time.Second, "agent hold", "on", "true")
	waitFor(t, 30*time.Second, "the caller hears music on hold", func() bool {
		_, all := loudBetween(sn.heardSoFar(t), holdOn.time().Add(300*time.Millisecond), time.Now())
		return all >= 75 // 1.5 s of packets while held
	})
	page.Click(t, "#hold")
	holdOff := te.waitLog(t, 10*time.Second, "agent hold", "on", "false")
	var e1 float64
	page.MustEval(t, inboundEnergy, &e1)
	waitFor(t, 30*time.Second, "the caller hears the agent again", func() bool {
		loud, _ := loudBetween(sn.heardSoFar(t), holdOff.time().Add(300*time.Millisecond), time.Now())
		return loud >= 10
	})
	page.Wait(t, "the caller's audio in the browser again", `(async () => (await `+inboundEnergy+`) > `+fmt.Sprint(e1)+` + 0.001)()`)

	// The agent hangs up: the caller gets BYE (SIPp's scenario succeeds).
	page.Click(t, "#hangup")
	page.Wait(t, "the page shows the wrap-up", `hotline.state === "wrapup" || hotline.state === "idle"`)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("the caller's call: %v\n%s\n%s", err, tail(sippOut.out, 3000), tail(sippOut.messages, 6000))
		}
	case <-time.After(60 * time.Second): // hang guard
		t.Fatal("SIPp did not end after the agent hung up")
	}
	if !strings.Contains(sippOut.messages, "BYE sip:") {
		t.Errorf("SIPp's trace has no BYE from the engine:\n%s", tail(sippOut.messages, 3000))
	}

	// What the caller heard, judged on the whole capture.
	pkts := decodeRTP(t, sn.packets(t), 0)
	talkLoud, talkAll := loudBetween(pkts, bridged.time().Add(300*time.Millisecond), holdOn.time())
	holdLoud, holdAll := loudBetween(pkts, holdOn.time().Add(300*time.Millisecond), holdOff.time())
	t.Logf("caller heard: conversation %d of %d packets loud; hold %d of %d packets loud", talkLoud, talkAll, holdLoud, holdAll)
	// Flow, not quality: the music is continuous (about -20 dBFS), so most packets
	// while held have it; without it the disabled microphone sends silence.
	if holdAll == 0 || holdLoud*2 < holdAll {
		t.Errorf("on hold the caller heard %d loud packets of %d: want music on hold, not silence", holdLoud, holdAll)
	}

	// The call record names the agent.
	var rec struct {
		Queue, Agent string
		Talk         float64 `json:"talk_seconds"`
		Quality      struct {
			PacketsReceived int64 `json:"packets_received"`
		}
	}
	endedRecord(t, te, pop.CallID, &rec)
	if rec.Agent != "alice" || rec.Queue != "care" || rec.Talk <= 0 {
		t.Errorf("record agent %q queue %q talk %v s, want alice, care, > 0", rec.Agent, rec.Queue, rec.Talk)
	}
	if rec.Quality.PacketsReceived < 100 { // SIPp's voice: 2 s of 20 ms packets at least
		t.Errorf("record quality %+v: the caller's RTP not counted", rec.Quality)
	}

	// Closing the tab logs alice out; nothing is left behind.
	browser.Close()
	te.waitIdle(t)
}
