package webrtc

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hotline-ivr/hotline/acd"
	"github.com/hotline-ivr/hotline/media"
)

// fakeDesk records what the softphone tells the ACD.
type fakeDesk struct {
	mu        sync.Mutex
	endpoints map[string]acd.Endpoint
	presence  map[string]string
	ready     int
	changed   chan struct{} // receives after every call, never blocks
}

func newFakeDesk() *fakeDesk {
	return &fakeDesk{endpoints: map[string]acd.Endpoint{}, presence: map[string]string{}, changed: make(chan struct{}, 100)}
}

func (d *fakeDesk) poke() {
	select {
	case d.changed <- struct{}{}:
	default:
	}
}

func (d *fakeDesk) SetEndpoint(id string, ep acd.Endpoint) {
	d.mu.Lock()
	if ep == nil {
		delete(d.endpoints, id)
	} else {
		d.endpoints[id] = ep
	}
	d.mu.Unlock()
	d.poke()
}

func (d *fakeDesk) SetPresence(ctx context.Context, id string, p acd.Presence, reason string) error {
	d.mu.Lock()
	d.presence[id] = p.String() + ":" + reason
	d.mu.Unlock()
	d.poke()
	return nil
}

func (d *fakeDesk) Ready(ctx context.Context, id string) error {
	d.mu.Lock()
	d.ready++
	d.mu.Unlock()
	d.poke()
	return nil
}

// until polls cond (under the desk's lock) up to a hang guard.
func (d *fakeDesk) until(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(60 * time.Second)
	for {
		d.mu.Lock()
		ok := cond()
		d.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-d.changed:
		case <-time.After(100 * time.Millisecond):
		case <-deadline:
			t.Fatalf("the desk never saw %s", what)
		}
	}
}

func testAuth(ctx context.Context, token string) (string, error) {
	if token == "secret-alice" {
		return "alice", nil
	}
	return "", errors.New("unknown token")
}

func newAgentStack(t *testing.T, desk *fakeDesk, opts ...Option) *testStack {
	t.Helper()
	return newTestStackOpts(t, Config{WrapUp: 5 * time.Second}, func(ctx context.Context, ch *Call) {},
		append([]Option{WithAgents(desk, testAuth)}, opts...)...)
}

// toneSynth "speaks" every text as a second of 440 Hz, and remembers what it was
// asked.
type toneSynth struct {
	mu                sync.Mutex
	text, voice       string
	rate, synthesized int
}

func (s *toneSynth) Synthesize(ctx context.Context, text, voice string, rate int) ([]int16, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.text, s.voice, s.rate = text, voice, rate
	s.synthesized++
	return sine(440, rate, time.Second), nil
}

func TestAgentTokens(t *testing.T) {
	auth := tokenAuth([]AgentToken{{Agent: "alice", Token: "alice-0123456789abcdef"}, {Agent: "bob", Token: "bob-0123456789abcdef"}})
	if a, err := auth(context.Background(), "bob-0123456789abcdef"); err != nil || a != "bob" {
		t.Errorf("bob's token: %q %v", a, err)
	}
	for _, bad := range []string{"", "bob", "bob-0123456789abcdeF"} {
		if a, err := auth(context.Background(), bad); err == nil {
			t.Errorf("token %q accepted as %q", bad, a)
		}
	}
	err := Config{AgentTokens: []AgentToken{{Agent: "a", Token: "short"}, {Token: "0123456789abcdef"}, {Agent: "c", Token: "0123456789abcdef"}}}.Validate()
	for _, want := range []string{"shorter than", "no agent", "used twice"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate: %v, want %q", err, want)
		}
	}
}

