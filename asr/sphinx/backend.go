package sphinx

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hotline-ivr/hotline/asr"
)

// Defaults for the zero options.
const (
	// DefaultModelDir is where Debian's pocketsphinx-en-us installs the US
	// English model: the acoustic model in en-us/, cmudict-en-us.dict and
	// en-us.lm.bin.
	DefaultModelDir = "/usr/share/pocketsphinx/model/en-us"
	// DefaultPoolSize is how many decoders the pool holds: with batch
	// decoding a session holds one only for the tens of milliseconds of its
	// final decode (or its whole utterance with partial results), so two
	// serve many concurrent calls on a small machine.
	DefaultPoolSize = 2
	// DefaultLanguage is the language of the default model.
	DefaultLanguage = "en-US"
	// SampleRate is the rate of the en-us acoustic model.
	SampleRate = 16000
)

// Confidence mapping for grammar mode; see the package documentation.
const (
	covLow    = 0.4  // coverage at or below which confidence is 0
	covHigh   = 0.7  // coverage from which the coverage factor is 1
	llrCenter = -2.0 // per-frame acoustic LLR at which the logistic is 0.5
	llrScale  = 2.5  // per-frame LLR per logistic unit
)

// partialEvery is how much audio (in samples) passes between partial
// hypotheses in live mode: 200 ms.
const partialEvery = SampleRate / 5

// Option configures New.
type Option func(*config)

type config struct {
	hmm, dict, lm string
	size, preload int
	lang          string
	reg           prometheus.Registerer
	name          string
	log           *slog.Logger
}

// WithModel takes the acoustic model, dictionary and language model from
// dir laid out like DefaultModelDir (en-us/, cmudict-en-us.dict,
// en-us.lm.bin).
func WithModel(dir string) Option {
	return func(c *config) {
		c.hmm = filepath.Join(dir, "en-us")
		c.dict = filepath.Join(dir, "cmudict-en-us.dict")
		c.lm = filepath.Join(dir, "en-us.lm.bin")
	}
}

// WithFiles names the acoustic model directory, the pronunciation
// dictionary and the language model (lm "" disables open mode) of another
// model, such as a language other than US English.
func WithFiles(hmm, dict, lm string) Option {
	return func(c *config) { c.hmm, c.dict, c.lm = hmm, dict, lm }
}

// WithPoolSize sets how many decoders may exist (default DefaultPoolSize);
// a session needing one when all are busy waits with its context.
func WithPoolSize(n int) Option { return func(c *config) { c.size = n } }

// WithPreload sets how many decoders New loads up front (default: the pool
// size), so the first callers do not pay for loading the model.
func WithPreload(n int) Option { return func(c *config) { c.preload = n } }

// WithLanguage sets the BCP 47 tag the model recognises (default
// DefaultLanguage); requests for another language fail with
// asr.ErrUnsupported. Tags match on the primary language subtag.
func WithLanguage(tag string) Option { return func(c *config) { c.lang = tag } }

// WithMetrics registers the pool's series in reg, labelled backend=name:
// hotline_asr_sphinx_decoders{state="idle|busy"} and
// hotline_asr_sphinx_decoder_wait_seconds.
func WithMetrics(reg prometheus.Registerer, name string) Option {
	return func(c *config) { c.reg, c.name = reg, name }
}

// WithLogger sets the logger for backend events (pool growth).
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.log = l } }

// Backend is the embedded PocketSphinx recognizer. Create it once per
// process with New (it loads the dictionary and preloads decoders) and
// register it with an asr.Registry; Close frees the decoders at shutdown.
type Backend struct {
	cfg       config
	dict      *dictionary
	pool      *pool
	bufs      sync.Pool // *[]int16 utterance buffers
	closeOnce sync.Once
}

var (
	_ asr.Backend   = (*Backend)(nil)
	_ asr.Validator = (*Backend)(nil)
)

