package webrtc

import (
	"context"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hotline-ivr/hotline/media"
)

// espeakWAV renders text with espeak-ng into a WAV file in dir: the fake microphone.
func espeakWAV(t *testing.T, dir, text string) string {
	t.Helper()
	bin, err := exec.LookPath("espeak-ng")
	if err != nil {
		t.Fatalf("espeak-ng is required for the browser tests' fake microphone: install it with `apt-get install espeak-ng`: %v", err)
	}
	path := filepath.Join(dir, "caller.wav")
	if out, err := exec.Command(bin, "-w", path, text).CombinedOutput(); err != nil {
		t.Fatalf("espeak-ng: %v: %s", err, out)
	}
	return path
}

// sine is n samples of a tone at rate.
func sine(freq float64, rate int, d time.Duration) []int16 {
	n := int(int64(rate) * int64(d) / int64(time.Second))
	pcm := make([]int16, n)
	for i := range pcm {
		pcm[i] = int16(8000 * math.Sin(2*math.Pi*freq*float64(i)/float64(rate)))
	}
	return pcm
}

// energySink keeps the loudest frame's RMS of the caller's audio (the media clock
// goroutine writes, the test reads).
type energySink struct{ maxRMS atomic.Int64 }

func (s *energySink) WriteSample(pcm []int16) error {
	var sum float64
	for _, v := range pcm {
		sum += float64(v) * float64(v)
	}
	if len(pcm) > 0 {
		rms := int64(math.Sqrt(sum / float64(len(pcm))))
		for {
			old := s.maxRMS.Load()
			if rms <= old || s.maxRMS.CompareAndSwap(old, rms) {
				break
			}
		}
	}
	return nil
}

// testStack is a media engine, an endpoint with handler, and an HTTP server on
// loopback.
type testStack struct {
	eng *media.Engine
	ep  *Endpoint
	srv *httptest.Server
	reg *prometheus.Registry
}

func newTestStack(t *testing.T, cfg Config, handler Handler) *testStack {
	t.Helper()
	return newTestStackOpts(t, cfg, handler)
}

