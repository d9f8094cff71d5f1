package tts

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hotline-ivr/hotline/media/audio"
)

// These tests run the real espeak-ng. They fail, never skip, when it is missing: a
// skipped test would hide a host that cannot speak a single prompt.

func needEspeak(t *testing.T, opts ...EspeakOption) *Espeak {
	t.Helper()
	e, err := NewEspeak(opts...)
	if err != nil {
		t.Fatalf("%v\nthe tts tests need espeak-ng: install it (Debian/Ubuntu: apt-get install espeak-ng)", err)
	}
	return e
}

// checkSpeech checks that pcm is at least min of audible audio at espeak-ng's rate.
func checkSpeech(t *testing.T, what string, pcm []int16, rate int, min time.Duration) {
	t.Helper()
	if rate != 22050 {
		t.Errorf("%s: rate %d Hz, want espeak-ng's 22050", what, rate)
	}
	if d := time.Duration(len(pcm)) * time.Second / 22050; d < min {
		t.Errorf("%s: %v of audio, want at least %v", what, d, min)
	}
	if level := audio.DBFS(pcm); level < -40 {
		t.Errorf("%s: %.1f dBFS looks like silence", what, level)
	}
}

func TestEspeakVoices(t *testing.T) {
	e := needEspeak(t)
	for _, tt := range []struct{ voice, text string }{
		{"en-us", "hello"},
		{"cmn", "你好"}, // Mandarin: the voice must read Han characters, not spell them
		{"", "hello"}, // DefaultVoice
	} {
		pcm, rate, err := e.Synthesize(t.Context(), tt.text, tt.voice)
		if err != nil {
			t.Errorf("voice %q: %v", tt.voice, err)
			continue
		}
		checkSpeech(t, tt.voice+" "+tt.text, pcm, rate, 200*time.Millisecond)
	}
}

// TestEspeakTextIsNotAnOption: prompt text reaches espeak-ng on stdin, so text that
// looks like an option is spoken. As an argument, --help would print text (not a WAV)
// and -v x would fail.
func TestEspeakTextIsNotAnOption(t *testing.T) {
	e := needEspeak(t)
	for _, text := range []string{"-v nosuchvoice", "--help", "-w /tmp/x.wav hello", "-5 degrees"} {
		pcm, rate, err := e.Synthesize(t.Context(), text, "en-us")
		if err != nil {
			t.Errorf("%q: %v", text, err)
			continue
		}
		checkSpeech(t, strconv.Quote(text), pcm, rate, 100*time.Millisecond)
	}
}

func TestEspeakErrors(t *testing.T) {
	e := needEspeak(t)
	for _, tt := range []struct{ name, text, voice, want string }{
		{"unknown voice", "hello", "xx-nosuchvoice", "does not exist"},
		{"voice that is an option", "hello", "-q", "invalid voice"},
		{"empty text", "  ", "en-us", "empty text"},
	} {
		_, _, err := e.Synthesize(t.Context(), tt.text, tt.voice)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err %v, want one mentioning %q", tt.name, err, tt.want)
		}
	}
}

func TestNewEspeakErrors(t *testing.T) {
	if _, err := NewEspeak(WithEspeakPath(filepath.Join(t.TempDir(), "espeak-ng"))); err == nil {
		t.Error("a missing espeak-ng path was accepted")
	}
	if _, err := NewEspeak(WithSpeed(10)); err == nil {
		t.Error("speed 10 was accepted")
	}
	e := needEspeak(t, WithSpeed(200))
	if e.Settings() != "speed=200" {
		t.Errorf("Settings() = %q", e.Settings())
	}
}

// TestEspeakCancelKillsProcess runs a stand-in for espeak-ng that records its pid and
// hangs, cancels the request, and checks that the process is gone.
func TestEspeakCancelKillsProcess(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "pid")
	script := filepath.Join(dir, "espeak-ng")
	err := os.WriteFile(script, []byte("#!/bin/sh\necho $$ > "+pidFile+".tmp && mv "+pidFile+".tmp "+pidFile+"\nexec sleep 60\n"), 0o755)
	if err != nil {
		t.Fatal(err)
	}
	e, err := NewEspeak(WithEspeakPath(script))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	pid := make(chan int, 1)
	go func() {
		defer cancel()
		for range 500 {
			if b, err := os.ReadFile(pidFile); err == nil {
				n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
				pid <- n
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
		pid <- 0
	}()
	start := time.Now()
	_, _, err = e.Synthesize(ctx, "hello", "en-us")
	elapsed := time.Since(start)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err %v, want one wrapping context.Canceled", err)
	}
	if elapsed > 2*time.Second {
		t.Errorf("Synthesize returned %v after the cancellation", elapsed)
	}
	p := <-pid
	if p == 0 {
		t.Fatal("the stand-in never started")
	}
	if err := syscall.Kill(p, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("process %d still exists after the cancellation (kill -0: %v)", p, err)
	}

	// The real program, on a long text, stops as promptly.
	e = needEspeak(t)
	ctx, cancel = context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	start = time.Now()
	_, _, err = e.Synthesize(ctx, strings.Repeat("This sentence is long enough to keep espeak busy for a while. ", 300), "en-us")
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 2*time.Second {
		t.Errorf("after %v: err %v, want a prompt context.DeadlineExceeded", time.Since(start), err)
	}
}

// TestEspeakThroughCache is the path a call takes: espeak-ng behind the cache, at 8 kHz.
func TestEspeakThroughCache(t *testing.T) {
	c, err := NewCache(needEspeak(t), WithDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	native, _, err := c.backend.Synthesize(t.Context(), "Thank you for calling.", "en-us")
	if err != nil {
		t.Fatal(err)
	}
	pcm, err := c.Synthesize(t.Context(), "Thank you for calling.", "en-us", 8000)
	if err != nil {
		t.Fatal(err)
	}
	if want := len(native) * 8000 / 22050; len(pcm) < want-2 || len(pcm) > want+2 {
		t.Errorf("%d samples at 8 kHz, want about %d", len(pcm), want)
	}
	if level := audio.DBFS(pcm); level < -40 {
		t.Errorf("%.1f dBFS looks like silence", level)
	}
}