// New loads the dictionary and preloads the decoders. It fails, naming
// the file, if the model (Debian packages libpocketsphinx3 and
// pocketsphinx-en-us) is missing.
func New(opts ...Option) (*Backend, error) {
	cfg := config{size: DefaultPoolSize, preload: -1, lang: DefaultLanguage, name: "sphinx"}
	WithModel(DefaultModelDir)(&cfg)
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.size < 1 {
		return nil, fmt.Errorf("sphinx: pool size %d (want at least 1)", cfg.size)
	}
	if cfg.preload < 0 {
		cfg.preload = cfg.size
	}
	if cfg.log == nil {
		cfg.log = slog.New(slog.DiscardHandler)
	}
	for _, f := range []string{cfg.hmm, cfg.dict, cfg.lm} {
		if f == "" {
			continue
		}
		if _, err := os.Stat(f); err != nil {
			return nil, fmt.Errorf("sphinx: model: %w (install the Debian package pocketsphinx-en-us, or point WithModel at a model)", err)
		}
	}
	dict, err := loadDictionary(cfg.dict)
	if err != nil {
		return nil, err
	}
	b := &Backend{cfg: cfg, dict: dict}
	b.pool, err = newPool(cfg.size, cfg.preload, func() (*decoder, error) {
		start := time.Now()
		d, err := newDecoder(cfg.hmm, cfg.dict, cfg.lm)
		if err == nil {
			cfg.log.Debug("sphinx: decoder loaded", "took", time.Since(start))
		}
		return d, err
	})
	if err != nil {
		return nil, err
	}
	if cfg.reg != nil {
		if err := b.registerMetrics(); err != nil {
			b.Close()
			return nil, err
		}
	}
	return b, nil
}

func (b *Backend) registerMetrics() error {
	labels := prometheus.Labels{"backend": b.cfg.name}
	wait := prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:        "hotline_asr_sphinx_decoder_wait_seconds",
		Help:        "Time a session waited for a PocketSphinx decoder (including loading one).",
		ConstLabels: labels,
		Buckets:     []float64{.001, .005, .01, .05, .1, .25, .5, 1, 2.5, 5},
	})
	gauge := func(state string, f func(PoolStats) int) prometheus.Collector {
		l := prometheus.Labels{"backend": b.cfg.name, "state": state}
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name:        "hotline_asr_sphinx_decoders",
			Help:        "PocketSphinx decoders by state.",
			ConstLabels: l,
		}, func() float64 { return float64(f(b.pool.snapshot())) })
	}
	for _, c := range []prometheus.Collector{wait,
		gauge("idle", func(s PoolStats) int { return s.Idle }),
		gauge("busy", func(s PoolStats) int { return s.InUse })} {
		if err := b.cfg.reg.Register(c); err != nil {
			return fmt.Errorf("sphinx: registering metrics: %w", err)
		}
	}
	b.pool.observeWait = func(d time.Duration) { wait.Observe(d.Seconds()) }
	return nil
}

// SampleRate is 16 kHz, the en-us model's rate.
func (b *Backend) SampleRate() int { return SampleRate }

// Stats returns the decoder pool's counters.
func (b *Backend) Stats() PoolStats { return b.pool.snapshot() }

// Close frees the idle decoders now and the busy ones when their sessions
// release them. Sessions started afterwards fail. Idempotent.
func (b *Backend) Close() error {
	b.closeOnce.Do(b.pool.close)
	return nil
}

// JSGF returns the grammar grammar mode compiles for phrases, or the
// error naming words missing from the dictionary.
func (b *Backend) JSGF(phrases []string) (string, error) {
	return phraseGrammar(phrases, b.dict)
}

// Validate checks the language, and in grammar mode that every word of
// the phrases (or of the raw JSGF grammar) is in the dictionary, so a
// flow with an unknown word fails when it is loaded.
func (b *Backend) Validate(req asr.Request) error {
	_, err := b.grammarFor(req.WithDefaults())
	return err
}

// grammarFor returns the JSGF for a grammar-mode request, "" in open mode.
func (b *Backend) grammarFor(req asr.Request) (string, error) {
	if !sameLanguage(req.Language, b.cfg.lang) {
		return "", fmt.Errorf("%w: sphinx: language %q (this model is %s)", asr.ErrUnsupported, req.Language, b.cfg.lang)
	}
	switch req.Mode {
	case asr.ModeOpen:
		if b.cfg.lm == "" {
			return "", fmt.Errorf("%w: sphinx: open mode without a language model", asr.ErrUnsupported)
		}
		return "", nil
	case asr.ModeGrammar:
		if req.Grammar != "" {
			if err := b.dict.check(grammarWords(req.Grammar)); err != nil {
				return "", err
			}
			return req.Grammar, nil
		}
		return phraseGrammar(req.Phrases, b.dict)
	}
	return "", fmt.Errorf("%w: sphinx: mode %v", asr.ErrInvalidRequest, req.Mode)
}

func sameLanguage(req, model string) bool {
	if req == "" {
		return true
	}
	primary := func(s string) string {
		s, _, _ = strings.Cut(strings.ReplaceAll(s, "_", "-"), "-")
		return strings.ToLower(s)
	}
	return primary(req) == primary(model)
}

