package tts

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/hotline-ivr/hotline/media/audio"
)

// DefaultVoice is the espeak-ng voice used when a flow names none.
const DefaultVoice = "en-us"

// The speaking rates espeak-ng accepts (-s), in words per minute.
const (
	minSpeed     = 80
	maxSpeed     = 450
	defaultSpeed = 160
)

// Espeak synthesizes speech with the espeak-ng program (Debian package espeak-ng). A
// process per utterance keeps libespeak-ng's global state out of the engine and lets
// several prompts render in parallel; the prompt cache makes the cost a one-off.
type Espeak struct {
	path  string
	speed int
	slots chan struct{}
}

var (
	_ Backend  = (*Espeak)(nil)
	_ Settings = (*Espeak)(nil)
)

// EspeakOption adjusts an Espeak backend.
type EspeakOption func(*Espeak)

// WithEspeakPath sets the espeak-ng binary (default: espeak-ng, looked up in PATH).
func WithEspeakPath(p string) EspeakOption { return func(e *Espeak) { e.path = p } }

// WithSpeed sets the speaking rate in words per minute (espeak-ng -s, default 160,
// from 80 to 450).
func WithSpeed(wpm int) EspeakOption { return func(e *Espeak) { e.speed = wpm } }

// NewEspeak finds the espeak-ng program. It fails when it is not installed, so a
// misconfigured host is reported at start-up, not on the first call.
func NewEspeak(opts ...EspeakOption) (*Espeak, error) {
	e := &Espeak{speed: defaultSpeed, slots: make(chan struct{}, runtime.NumCPU())}
	for _, o := range opts {
		o(e)
	}
	if e.speed < minSpeed || e.speed > maxSpeed {
		return nil, fmt.Errorf("tts: espeak-ng speed %d is outside %d-%d words per minute", e.speed, minSpeed, maxSpeed)
	}
	name := e.path
	if name == "" {
		name = "espeak-ng"
	}
	p, err := exec.LookPath(name) // also checks that a configured path is an executable
	if err != nil {
		return nil, fmt.Errorf("tts: espeak-ng not found (install the Debian package espeak-ng): %w", err)
	}
	e.path = p
	return e, nil
}

// Name identifies the backend in cache keys and metrics.
func (e *Espeak) Name() string { return "espeak" }

// Settings names the speed, which changes the audio, for the disk cache's file names.
func (e *Espeak) Settings() string { return "speed=" + strconv.Itoa(e.speed) }

// waitDelay bounds how long Synthesize waits for espeak-ng's output to close after the
// process was killed (a child holding the pipe would otherwise keep Wait blocked).
const waitDelay = time.Second

// Synthesize renders text with voice and returns mono PCM at espeak-ng's native rate
// (22050 Hz). The text goes through stdin, so nothing in it is read as an option. When
// ctx ends the process is killed and the error wraps ctx's.
func (e *Espeak) Synthesize(ctx context.Context, text, voice string) ([]int16, int, error) {
	if strings.TrimSpace(text) == "" {
		return nil, 0, errors.New("tts: empty text")
	}
	if voice == "" {
		voice = DefaultVoice
	}
	if strings.HasPrefix(voice, "-") {
		return nil, 0, fmt.Errorf("tts: invalid voice %q", voice)
	}
	select {
	case e.slots <- struct{}{}:
		defer func() { <-e.slots }()
	case <-ctx.Done():
		return nil, 0, ctx.Err()
	}
	cmd := exec.CommandContext(ctx, e.path, "-v", voice, "-s", strconv.Itoa(e.speed), "--stdout")
	cmd.Stdin = strings.NewReader(text)
	var out, stderr bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &stderr
	cmd.WaitDelay = waitDelay
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil { // killed because the caller went away: say so, for errors.Is
			return nil, 0, fmt.Errorf("tts: espeak-ng voice %q: %w", voice, ctx.Err())
		}
		return nil, 0, fmt.Errorf("tts: espeak-ng voice %q: %w: %s", voice, err, strings.TrimSpace(stderr.String()))
	}
	pcm, rate, err := audio.ReadWAV(&out)
	if err != nil {
		return nil, 0, fmt.Errorf("tts: read espeak-ng output: %w", err)
	}
	if len(pcm) == 0 {
		return nil, 0, fmt.Errorf("tts: espeak-ng produced no audio for voice %q: %s", voice, strings.TrimSpace(stderr.String()))
	}
	return pcm, rate, nil
}
