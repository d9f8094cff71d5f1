package vosk

import (
	"context"
	"errors"
	"os"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hotline-ivr/hotline/asr"
	"github.com/hotline-ivr/hotline/media/audio"
)

const script = "check my balance"

// utterance is half a second of silence, a second of a speech-like
// signal the VAD takes for speech, at 16 kHz.
func utterance() []int16 {
	pcm := make([]int16, 8000)
	on := audio.Tone(300, 16000, 100*time.Millisecond, 0.3)
	for i := range 10 {
		if i%3 == 2 {
			pcm = append(pcm, make([]int16, len(on))...)
		} else {
			pcm = append(pcm, on...)
		}
	}
	return pcm
}

// leakCheck fails the test if goroutines or file descriptors opened
// during it are still open when it ends (after the fake server stopped).
func leakCheck(t *testing.T) {
	t.Helper()
	g, fds := runtime.NumGoroutine(), openFDs(t)
	t.Cleanup(func() {
		deadline := time.Now().Add(3 * time.Second)
		for {
			ng, nf := runtime.NumGoroutine(), openFDs(t)
			if ng <= g && nf <= fds {
				return
			}
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<16)
				t.Errorf("leak: goroutines %d -> %d, file descriptors %d -> %d\n%s", g, ng, fds, nf, buf[:runtime.Stack(buf, true)])
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}

func openFDs(t *testing.T) int {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}

func transcribe(t *testing.T, b asr.Backend, req asr.Request) (asr.Result, []asr.Result, time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s, err := asr.NewSession(ctx, "vosk", b, req, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	start := time.Now()
	var partials []asr.Result
	got := make(chan struct{})
	go func() {
		defer close(got)
		for r := range s.Results() {
			if !r.IsFinal {
				partials = append(partials, r)
			}
		}
	}()
	res, err := asr.Transcribe(ctx, s, utterance(), 16000)
	if err != nil {
		t.Fatal(err)
	}
	<-got
	return res, partials, time.Since(start)
}

func TestRecognise(t *testing.T) {
	leakCheck(t)
	srv := newFakeServer(t, script)
	b, err := New(srv.url("ok"), WithTimeouts(time.Second, time.Second))
	if err != nil {
		t.Fatal(err)
	}
	req := asr.Request{Phrases: []string{"Check my balance!", "Agent"}, Partials: true}
	res, partials, _ := transcribe(t, b, req)
	if res.Outcome != asr.OutcomeFinal || res.Text != script || res.Confidence != 0.9 {
		t.Fatalf("%+v", res)
	}
	if len(res.Words) != 3 || res.Words[2].Text != "balance" || res.Words[2].Start != 600*time.Millisecond {
		t.Errorf("words %+v", res.Words)
	}
	if len(partials) == 0 || partials[len(partials)-1].Text != script {
		t.Errorf("partials %+v", partials)
	}
	srv.mu.Lock()
	cfg, sent := srv.configs[0]["config"].(map[string]any), srv.audio[0]
	srv.mu.Unlock()
	phrases, _ := cfg[DefaultGrammarField].([]any)
	if cfg["sample_rate"] != 16000.0 || cfg["words"] != true || len(phrases) != 3 || phrases[0] != "check my balance" || phrases[2] != unknownWord {
		t.Errorf("config %v", cfg)
	}
	if want := int(res.Audio.Seconds() * 16000 * 2); sent != want {
		t.Errorf("server got %d bytes of audio, the session sent %d", sent, want)
	}
}

func TestSegmentsAndUnknown(t *testing.T) {
	leakCheck(t)
	srv := newFakeServer(t, script)
	for mode, want := range map[string]struct {
		outcome asr.Outcome
		text    string
	}{
		"segments": {asr.OutcomeFinal, "please " + script},
		"unk":      {asr.OutcomeNoMatch, ""},
		"closeeof": {asr.OutcomeNoMatch, ""},
	} {
		b, err := New(srv.url(mode), WithTimeouts(time.Second, time.Second))
		if err != nil {
			t.Fatal(err)
		}
		res, _, _ := transcribe(t, b, asr.Request{Mode: asr.ModeOpen})
		if res.Outcome != want.outcome || res.Text != want.text {
			t.Errorf("%s: %v %q (%v), want %v %q", mode, res.Outcome, res.Text, res.Err, want.outcome, want.text)
		}
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if _, ok := srv.configs[0]["config"].(map[string]any)[DefaultGrammarField]; ok {
		t.Errorf("open mode sent a phrase list: %v", srv.configs[0])
	}
}

// TestMisbehavingServers: whatever the server does, the session ends
// with an error within its timeouts and leaves no goroutine or socket
// behind.
func TestMisbehavingServers(t *testing.T) {
	srv := newFakeServer(t, script)
	const read = 300 * time.Millisecond
	for _, tc := range []struct {
		name string
		url  string
		want error
	}{
		{"hangs", srv.url("hang"), asr.ErrTimeout},
		{"stops reading", srv.url("deaf"), asr.ErrTimeout},
		{"closes mid-stream", srv.url("close"), nil},
		{"garbage JSON", srv.url("garbage"), nil},
		{"slow final result", srv.url("slow"), asr.ErrTimeout},
		{"no handshake", deafListener(t), asr.ErrTimeout},
		{"refused", "ws://127.0.0.1:1/", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			leakCheck(t)
			b, err := New(tc.url, WithTimeouts(read, read))
			if err != nil {
				t.Fatal(err)
			}
			res, _, took := transcribe(t, b, asr.Request{Phrases: []string{"agent"}, ResultTimeout: 2 * time.Second})
			srv.release()
			t.Logf("%v after %v: %v", res.Outcome, took, res.Err)
			if res.Outcome != asr.OutcomeError {
				t.Fatalf("outcome %v, want error", res.Outcome)
			}
			if tc.want != nil && !errors.Is(res.Err, tc.want) {
				t.Errorf("err %v, want %v", res.Err, tc.want)
			}
			deadline := time.Now().Add(2 * time.Second)
			for srv.active.Load() != 0 && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			if n := srv.active.Load(); n != 0 {
				t.Errorf("%d connections still open on the server", n)
			}
		})
	}
}

// TestFallbackFromSlowServer: a registry falls back from a server that
// is slower than the latency budget to one that answers.
func TestFallbackFromSlowServer(t *testing.T) {
	leakCheck(t)
	srv := newFakeServer(t, script)
	slow, _ := New(srv.url("slow"))
	ok, _ := New(srv.url("ok"))
	preg := prometheus.NewRegistry()
	m, err := asr.NewMetrics(preg)
	if err != nil {
		t.Fatal(err)
	}
	reg := asr.NewRegistry(asr.WithMetrics(m))
	if err := reg.Register("remote", slow); err != nil {
		t.Fatal(err)
	}
	if err := reg.Register("backup", ok); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := reg.NewSession(ctx, asr.Request{Fallback: "backup", LatencyBudget: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	res, err := asr.Transcribe(ctx, s, utterance(), 16000)
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != asr.OutcomeFinal || res.Backend != "backup" || res.Text != script {
		t.Errorf("%v %q from %q (%v)", res.Outcome, res.Text, res.Backend, res.Err)
	}
	// The slow server answers 2 s after EOF, within ResultTimeout: only
	// the 300 ms latency budget can have made "backup" the answer.
	t.Logf("latency %v with a 300 ms budget", res.Latency)
}

func TestOptions(t *testing.T) {
	for _, bad := range [][]Option{
		{WithSampleRate(44100)},
		{WithChunk(time.Hour)},
		{WithGrammarField("")},
	} {
		if _, err := New("ws://x/", bad...); err == nil {
			t.Error("accepted bad options")
		}
	}
	if _, err := New("http://x/"); err == nil {
		t.Error("accepted an http URL")
	}
	if _, err := New(""); err == nil {
		t.Error("accepted no URL")
	}
	b, err := New("", WithLanguageURL("zh", "ws://zh/"), WithLanguageURL("en-GB", "ws://gb/"), WithSampleRate(8000))
	if err != nil {
		t.Fatal(err)
	}
	if b.SampleRate() != 8000 {
		t.Errorf("rate %d", b.SampleRate())
	}
	for lang, want := range map[string]string{"zh-CN": "ws://zh/", "en_GB": "ws://gb/", "zh": "ws://zh/"} {
		if got, err := b.urlFor(lang); got != want || err != nil {
			t.Errorf("%s: %q %v", lang, got, err)
		}
	}
	if err := b.Validate(asr.Request{Language: "fr"}); !errors.Is(err, asr.ErrUnsupported) {
		t.Errorf("French: %v", err)
	}
	if err := b.Validate(asr.Request{Mode: asr.ModeGrammar, Grammar: "#JSGF V1.0;", Language: "zh"}); !errors.Is(err, asr.ErrUnsupported) {
		t.Errorf("raw grammar: %v", err)
	}
	if got := phraseList([]string{"Check my balance!", "  ", "查询余额", "don't"}); !slices.Equal(got, []string{"check my balance", "查询余额", "don't"}) {
		t.Errorf("phrases %q", got)
	}
}