// Open starts an utterance. Audio is buffered and decoded in one pass
// when Finish is called; with req.Partials a decoder is taken now and
// the audio also decoded as it arrives, for partial results.
func (b *Backend) Open(ctx context.Context, req asr.Request, partial func(asr.Result)) (asr.Stream, error) {
	jsgf, err := b.grammarFor(req)
	if err != nil {
		return nil, err
	}
	s := &stream{b: b, jsgf: jsgf, grammar: req.Mode == asr.ModeGrammar, partial: partial}
	if bp, ok := b.bufs.Get().(*[]int16); ok {
		s.buf = bp
	} else {
		s.buf = new([]int16)
	}
	if req.Partials {
		if err := s.take(ctx); err != nil {
			s.Close()
			return nil, err
		}
		if err := s.dec.startLive(s.search); err != nil {
			s.broken = true
			s.Close()
			return nil, err
		}
	}
	return s, nil
}

// stream is one utterance on the PocketSphinx backend.
type stream struct {
	b        *Backend
	jsgf     string
	grammar  bool
	partial  func(asr.Result)
	buf      *[]int16
	dec      *decoder
	search   searchID // the decoder's search for this utterance
	broken   bool
	sinceHyp int
	floored  int        // samples of buf under the noise floor (grammar mode)
	rng      *rand.Rand // the noise floor's generator, continued across writes
}

// condition lays the noise floor under the audio buffered since the last
// call, in grammar mode.
func (s *stream) condition() {
	if !s.grammar {
		return
	}
	if s.rng == nil {
		s.rng = rand.New(rand.NewPCG(0x9e3779b9, 0x7f4a7c15))
	}
	addNoiseFloor((*s.buf)[s.floored:], s.rng)
	s.floored = len(*s.buf)
}

// take acquires a decoder and loads the utterance's grammar into it.
func (s *stream) take(ctx context.Context) error {
	d, err := s.b.pool.acquire(ctx)
	if err != nil {
		return fmt.Errorf("sphinx: waiting for a decoder: %w", err)
	}
	s.dec, s.search = d, searchLM
	if s.grammar {
		id, err := d.useGrammar(s.jsgf)
		if err != nil {
			return err
		}
		s.search = id
	}
	return nil
}

func (s *stream) Write(ctx context.Context, pcm []int16) error {
	start := len(*s.buf)
	*s.buf = append(*s.buf, pcm...)
	if s.dec == nil {
		return nil
	}
	// The live decode hears the audio as the final one will: with the
	// noise floor in grammar mode (the normalisation carries over).
	s.condition()
	hyp, err := s.dec.processLive((*s.buf)[start:])
	if err != nil {
		s.broken = true
		return err
	}
	s.sinceHyp += len(pcm)
	if s.sinceHyp >= partialEvery && hyp != "" {
		s.sinceHyp = 0
		s.partial(asr.Result{Text: hyp})
	}
	return nil
}

// Finish decodes the whole utterance with batch normalisation, then, in
// grammar mode, the phone loop for the confidence. A decode cannot be
// interrupted; ctx is checked before each (both passes of grammar mode
// take about a tenth of the audio's duration in CPU time, open mode a
// third: see the package documentation).
func (s *stream) Finish(ctx context.Context) (asr.Result, error) {
	if s.dec == nil {
		if err := s.take(ctx); err != nil {
			return asr.Result{}, err
		}
	}
	if err := ctx.Err(); err != nil {
		return asr.Result{}, err
	}
	pcm := *s.buf
	if s.grammar {
		s.condition()
	} else {
		dither(pcm) // the floor was tuned on grammar mode; open mode gained nothing from it
	}
	h, err := s.dec.decode(pcm, s.search)
	if err != nil {
		s.broken = true
		return asr.Result{}, err
	}
	var r asr.Result
	r.Text = h.text
	if h.text == "" {
		s.release()
		return r, nil
	}
	if s.grammar {
		if err := ctx.Err(); err != nil {
			return asr.Result{}, err
		}
		loop, err := s.dec.decode(pcm, searchLoop)
		if err != nil {
			s.broken = true
			return asr.Result{}, err
		}
		r.Confidence = grammarConfidence(h, loop)
	} else {
		r.Confidence = h.prob
	}
	s.release()
	for _, w := range h.segs {
		if w.filler {
			continue
		}
		c := r.Confidence
		if !s.grammar {
			c = w.post
		}
		r.Words = append(r.Words, asr.Word{
			Text:       w.word,
			Start:      time.Duration(w.start) * time.Second / framesPerSecond,
			End:        time.Duration(w.end) * time.Second / framesPerSecond,
			Confidence: c,
		})
	}
	return r, nil
}

