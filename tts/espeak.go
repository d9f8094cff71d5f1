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
	_ Backend     = (*Espeak)(nil)
	_ Settings    = (*Espeak)(nil)
	_ SSMLBackend = (*Espeak)(nil)
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

// SSML reports that Espeak speaks SSML documents (see IsSSML).
func (e *Espeak) SSML() bool { return true }

// Synthesize renders text with voice and returns mono PCM at espeak-ng's native rate
// (22050 Hz). The text goes through stdin, so nothing in it is read as an option. An
// SSML document (IsSSML) is spoken segment by segment (see ssml.go). When ctx ends
// the process is killed and the error wraps ctx's.
func (e *Espeak) Synthesize(ctx context.Context, text, voice string) ([]int16, int, error) {
	if strings.TrimSpace(text) == "" {
		return nil, 0, errors.New("tts: empty text")
	}
	if voice == "" {
		voice = DefaultVoice
	}
	if IsSSML(text) {
		return e.synthesizeSSML(ctx, text, voice)
	}
	return e.run(ctx, text, voice, false)
}

// synthesizeSSML speaks each segment of doc and joins their audio. Where a break
// separates segments (or starts or ends the document) the silence espeak-ng leaves
// at that edge is trimmed and the break's exact length inserted instead.
func (e *Espeak) synthesizeSSML(ctx context.Context, doc, voice string) ([]int16, int, error) {
	segs, err := planSSML(doc, voice)
	if err != nil {
		return nil, 0, err
	}
	var out []int16
	rate := nativeRate
	spoke, afterBreak := false, false
	for _, s := range segs {
		if s.lead > 0 {
			out = append(trimEnd(out), make([]int16, samples(s.lead, rate))...)
		}
		if s.words {
			pcm, r, err := e.run(ctx, s.markup(), s.voice, true)
			if err != nil {
				return nil, 0, err
			}
			if r != rate {
				if pcm, err = audio.Resample(pcm, r, rate); err != nil {
					return nil, 0, fmt.Errorf("tts: resample voice %q: %w", s.voice, err)
				}
			}
			if s.lead > 0 || afterBreak {
				pcm = trimStart(pcm)
			}
			if s.trail > 0 {
				pcm = trimEnd(pcm)
			}
			out = append(out, pcm...)
			spoke = true
		}
		if s.trail > 0 {
			out = append(out, make([]int16, samples(s.trail, rate))...)
		}
		afterBreak = s.trail > 0
	}
	if !spoke && len(out) == 0 {
		return nil, 0, errors.New("tts: the SSML document has nothing to say")
	}
	return out, rate, nil
}

// nativeRate is espeak-ng's output rate.
const nativeRate = 22050

func samples(d time.Duration, rate int) int { return int(int64(d) * int64(rate) / int64(time.Second)) }

// silenceLevel is the amplitude below which an edge sample counts as espeak-ng's
// silence (it pads utterances with about 300 ms at the end).
const silenceLevel = 200

func isSilent(v int16) bool { return v > -silenceLevel && v < silenceLevel }

// edgeKeep is the silence kept at a trimmed edge: the decay of the last phoneme.
const edgeKeep = 5 * time.Millisecond

// trimEnd drops the silence at the end of pcm, but edgeKeep.
func trimEnd(pcm []int16) []int16 {
	i := len(pcm)
	for i > 0 && isSilent(pcm[i-1]) {
		i--
	}
	return pcm[:min(len(pcm), i+samples(edgeKeep, nativeRate))]
}

// trimStart drops the silence at the start of pcm, but edgeKeep.
func trimStart(pcm []int16) []int16 {
	i := 0
	for i < len(pcm) && isSilent(pcm[i]) {
		i++
	}
	return pcm[max(0, i-samples(edgeKeep, nativeRate)):]
}

// run renders one text (an espeak-ng SSML document with ssml) in one process.
func (e *Espeak) run(ctx context.Context, text, voice string, ssml bool) ([]int16, int, error) {
	if strings.HasPrefix(voice, "-") {
		return nil, 0, fmt.Errorf("tts: invalid voice %q", voice)
	}
	select {
	case e.slots <- struct{}{}:
		defer func() { <-e.slots }()
	case <-ctx.Done():
		return nil, 0, ctx.Err()
	}
	args := []string{"-v", voice, "-s", strconv.Itoa(e.speed), "--stdout"}
	if ssml {
		args = append(args, "-m")
	}
	cmd := exec.CommandContext(ctx, e.path, args...)
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