func newTestStackOpts(t *testing.T, cfg Config, handler Handler, opts ...Option) *testStack {
	t.Helper()
	reg := prometheus.NewRegistry()
	eng, err := media.NewEngine(media.Config{Quarantine: time.Nanosecond}, media.WithRegistry(reg))
	if err != nil {
		t.Fatal(err)
	}
	cfg.IncludeLoopback = true
	ep, err := New(cfg, eng, handler, append([]Option{withLoopbackOnly(), WithRegistry(reg), WithLogger(testLogger(t))}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	ep.Register(mux)
	srv := httptest.NewServer(mux)
	st := &testStack{eng: eng, ep: ep, srv: srv, reg: reg}
	t.Cleanup(func() {
		srv.Close()
		if err := ep.Close(); err != nil {
			t.Errorf("closing the endpoint: %v", err)
		}
		if n := eng.Sessions(); n != 0 {
			t.Errorf("%d media sessions left after Close", n)
		}
		eng.Close()
	})
	return st
}

// TestBrowserCallPromptDigitPrompt is the end-to-end case in a real browser: the /call
// page (headless Chromium, fake microphone playing an espeak-ng WAV) calls the
// endpoint; the handler answers, plays a prompt, waits for a digit pressed on the
// page's keypad (RFC 4733 from RTCDTMFSender), then plays another prompt. It checks
// ICE connected, Opus negotiated, the digit, the caller's audio in the session, and
// the engine's audio in the browser (getStats inbound-rtp energy).
func TestBrowserCallPromptDigitPrompt(t *testing.T) {
	wav := espeakWAV(t, t.TempDir(), "Hello, I would like to speak to sales, please. One two three four five.")

	type result struct {
		caller, called string
		rate           int
		digit          byte
		err            error
	}
	results := make(chan result, 1)
	firstDone := make(chan struct{})
	energy := &energySink{}
	var handlerCall atomic.Pointer[Call]
	handler := func(ctx context.Context, ch *Call) {
		handlerCall.Store(ch)
		r := result{caller: ch.Caller(), called: ch.Called()}
		defer func() { results <- r }()
		if r.err = ch.Ring(ctx); r.err != nil {
			return
		}
		if r.err = ch.Answer(ctx); r.err != nil {
			return
		}
		r.rate = ch.SampleRate()
		stop := ch.ListenAudio(energy)
		defer stop()
		if r.err = ch.Play(ctx, media.NewClip(sine(440, r.rate, time.Second))); r.err != nil {
			return
		}
		close(firstDone)
		select {
		case r.digit = <-ch.Digits():
		case <-ctx.Done():
			r.err = ctx.Err()
			return
		}
		results <- r
		r = result{}
		// The second prompt: long enough for the test to measure it, cut by hang-up.
		_ = ch.Play(ctx, media.NewClip(sine(880, ch.SampleRate(), 60*time.Second)))
	}
	st := newTestStack(t, Config{DefaultCalled: "100"}, handler)
	_, page := startChromium(t, st.srv.URL+"/call", wav)

	page.Wait(t, "the page loaded", `document.readyState === "complete" && !!window.hotline`)
	if err := page.Eval(`document.getElementById("call").click(); true`, nil); err != nil {
		t.Fatal(err)
	}
	page.Wait(t, "ICE connected", `hotline.connection === "connected"`)
	page.Wait(t, "answered", `hotline.state === "answered"`)

	select {
	case <-firstDone:
	case r := <-results:
		t.Fatalf("handler ended early: %+v", r)
	case <-time.After(60 * time.Second): // hang guard
		t.Fatal("the first prompt never finished")
	}
	if err := page.Eval(`document.querySelector('#keypad [data-digit="5"]').click(); hotline.digitsSent`, nil); err != nil {
		t.Fatal(err)
	}
	var r result
	select {
	case r = <-results:
	case <-time.After(60 * time.Second):
		var dbg any
		_ = page.Eval(`JSON.stringify({sent: hotline.digitsSent, state: hotline.state})`, &dbg)
		dumpMetrics(t, st.reg)
		t.Fatalf("the handler never received the keypad digit (page %v)", dbg)
	}
	if r.err != nil {
		t.Fatalf("handler: %v", r.err)
	}
	if r.digit != '5' {
		t.Errorf("digit = %q, want '5'", r.digit)
	}
	if r.called != "100" || r.caller != DefaultCaller {
		t.Errorf("caller %q called %q, want %q and 100", r.caller, r.called, DefaultCaller)
	}
	if r.rate != 48000 {
		t.Errorf("sample rate %d, want 48000 (Opus)", r.rate)
	}
	call := handlerCall.Load()
	if got := call.Codec(); got != "opus/48000" {
		t.Errorf("codec %q, want opus/48000", got)
	}

	// The answer: Opus with in-band FEC, and only the 48 kHz telephone-event.
	var answer string
	if err := page.Eval(`hotline.pc.remoteDescription.sdp`, &answer); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"opus/48000/2", "useinbandfec=1", "telephone-event/48000", "a=fingerprint:sha-256", "a=setup:"} {
		if !strings.Contains(answer, want) {
			t.Errorf("answer lacks %q:\n%s", want, answer)
		}
	}
	if strings.Contains(answer, "telephone-event/8000") || strings.Contains(answer, "PCMU") {
		t.Errorf("answer names more than one codec:\n%s", answer)
	}

	// The engine's audio reached the browser: inbound-rtp energy grows.
	page.Wait(t, "audio from the engine", `(async () => {
		const s = await hotline.pc.getStats();
		let ok = false;
		s.forEach(x => { if (x.type === "inbound-rtp" && x.kind === "audio" && x.packetsReceived > 0 && x.totalAudioEnergy > 0 && x.audioLevel > 0) ok = true; });
		return ok;
	})()`)
	var codecMime string
	if err := page.Eval(`(async () => {
		const s = await hotline.pc.getStats();
		let id = "", mime = "";
		s.forEach(x => { if (x.type === "inbound-rtp" && x.kind === "audio") id = x.codecId; });
		s.forEach(x => { if (x.id === id) mime = x.mimeType; });
		return mime;
	})()`, &codecMime); err != nil {
		t.Fatal(err)
	}
	if codecMime != "audio/opus" {
		t.Errorf("browser receives %q, want audio/opus", codecMime)
	}

	// The browser's microphone reached the session: the espeak-ng speech has energy.
	for i := 0; i < 600 && energy.maxRMS.Load() < 100; i++ {
		time.Sleep(100 * time.Millisecond)
	}
	if got := energy.maxRMS.Load(); got < 100 {
		t.Errorf("caller audio RMS %d, want speech (>= 100)", got)
	}
	var micLevel float64
	_ = page.Eval(`hotline.micLevel || 0`, &micLevel)
	if micLevel <= 0 {
		t.Errorf("the page's microphone meter never moved (%v)", micLevel)
	}

	// Hang up from the page: the call ends with cause "caller" and releases everything.
	if err := page.Eval(`document.getElementById("hangup").click(); true`, nil); err != nil {
		t.Fatal(err)
	}
	select {
	case <-call.Done():
	case <-time.After(30 * time.Second):
		t.Fatal("the call did not end after the page hung up")
	}
	if c := call.Cause(); c != "caller" {
		t.Errorf("cause %q, want caller", c)
	}
	page.Wait(t, "the page shows the call ended", `hotline.state === "ended"`)
	if n := st.ep.Calls(); n != 0 {
		t.Errorf("%d calls still up", n)
	}
	if v := counterValue(t, st.reg, "hotline_webrtc_calls_total"); v != 1 {
		t.Errorf("hotline_webrtc_calls_total = %v, want 1", v)
	}
	_ = os.Remove(wav)
}

// TestBrowserTabClosedMidCall: closing the tab in the middle of a call ends it (cause
// caller), cancels the flow's context and releases the media session.
func TestBrowserTabClosedMidCall(t *testing.T) {
	wav := espeakWAV(t, t.TempDir(), "Hello?")
	answered := make(chan *Call, 1)
	flowDone := make(chan struct{})
	st := newTestStack(t, Config{}, func(ctx context.Context, ch *Call) {
		defer close(flowDone)
		if ch.Answer(ctx) != nil {
			return
		}
		answered <- ch
		_ = ch.Play(ctx, media.NewClip(sine(440, ch.SampleRate(), time.Minute)))
	})
	_, page := startChromium(t, st.srv.URL+"/call", wav)
	page.Wait(t, "the page loaded", `document.readyState === "complete" && !!window.hotline`)
	if err := page.Eval(`document.getElementById("call").click(); true`, nil); err != nil {
		t.Fatal(err)
	}
	var call *Call
	select {
	case call = <-answered:
	case <-time.After(60 * time.Second): // hang guard
		t.Fatal("the call was never answered")
	}
	page.Wait(t, "answered", `hotline.state === "answered"`)
	if err := page.Call("Page.close", map[string]any{}, nil); err != nil {
		t.Fatal(err)
	}
	select {
	case <-flowDone:
	case <-time.After(60 * time.Second):
		t.Fatal("the flow kept running after the tab closed")
	}
	<-call.Done()
	if c := call.Cause(); c != "caller" {
		t.Errorf("cause %q, want caller", c)
	}
	for i := 0; i < 100 && st.eng.Sessions() != 0; i++ {
		time.Sleep(50 * time.Millisecond)
	}
	if n := st.eng.Sessions(); n != 0 {
		t.Errorf("%d media sessions left", n)
	}
}
