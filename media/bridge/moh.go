package bridge

import (
	"fmt"
	"math"
	"os"
	"sync"
	"sync/atomic"

	"github.com/hotline-ivr/hotline/media"
	"github.com/hotline-ivr/hotline/media/audio"
)

// Music on hold: a loop that never ends and never goes silent, from a WAV file or
// from the built-in tune, rendered once per sample rate and shared by every call
// (each call reads it through its own Loop).

// Music renders hold music at whatever rates the calls need and caches it. It is
// safe for concurrent use; the zero value is not: use NewMusic.
type Music struct {
	path string

	mu     sync.Mutex
	byRate map[int][]int16
	pcm    []int16 // the file's audio at its own rate (nil for the tune)
	rate   int
}

// NewMusic returns hold music from the WAV file at path (any format audio.ReadWAV
// reads, resampled to each call's rate), or the built-in tune when path is "". A
// file that cannot be read or holds no audio is an error now, not a silent caller
// later.
func NewMusic(path string) (*Music, error) {
	m := &Music{path: path, byRate: make(map[int][]int16)}
	if path == "" {
		return m, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("bridge: hold music: %w", err)
	}
	defer f.Close()
	pcm, rate, err := audio.ReadWAV(f)
	if err != nil {
		return nil, fmt.Errorf("bridge: hold music %s: %w", path, err)
	}
	if audio.RMS(pcm) < 1 {
		return nil, fmt.Errorf("bridge: hold music %s: no audio (silent or empty)", path)
	}
	m.pcm, m.rate = pcm, rate
	return m, nil
}

// PCM returns the music at rate (rendered on first use, then shared: do not modify).
func (m *Music) PCM(rate int) ([]int16, error) {
	if rate <= 0 {
		return nil, fmt.Errorf("bridge: hold music at rate %d", rate)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if pcm, ok := m.byRate[rate]; ok {
		return pcm, nil
	}
	var pcm []int16
	if m.pcm == nil {
		pcm = Tune(rate)
	} else {
		var err error
		if pcm, err = audio.Resample(m.pcm, m.rate, rate); err != nil {
			return nil, fmt.Errorf("bridge: hold music to %d Hz: %w", rate, err)
		}
	}
	m.byRate[rate] = pcm
	return pcm, nil
}

// Prepare renders the music at rates now, so the first caller at each rate does not
// wait for it (the built-in tune takes a moment to synthesize).
func (m *Music) Prepare(rates ...int) error {
	for _, r := range rates {
		if _, err := m.PCM(r); err != nil {
			return err
		}
	}
	return nil
}

// Source returns a new endless Loop of the music at rate, for one call.
func (m *Music) Source(rate int) (*Loop, error) {
	pcm, err := m.PCM(rate)
	if err != nil {
		return nil, err
	}
	return NewLoop(pcm), nil
}

// Loop plays a PCM buffer over and over with no gap at the seam. The buffer is
// shared, not copied. A Loop remembers where it is, so hold music interrupted by an
// announcement resumes where it stopped. Not safe for concurrent use (one call's
// clock tick reads it).
type Loop struct {
	pcm []int16
	off int
}

var _ media.Source = (*Loop)(nil)

// NewLoop returns a Source that repeats pcm forever (silence if pcm is empty).
func NewLoop(pcm []int16) *Loop { return &Loop{pcm: pcm} }

// Read fills the whole frame, wrapping around the end of the buffer; it never ends.
func (l *Loop) Read(frame []int16) (int, error) {
	if len(l.pcm) == 0 {
		clear(frame)
		return len(frame), nil
	}
	n := 0
	for n < len(frame) {
		c := copy(frame[n:], l.pcm[l.off:])
		n += c
		l.off += c
		if l.off >= len(l.pcm) {
			l.off = 0
		}
	}
	return n, nil
}

// Player wraps a Source with pause, resume and a volume, adjustable from any
// goroutine while the media clock reads it: pausing plays silence without moving
// the source on (hold music resumes where it paused), and the gain applies from the
// next frame.
type Player struct {
	src    media.Source
	paused atomic.Bool
	gainQ  atomic.Int32 // linear gain in Q12 fixed point (4096 = 0 dB)
}

var _ media.Source = (*Player)(nil)

// NewPlayer wraps src at 0 dB, playing.
func NewPlayer(src media.Source) *Player {
	p := &Player{src: src}
	p.gainQ.Store(1 << 12)
	return p
}

// Pause makes the player silent until Resume.
func (p *Player) Pause() { p.paused.Store(true) }

// Resume continues where Pause stopped.
func (p *Player) Resume() { p.paused.Store(false) }

// SetGainDB sets the volume in decibels (negative quieter), clamped to -60..+12 dB;
// at -60 dB or below the player is silent.
func (p *Player) SetGainDB(db float64) {
	db = min(max(db, -60), 12)
	g := int32(math.Round(math.Pow(10, db/20) * (1 << 12)))
	if db <= -60 {
		g = 0
	}
	p.gainQ.Store(g)
}

// Read reads the wrapped source (or silence while paused) and applies the gain.
func (p *Player) Read(frame []int16) (int, error) {
	if p.paused.Load() {
		clear(frame)
		return len(frame), nil
	}
	n, err := p.src.Read(frame)
	n = max(0, min(n, len(frame)))
	if g := p.gainQ.Load(); g != 1<<12 {
		for i, s := range frame[:n] {
			v := (int32(s)*g + 1<<11) >> 12
			frame[i] = int16(min(max(v, math.MinInt16), math.MaxInt16))
		}
	}
	return n, err
}

// Tune renders the built-in hold music at rate: an eight-second loop of four chords
// (C, A minor, F, G) with a soft arpeggio above, about -20 dBFS, never silent, and
// seamless at the loop point (every voice's phase carries over from chord to
// chord, and the end is cross-faded into the start).
func Tune(rate int) []int16 {
	const (
		chordSec = 2.0
		fadeSec  = 0.05
		noteSec  = 0.25
	)
	// MIDI note numbers: each chord's three pad voices and its four arpeggio notes.
	chords := [][3]int{{48, 52, 55}, {45, 48, 52}, {41, 45, 48}, {43, 47, 50}}
	arps := [][4]int{{72, 76, 79, 76}, {69, 72, 76, 72}, {65, 69, 72, 69}, {67, 71, 74, 71}}
	hz := func(n int) float64 { return 440 * math.Pow(2, float64(n-69)/12) }

	per := int(chordSec * float64(rate))
	total := per * len(chords)
	fade := int(fadeSec * float64(rate))
	buf := make([]float64, total+fade)
	var phase [4]float64 // three pad voices and the arpeggio voice
	noteLen := int(noteSec * float64(rate))
	for i := range buf {
		c := (i / per) % len(chords)
		inChord := i % per
		for v := range 3 {
			phase[v] += 2 * math.Pi * hz(chords[c][v]) / float64(rate)
			buf[i] += 0.09 * math.Sin(phase[v])
		}
		k := (inChord / noteLen) % 4
		t := float64(inChord%noteLen) / float64(noteLen)
		env := 0.35 + 0.65*math.Exp(-4*t) // a plucked note over the pad, never zero
		phase[3] += 2 * math.Pi * hz(arps[c][k]) / float64(rate)
		buf[i] += 0.08 * env * math.Sin(phase[3])
	}
	out := make([]int16, total)
	for i := range out {
		x := buf[i]
		if i < fade { // the tail beyond the loop point fades into the head
			w := float64(i) / float64(fade)
			x = w*buf[i] + (1-w)*buf[total+i]
		}
		out[i] = int16(math.Round(x * math.MaxInt16))
	}
	return out
}
