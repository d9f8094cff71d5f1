package vad

import (
	"fmt"
	"math"
	"time"
)

// Event is what Process reports about a frame.
type Event int

const (
	// Unknown is the zero Event; Process returns it only for a frame it
	// rejected (wrong length, or a nil Detector), so a caller bug is
	// visible instead of silently read as "no change".
	Unknown Event = iota
	// None: the frame changed nothing.
	None
	// SpeechStart: speech has lasted MinSpeech. It began OnsetOffset ago,
	// which is what barge-in and an ASR pre-roll buffer need.
	SpeechStart
	// SpeechEnd: speech has been absent for MinSilence; for ASR this is the
	// end of the utterance.
	SpeechEnd
)

// String returns the event's name for logs.
func (e Event) String() string {
	switch e {
	case Unknown:
		return "unknown"
	case None:
		return "none"
	case SpeechStart:
		return "speech-start"
	case SpeechEnd:
		return "speech-end"
	}
	return fmt.Sprintf("Event(%d)", int(e))
}

// Detector finds speech in one call's audio, frame by frame. Create one per
// call leg and direction with New; it keeps that leg's noise model, so it
// must see the stream continuously (feed it comfort noise or silence during
// gaps rather than skipping them). After New it does not allocate. It is
// not safe for concurrent use. A nil or zero Detector does not panic: its
// Process returns Unknown.
type Detector struct {
	cfg      Config
	frameLen int     // input samples per frame
	rate     int     // analysis rate in Hz: 8000, or 16000 for 16 and 48 kHz input
	n, hop   int     // analysis window and hop, in analysis samples
	lo, hiLo int     // first FFT bin used; index in power of the first bin of the 2-4 kHz onset band
	on, off  float64 // the mode's thresholds
	startHop int     // speech hops before SpeechStart (MinSpeech)
	endHop   int     // non-speech hops before SpeechEnd (MinSilence)
	lookback int64   // how far the onset may be moved back, in analysis samples
	delay    float64 // decimator delay in analysis samples (48 kHz input)

	fft    *realFFT
	window []float64 // Hann, scaled so power is in sample-variance units
	buf    []float64 // the analysis window: n-hop samples of history, then the hop being filled
	fill   int       // samples of the current hop already in buf
	frame  []float64 // the current frame at the analysis rate
	decim  *decimator
	x      []float64 // the windowed analysis frame
	power  []float64 // |X[k]|² of the bins used
	noise  *noiseTracker
	prevA2 []float64 // previous hop's clean-speech power estimate per bin

	in       int64   // input samples processed since Reset
	analysed int64   // analysis samples that entered buf since Reset
	score    float64 // the last hop's mean log likelihood ratio
	hiSNR    float64 // the last hop's 2-4 kHz SNR in dB
	cusum    float64 // Page's CUSUM of hiSNR (see step)
	cusumAt  int64   // where the CUSUM last left zero

	hopSpeech  bool  // the last hop's decision
	speaking   bool  // between SpeechStart and SpeechEnd
	run        int   // consecutive speech hops while not speaking
	runStart   int64 // onset estimate of that run, in analysis samples
	silent     int   // consecutive non-speech hops while speaking
	onset      int64 // onset of the current or last utterance
	hadOnset   bool  // a SpeechStart has been reported since Reset
	lastSpeech int64 // date of the last speech hop of an utterance, bounding how far back an onset may move
}

// New returns a Detector for cfg, or an error wrapping ErrInvalidConfig
// that lists every problem with it.
func New(cfg Config) (*Detector, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	d := &Detector{
		cfg:      cfg,
		frameLen: int(int64(cfg.SampleRate) * int64(cfg.FrameDuration) / int64(time.Second)),
		rate:     cfg.SampleRate,
		on:       modeThresholds[cfg.Mode].on,
		off:      modeThresholds[cfg.Mode].off,
		startHop: hops(cfg.MinSpeech),
		endHop:   hops(cfg.MinSilence),
	}
	if cfg.SampleRate == 48000 {
		d.rate = 48000 / decimFactor
		d.decim = newDecimator(d.frameLen)
		d.delay = float64(decimTaps-1) / 2 / decimFactor
	}
	// A 32 ms window at both rates: bins 31.25 Hz apart, fine enough to
	// resolve the harmonics of voices above about 90 Hz.
	d.n = 256 * d.rate / 8000
	d.hop = d.rate / 100
	d.lo = (bandLowHz*d.n + d.rate - 1) / d.rate
	hi := (bandHighHz*d.n+d.rate-1)/d.rate - 1
	bins := hi - d.lo + 1
	d.hiLo = (onsetBandHz*d.n+d.rate-1)/d.rate - d.lo
	d.lookback = int64(maxLookback) * int64(d.rate) / int64(time.Second)

	d.fft = newRealFFT(d.n)
	d.window = make([]float64, d.n)
	var energy float64
	for i := range d.window {
		w := 0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/float64(d.n))
		d.window[i] = w
		energy += w * w
	}
	for i := range d.window {
		d.window[i] /= math.Sqrt(energy)
	}
	d.buf = make([]float64, d.n)
	d.frame = make([]float64, d.frameLen+1)
	d.x = make([]float64, d.n)
	d.power = make([]float64, bins)
	d.prevA2 = make([]float64, bins)
	floor := 32768 * math.Pow(10, minNoiseDBFS/20.0)
	d.noise = newNoiseTracker(bins, floor*floor)
	d.Reset()
	return d, nil
}