func TestAgentLoginRefused(t *testing.T) {
	desk := newFakeDesk()
	st := newAgentStack(t, desk)
	p, err := dialPath(t, st, DefaultBasePath+"/agent/ws")
	if err != nil {
		t.Fatal(err)
	}
	p.send(message{Type: msgLogin, Token: "wrong"})
	if m := p.next("error"); m.Code != errUnauthorized {
		t.Fatalf("got %+v, want error unauthorized", m)
	}
	if m := p.next("close"); m.Type != "" {
		t.Fatalf("got %+v, want the socket closed", m)
	}
	if v := counterValue(t, st.reg, "hotline_webrtc_signalling_errors_total"); v != 1 {
		t.Errorf("signalling errors %v, want 1", v)
	}
}

// TestBrowserAgentSoftphone drives the /agent page in headless Chromium: login with a
// token, the ACD registration, presence, an offer with its screen-pop, answer, audio
// both ways on the agent's leg, whisper, mute, hold, hang up, the wrap-up countdown
// and ready; then a declined offer and one that rings out.
func TestBrowserAgentSoftphone(t *testing.T) {
	wav := espeakWAV(t, t.TempDir(), "Good morning, this is Alice from customer service. How can I help you today?")
	desk := newFakeDesk()
	synth := &toneSynth{}
	st := newAgentStack(t, desk, WithWhisper(synth, "en-gb"))
	_, page := startChromium(t, st.srv.URL+"/agent", wav)

	page.Wait(t, "the page loaded", `document.readyState === "complete" && !!window.hotline`)
	if err := page.Eval(`document.getElementById("token").value = "secret-alice"; document.querySelector("#login button").click(); true`, nil); err != nil {
		t.Fatal(err)
	}
	page.Wait(t, "the softphone's media", `hotline.media === "answered" && hotline.connection === "connected"`)
	var phone acd.Endpoint
	desk.until(t, "the softphone registered", func() bool { phone = desk.endpoints["alice"]; return phone != nil })

	click := func(sel string) {
		t.Helper()
		if err := page.Eval(`document.querySelector(`+"`"+sel+"`"+`).click(); true`, nil); err != nil {
			t.Fatal(err)
		}
	}
	click("#break")
	desk.until(t, "break", func() bool { return desk.presence["alice"] == "break:lunch" })
	click("#available")
	desk.until(t, "available", func() bool { return desk.presence["alice"] == "available:" })

	type offerResult struct {
		leg acd.Leg
		res acd.OfferResult
		err error
	}
	offer := func(ctx context.Context, id string) chan offerResult {
		ch := make(chan offerResult, 1)
		go func() {
			leg, res, err := phone.Offer(ctx, acd.Offer{
				OfferID: id, CallID: "call-" + id, Queue: "sales", Agent: "alice", RingTimeout: 20 * time.Second,
				ScreenPop: acd.ScreenPop{Type: "offer", OfferID: id, Agent: "alice", CallID: "call-" + id, Queue: "sales",
					CallerNumber: "+15550100", WaitSeconds: 42, IVRPath: []string{"welcome", "menu"}, Intent: "billing",
					Vars: map[string]string{"account": "7731"}, Transcript: "my bill is wrong"},
			})
			ch <- offerResult{leg, res, err}
		}()
		return ch
	}
	ctx := context.Background()
	first := offer(ctx, "o1")
	page.Wait(t, "the offer", `hotline.state === "ringing" && hotline.offerId === "o1"`)
	var pop string
	if err := page.Eval(`document.getElementById("pop").textContent`, &pop); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"+15550100", "sales", "billing", "7731", "welcome → menu", "my bill is wrong"} {
		if !strings.Contains(pop, want) {
			t.Errorf("screen-pop %q lacks %q", pop, want)
		}
	}
	click("#accept")
	var r offerResult
	select {
	case r = <-first:
	case <-time.After(60 * time.Second):
		t.Fatal("Offer did not return after the agent answered")
	}
	if r.err != nil || r.res != acd.OfferAnswered {
		t.Fatalf("offer: %v %v, want answered", r.res, r.err)
	}
	leg := r.leg.(*AgentLeg)
	page.Wait(t, "talking", `hotline.state === "talking"`)
	if err := leg.Whisper(ctx, "sales: billing"); err != nil {
		t.Fatal(err)
	}
	page.Wait(t, "the whisper", `hotline.whisper === "sales: billing"`)
	// The whisper was spoken too: the synthesizer's audio at the session's rate
	// reached the page (the first audio the engine sent it).
	synth.mu.Lock()
	if synth.synthesized != 1 || synth.text != "sales: billing" || synth.voice != "en-gb" || synth.rate != 48000 {
		t.Errorf("whisper synthesized %d times: %q in %q at %d Hz, want once, the text, en-gb, 48000", synth.synthesized, synth.text, synth.voice, synth.rate)
	}
	synth.mu.Unlock()
	page.Wait(t, "the spoken whisper in the browser", `(async () => {
		const s = await hotline.pc.getStats();
		let e = 0;
		s.forEach(x => { if (x.type === "inbound-rtp" && x.kind === "audio") e += x.totalAudioEnergy || 0; });
		return e > 0;
	})()`)

	// Audio both ways on the agent's leg: the fake microphone into the session, a
	// tone from the session to the page.
	energy := &energySink{}
	stop := leg.Session().AddSink(sinkAdapter{energy})
	playCtx, stopPlay := context.WithCancel(ctx)
	played := make(chan struct{})
	go func() {
		defer close(played)
		_ = leg.Media().Play(playCtx, media.NewClip(sine(660, leg.Media().SampleRate(), 30*time.Second)))
	}()
	page.Wait(t, "audio from the engine", `(async () => {
		const s = await hotline.pc.getStats();
		let ok = false;
		s.forEach(x => { if (x.type === "inbound-rtp" && x.kind === "audio" && x.totalAudioEnergy > 0 && x.audioLevel > 0) ok = true; });
		return ok;
	})()`)
	for i := 0; i < 600 && energy.maxRMS.Load() < 100; i++ {
		time.Sleep(100 * time.Millisecond)
	}
	if got := energy.maxRMS.Load(); got < 100 {
		t.Errorf("agent audio RMS %d, want speech", got)
	}
	stop()
	stopPlay()
	<-played

	click("#mute")
	click("#hold")
	for i := 0; i < 300 && !(leg.Muted() && leg.Held()); i++ {
		time.Sleep(100 * time.Millisecond)
	}
	if !leg.Muted() || !leg.Held() {
		t.Errorf("muted %v held %v, want both", leg.Muted(), leg.Held())
	}
	page.Wait(t, "the microphone track disabled", `hotline.muted && hotline.held && !hotline.pc.getSenders()[0].track.enabled`)
	click("#hold")
	click("#mute")

	click("#hangup")
	select {
	case <-leg.Done():
	case <-time.After(60 * time.Second):
		t.Fatal("the agent's hang-up did not end the leg")
	}
	if end, _ := leg.End(); end != acd.EndAgent {
		t.Errorf("end %v, want agent", end)
	}
	_ = leg.Hangup(ctx) // the ACD always hangs up; idempotent
	page.Wait(t, "the wrap-up countdown", `hotline.state === "wrapup" && hotline.wrapLeft > 0 && !document.getElementById("wrapup").hidden`)
	click("#ready")
	desk.until(t, "ready", func() bool { return desk.ready == 1 })

	// A declined offer, then one that rings out.
	second := offer(ctx, "o2")
	page.Wait(t, "the second offer", `hotline.state === "ringing" && hotline.offerId === "o2"`)
	click("#reject")
	if r := <-second; r.res != acd.OfferRejected || r.leg != nil {
		t.Errorf("declined offer: %+v", r)
	}
	short, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	if r := <-offer(short, "o3"); r.res != acd.OfferNoAnswer {
		t.Errorf("unanswered offer: %+v", r)
	}
	page.Wait(t, "the cancelled offer", `hotline.state === "idle" && hotline.offerId === "o3"`)

	// Closing the endpoint unregisters the softphone.
	st.srv.Close()
	if err := st.ep.Close(); err != nil {
		t.Fatal(err)
	}
	desk.until(t, "the softphone unregistered", func() bool { return desk.endpoints["alice"] == nil })
}
