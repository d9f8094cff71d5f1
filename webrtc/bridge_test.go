package webrtc

import (
	"context"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	pmedia "github.com/pion/webrtc/v4/pkg/media"

	"github.com/hotline-ivr/hotline/acd"
	"github.com/hotline-ivr/hotline/media/bridge"
	"github.com/hotline-ivr/hotline/media/codec"
)

// TestBrowserBridgeG711CallerToOpusAgent bridges a caller on G.711 (a pion peer on
// /rtc/ws, 8 kHz) to an agent on the Chromium softphone (Opus, 48 kHz) with
// media/bridge, as acd/telephony does on answer: the caller's tone reaches the
// agent's browser and the agent's speech (espeak-ng fake microphone) reaches the
// caller, transcoded and resampled both ways; the agent's hang-up ends the leg.
func TestBrowserBridgeG711CallerToOpusAgent(t *testing.T) {
	wav := espeakWAV(t, t.TempDir(), "Thank you for calling. Let me look at your account. One moment please.")
	desk := newFakeDesk()
	callers := make(chan *Call, 1)
	st := newTestStackOpts(t, Config{WrapUp: 5 * time.Second}, func(ctx context.Context, ch *Call) {
		if ch.Answer(ctx) != nil {
			return
		}
		callers <- ch
		<-ctx.Done()
	}, WithAgents(desk, testAuth))

	// The agent logs in on the softphone.
	_, page := startChromium(t, st.srv.URL+"/agent", wav)
	page.Wait(t, "the page loaded", `document.readyState === "complete" && !!window.hotline`)
	if err := page.Eval(`document.getElementById("token").value = "secret-alice"; document.querySelector("#login button").click(); true`, nil); err != nil {
		t.Fatal(err)
	}
	var phone acd.Endpoint
	desk.until(t, "the softphone registered", func() bool { phone = desk.endpoints["alice"]; return phone != nil })

	// The caller: G.711 only.
	p, _, err := dialPage(t, st, "")
	if err != nil {
		t.Fatal(err)
	}
	g := newGoPeer(t, p)
	var heard atomic.Int64 // loudest μ-law frame the caller received, RMS
	var readers sync.WaitGroup
	t.Cleanup(readers.Wait)
	g.pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		readers.Add(1)
		go func() {
			defer readers.Done()
			for {
				pkt, _, err := tr.ReadRTP()
				if err != nil {
					return
				}
				var sum float64
				for _, b := range pkt.Payload {
					v := float64(codec.MulawDecode(b))
					sum += v * v
				}
				if n := len(pkt.Payload); n > 0 {
					if rms := int64(math.Sqrt(sum / float64(n))); rms > heard.Load() {
						heard.Store(rms)
					}
				}
			}
		}()
	})
	g.offer(t, "100", true)
	go func() {
		for g.pump(t, "any").Type != "" {
		}
	}()
	var caller *Call
	select {
	case caller = <-callers:
	case <-time.After(60 * time.Second): // hang guard
		t.Fatal("the caller was never answered")
	}

	// The ACD offers the call; the agent answers on the page.
	type offerResult struct {
		leg acd.Leg
		res acd.OfferResult
	}
	offered := make(chan offerResult, 1)
	go func() {
		leg, res, _ := phone.Offer(context.Background(), acd.Offer{OfferID: "b1", CallID: caller.ID(), Queue: "support", Agent: "alice",
			RingTimeout: 30 * time.Second, ScreenPop: acd.ScreenPop{CallerNumber: caller.Caller(), Queue: "support"}})
		offered <- offerResult{leg, res}
	}()
	page.Wait(t, "the offer", `hotline.state === "ringing"`)
	if err := page.Eval(`document.getElementById("accept").click(); true`, nil); err != nil {
		t.Fatal(err)
	}
	r := <-offered
	if r.res != acd.OfferAnswered {
		t.Fatalf("offer: %v", r.res)
	}
	leg := r.leg.(*AgentLeg)

	// Bridge them as acd/telephony's Caller.Bridge does.
	br, err := bridge.New(caller.Media(), leg.Media(), bridge.WithLogger(caller.Logger()))
	if err != nil {
		t.Fatal(err)
	}
	bctx, stopBridge := context.WithCancel(context.Background())
	bridged := make(chan error, 1)
	go func() { bridged <- br.Run(bctx) }()
	go func() {
		select {
		case <-leg.Done():
			stopBridge()
		case <-bctx.Done():
		}
	}()

	// The caller speaks (a μ-law tone, 3 s) while the agent's microphone talks.
	frame := make([]byte, 160)
	tone := sine(350, 8000, 3*time.Second)
	for i := 0; i+160 <= len(tone); i += 160 {
		for j := range frame {
			frame[j] = codec.MulawEncode(tone[i+j])
		}
		if err := g.track.WriteSample(pmedia.Sample{Data: frame, Duration: 20 * time.Millisecond}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	page.Wait(t, "the caller's audio in the agent's browser", `(async () => {
		const s = await hotline.pc.getStats();
		let ok = false;
		s.forEach(x => { if (x.type === "inbound-rtp" && x.kind === "audio" && x.totalAudioEnergy > 0) ok = true; });
		return ok;
	})()`)
	for i := 0; i < 600 && heard.Load() < 100; i++ {
		time.Sleep(100 * time.Millisecond)
	}
	if got := heard.Load(); got < 100 {
		t.Errorf("the caller heard RMS %d from the agent, want speech", got)
	}
	ab, ba := br.Stats()
	t.Logf("bridge caller→agent %+v, agent→caller %+v", ab, ba)

	// The agent hangs up: the leg ends, the bridge stops.
	if err := page.Eval(`document.getElementById("hangup").click(); true`, nil); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-bridged:
		if err != nil {
			t.Errorf("bridge: %v", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("the bridge did not stop after the agent hung up")
	}
	if end, _ := leg.End(); end != acd.EndAgent {
		t.Errorf("end %v, want agent", end)
	}
	_ = caller.Hangup(context.Background())
}