// Config returns the configuration in effect, defaults filled in, for logs.
func (d *Detector) Config() Config {
	if d == nil {
		return Config{}
	}
	return d.cfg
}

// FrameLen returns the number of samples Process expects per frame.
func (d *Detector) FrameLen() int {
	if d == nil {
		return 0
	}
	return d.frameLen
}

// String describes the detector for a media chain's log line, e.g.
// "vad 8000Hz/20ms mode 0".
func (d *Detector) String() string {
	if d == nil {
		return "vad <nil>"
	}
	return fmt.Sprintf("vad %dHz/%v mode %d", d.cfg.SampleRate, d.cfg.FrameDuration, d.cfg.Mode)
}

// Reset forgets the stream, including the learnt noise, so the Detector
// can be reused for another call. Do not call it between utterances of
// one call: the noise model would have to be learnt again.
func (d *Detector) Reset() {
	if d == nil || d.noise == nil {
		return
	}
	clear(d.buf)
	clear(d.prevA2)
	d.fill = 0
	if d.decim != nil {
		d.decim.reset()
	}
	d.noise.reset()
	d.in, d.analysed = 0, 0
	d.score, d.hiSNR, d.cusum, d.cusumAt = 0, 0, 0, 0
	d.hopSpeech, d.speaking = false, false
	d.run, d.runStart, d.silent, d.onset, d.hadOnset, d.lastSpeech = 0, 0, 0, 0, false, 0
}

// Speaking reports whether the detector is between a SpeechStart and its
// SpeechEnd: barge-in and "is the caller still talking" checks read it.
func (d *Detector) Speaking() bool { return d != nil && d.speaking }

// OnsetOffset returns how long before the end of the last frame passed to
// Process the current (or most recent) utterance began. Read right after
// Process returns SpeechStart, it says how much audio before that frame
// belongs to the utterance, so an ASR session can be primed from a
// pre-roll buffer and a barge-in can be timed to the first syllable rather
// than to the MinSpeech decision. It is zero before the first SpeechStart.
func (d *Detector) OnsetOffset() time.Duration {
	if d == nil || !d.hadOnset {
		return 0
	}
	now := float64(d.in) / float64(d.cfg.SampleRate)
	at := (float64(d.onset) - d.delay) / float64(d.rate)
	return max(0, time.Duration((now-at)*float64(time.Second)))
}

// Process analyses one frame of FrameLen samples and reports whether
// speech started or ended in it: None, SpeechStart or SpeechEnd, at most
// one per frame (a second transition within the same frame, possible only
// with hangovers shorter than the frame, is reported with the next one).
// A frame of any other length returns Unknown and leaves the detector
// unchanged, so a caller bug shows instead of skewing the timing. It does
// not allocate.
func (d *Detector) Process(frame []int16) Event {
	if d == nil || d.noise == nil || len(frame) != d.frameLen {
		return Unknown
	}
	d.in += int64(len(frame))
	var x []float64
	if d.decim != nil {
		x = d.frame[:d.decim.process(d.frame, frame)]
	} else {
		x = d.frame[:len(frame)]
		for i, s := range frame {
			x[i] = float64(s)
		}
	}
	ev := None
	for len(x) > 0 {
		c := copy(d.buf[d.n-d.hop+d.fill:], x)
		x = x[c:]
		d.fill += c
		d.analysed += int64(c)
		if d.fill < d.hop {
			break
		}
		// Until the window has filled once it holds the zeros of Reset,
		// which would seed the noise floor far too low.
		if d.analysed >= int64(d.n) {
			d.analyse()
			if e := d.step(ev != None); e != None {
				ev = e
			}
		}
		copy(d.buf, d.buf[d.hop:])
		d.fill = 0
	}
	return ev
}
