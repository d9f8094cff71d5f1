package loadtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/hotline-ivr/hotline/media/audio"
	"github.com/hotline-ivr/hotline/media/codec"
	"github.com/hotline-ivr/hotline/media/rtp"
)

// audioSet is the run's audio, encoded once for the chosen codec and shared by every
// call.
type audioSet struct {
	codec  codec.Codec
	idle   *clip // what a caller sends while it listens: silence, or its talk loop
	phrase *clip // what it says when the script says so; nil for none
}

// prepareAudio renders and encodes the phrase (espeak-ng text or a WAV file) and the
// idle audio for cfg's codec.
func prepareAudio(ctx context.Context, cfg *Config, c codec.Codec) (*audioSet, error) {
	set := &audioSet{codec: c}
	rate := c.SampleRate()
	spf := rate * int(cfg.Ptime/time.Millisecond) / 1000

	var speech []int16
	switch {
	case cfg.PhraseWAV != "":
		pcm, err := loadWAV(cfg.PhraseWAV, rate)
		if err != nil {
			return nil, err
		}
		speech = pcm
	case cfg.Phrase != "":
		pcm, err := renderSpeech(ctx, cfg.Espeak, cfg.Voice, cfg.Phrase, rate)
		if err != nil {
			return nil, err
		}
		speech = pcm
	}
	if len(speech) > 0 {
		cl, err := encodeClip(c, speech, spf)
		if err != nil {
			return nil, err
		}
		set.phrase = cl
	}
	if cfg.Talk && set.phrase != nil {
		set.idle = set.phrase // the caller talks all along: real audio in every packet
	} else {
		cl, err := encodeClip(c, make([]int16, spf), spf)
		if err != nil {
			return nil, err
		}
		set.idle = cl
	}
	return set, nil
}

// loadWAV reads a WAV file and resamples it to rate.
func loadWAV(path string, rate int) ([]int16, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("loadtest: phrase: %w", err)
	}
	pcm, r, err := audio.ReadWAV(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("loadtest: phrase %s: %w", path, err)
	}
	if r != rate {
		if pcm, err = audio.Resample(pcm, r, rate); err != nil {
			return nil, fmt.Errorf("loadtest: phrase %s: %w", path, err)
		}
	}
	return pcm, nil
}

// renderSpeech has espeak-ng speak text into a WAV file and reads it back at rate:
// the caller's phrase is real synthesized speech, rendered when the run starts.
func renderSpeech(ctx context.Context, espeak, voice, text string, rate int) ([]int16, error) {
	if espeak == "" {
		espeak = "espeak-ng"
	}
	path, err := exec.LookPath(espeak)
	if err != nil {
		return nil, fmt.Errorf("loadtest: %s is needed to render the phrase %q (apt-get install espeak-ng): %w", espeak, text, err)
	}
	dir, err := os.MkdirTemp("", "hotline-loadtest-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	out := filepath.Join(dir, "phrase.wav")
	if voice == "" {
		voice = "en-us"
	}
	cmd := exec.CommandContext(ctx, path, "-v", voice, "-s", "150", "-w", out, text)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("loadtest: espeak-ng %q: %w: %s", text, err, strings.TrimSpace(stderr.String()))
	}
	return loadWAV(out, rate)
}

// encodeClip encodes pcm (at c's sample rate) into one payload per frame of spf
// samples; the last frame is padded with silence.
func encodeClip(c codec.Codec, pcm []int16, spf int) (*clip, error) {
	if spf <= 0 {
		return nil, errors.New("loadtest: empty frame")
	}
	enc, err := c.NewEncoder()
	if err != nil {
		return nil, fmt.Errorf("loadtest: %s encoder: %w", c.Name(), err)
	}
	frame := make([]int16, spf)
	buf := make([]byte, slotSize-rtp.HeaderSize) // what fits in a send slot after the header
	cl := &clip{}
	for off := 0; off < len(pcm); off += spf {
		clear(frame)
		copy(frame, pcm[off:])
		n, err := enc.Encode(buf, frame)
		if err != nil {
			return nil, fmt.Errorf("loadtest: encode %s: %w", c.Name(), err)
		}
		cl.frames = append(cl.frames, bytes.Clone(buf[:n]))
	}
	if len(cl.frames) == 0 {
		return nil, errors.New("loadtest: empty audio clip")
	}
	return cl, nil
}