// grammarConfidence turns the grammar decoding g and the phone-loop
// decoding loop of the same audio into a confidence in 0..1: the product
// of a coverage factor (how much of the speech the loop found is covered
// by the grammar's words rather than absorbed by silence and noise
// fillers) and a logistic of the acoustic log-likelihood ratio per frame
// between the grammar's words and the loop over the same frames. See the
// package documentation for the measurements behind the constants.
func grammarConfidence(g, loop hypothesis) float64 {
	cov, llr := confidenceFeatures(g, loop)
	if cov <= covLow {
		return 0
	}
	f := min(1, (cov-covLow)/(covHigh-covLow))
	return f / (1 + math.Exp(-(llr-llrCenter)/llrScale))
}

// confidenceFeatures returns the coverage and per-frame acoustic
// log-likelihood ratio (decoder score units) of g against loop.
func confidenceFeatures(g, loop hypothesis) (coverage, llr float64) {
	var wordFrames int
	var gScore, loopScore float64
	for _, w := range g.segs {
		if !w.filler {
			wordFrames += w.end - w.start
			gScore += w.ascr
		}
	}
	var speechFrames int
	for _, p := range loop.segs {
		if p.filler || p.end <= p.start {
			continue
		}
		speechFrames += p.end - p.start
		// The loop's score over the words' frames, pro rata by overlap.
		for _, w := range g.segs {
			if w.filler {
				continue
			}
			if lo, hi := max(p.start, w.start), min(p.end, w.end); hi > lo {
				loopScore += p.ascr * float64(hi-lo) / float64(p.end-p.start)
			}
		}
	}
	if wordFrames == 0 || speechFrames == 0 {
		return 0, math.Inf(-1)
	}
	return float64(wordFrames) / float64(speechFrames), (gScore - loopScore) / float64(wordFrames)
}

// dither adds triangular noise of about one least significant bit, as
// sox does by default, so digital silence does not drag the batch
// cepstral mean (see addNoiseFloor, which grammar mode uses instead). The
// generator is a fixed-seed LCG so results repeat.
func dither(pcm []int16) {
	x := uint32(0x9e3779b9)
	for i, v := range pcm {
		x = x*1664525 + 1013904223
		a := int32(x>>24) & 0xff
		x = x*1664525 + 1013904223
		b := int32(x>>24) & 0xff
		d := (a + b - 255) / 128 // triangular, -1..1
		pcm[i] = int16(max(-32768, min(32767, int32(v)+d)))
	}
}

// noiseFloorDBFS is the level (RMS, dB relative to full scale) of the
// white noise floor addNoiseFloor lays under grammar-mode audio. Measured
// with the speech corpus (testdata/speech/utterances.tsv, 18 utterances
// in 6 espeak-ng voices through G.711, 108 clips, through sessions):
// utterances recognised exactly with a white floor at -50 dBFS 101,
// -45 101, -40 103, -35 103, -30 99; with a first-differenced (above
// 4 kHz) floor at -45 dBFS 94, one bit of dither alone (before the wide
// beams of frontEnd) 91 of 108. -40 dBFS sits on the plateau.
const noiseFloorDBFS = -40

// addNoiseFloor adds a deterministic white noise floor at
// noiseFloorDBFS, about what a quiet analogue line or a handset's
// microphone gives. The en-us model was trained on wideband recordings
// with their background noise; telephone audio upsampled to 16 kHz has
// nothing above 4 kHz, and a jitter buffer, a padded prompt or a WAV file
// give stretches of digital silence. The log energies of those bands and
// frames then sit far below anything in training, pull the cepstra away
// from every phone and drag the batch cepstral mean (measured: "speak to
// a representative" heard as "billing"; the 8 kHz "go forward ten meters"
// recording with 700 ms of zeros around it not recognised without at
// least a bit of dither). The floor also does the dither's job. The
// generator (one per utterance) has a fixed seed so results repeat.
func addNoiseFloor(pcm []int16, rng *rand.Rand) {
	amp := 32768 * math.Pow(10, noiseFloorDBFS/20.0)
	for i, v := range pcm {
		pcm[i] = int16(max(-32768, min(32767, math.Round(float64(v)+amp*rng.NormFloat64()))))
	}
}

func (s *stream) release() {
	if s.dec != nil {
		s.b.pool.release(s.dec, s.broken)
		s.dec = nil
	}
}

// maxPooledBuffer bounds the utterance buffers kept for reuse (60 s).
const maxPooledBuffer = 60 * SampleRate

func (s *stream) Close() error {
	s.release()
	if s.buf != nil {
		if cap(*s.buf) <= maxPooledBuffer {
			*s.buf = (*s.buf)[:0]
			s.b.bufs.Put(s.buf)
		}
		s.buf = nil
	}
	return nil
}
