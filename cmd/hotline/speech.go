package main

// Speech recognition: the asr configuration section, the backends it builds
// (embedded PocketSphinx, Vosk-protocol servers) and the adapter from asr sessions
// to the flow runtime's ivr.Recognizer.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hotline-ivr/hotline/asr"
	"github.com/hotline-ivr/hotline/asr/sphinx"
	"github.com/hotline-ivr/hotline/asr/vosk"
	"github.com/hotline-ivr/hotline/ivr"
)

// ASRConfig is the speech recognition section (asr:). Every field has a default
// (defaultASRConfig): the embedded PocketSphinx backend with Debian's US English
// model, grammar mode for nodes that list phrases, open vocabulary otherwise.
type ASRConfig struct {
	// Default names the backend of nodes that name none (speech.backend): "sphinx"
	// or the name of a vosk entry; "" only with no backend at all (no speech
	// recognition). Default: "sphinx".
	Default string `yaml:"default"`
	// Languages maps a language (its primary subtag: en, zh) to the backend used for
	// it when a node names none, e.g. {zh: vosk-zh}. Default: none (Default for all).
	Languages map[string]string `yaml:"languages"`
	// Fallback names a backend asked when the chosen one fails or has not answered
	// within LatencyBudget of the end of speech; "" for none. It must take the same
	// sample rate as every other backend (16 kHz for sphinx and vosk by default).
	// Default: none.
	Fallback string `yaml:"fallback"`
	// LatencyBudget is how long from the end of speech the chosen backend may take
	// before Fallback is asked too. Default: 1s.
	LatencyBudget Duration `yaml:"latency_budget"`
	// Queue is how much caller audio the queue between the media path and a slow
	// recognizer holds before frames are dropped (counted in
	// hotline_asr_dropped_frames_total). Default: 2s.
	Queue Duration `yaml:"queue"`
	// MinSilence is the pause that ends an answer. Default: 600ms.
	MinSilence Duration `yaml:"min_silence"`
	// ResultTimeout bounds the wait for a final result after the end of speech; past
	// it the node takes its error outcome. Default: 3s.
	ResultTimeout Duration `yaml:"result_timeout"`
	// MinConfidence (0 to 1) is the lowest confidence taken as an answer; below it
	// the answer is empty (the node's no_match). Default: 0 (any hypothesis).
	MinConfidence float64 `yaml:"min_confidence"`
	// Partials asks backends for interim transcripts while the caller speaks. Barge-in
	// does not need them (the VAD's onset stops a prompt); PocketSphinx then decodes
	// twice and holds a decoder for the whole answer. Default: false.
	Partials bool `yaml:"partials"`
	// Sphinx is the embedded CMU PocketSphinx backend, registered as "sphinx".
	Sphinx SphinxConfig `yaml:"sphinx"`
	// Vosk lists servers of the Vosk/Kaldi WebSocket protocol (vosk-server,
	// sherpa-onnx), each registered under its name. Default: none.
	Vosk []VoskConfig `yaml:"vosk"`
}

// SphinxConfig configures the embedded PocketSphinx backend.
type SphinxConfig struct {
	// Enabled registers the backend. It needs the Debian packages libpocketsphinx3
	// and pocketsphinx-en-us. Default: true.
	Enabled bool `yaml:"enabled"`
	// AcousticModel, Dictionary and LanguageModel are the model files; LanguageModel
	// "" disables open-vocabulary mode. Default: Debian's pocketsphinx-en-us,
	// /usr/share/pocketsphinx/model/en-us/{en-us, cmudict-en-us.dict, en-us.lm.bin}.
	AcousticModel string `yaml:"acoustic_model"`
	Dictionary    string `yaml:"dictionary"`
	LanguageModel string `yaml:"language_model"`
	// Language is the model's language (BCP 47). Default: en-US.
	Language string `yaml:"language"`
	// PoolSize is how many decoders exist at most; a session holds one only while
	// it decodes (tens of milliseconds in grammar mode). Default: 2.
	PoolSize int `yaml:"pool_size"`
	// Preload is how many decoders are loaded at start (each takes a few hundred
	// milliseconds), so the first callers do not wait. Default: 2.
	Preload int `yaml:"preload"`
}

// VoskConfig is one server speaking the Vosk WebSocket protocol.
type VoskConfig struct {
	// Name is the backend's name for speech.backend and asr.default. Required.
	Name string `yaml:"name"`
	// URL is the server, ws:// or wss://. Required unless Languages covers every
	// language asked of it.
	URL string `yaml:"url"`
	// Languages maps a language to the server with a model for it, e.g.
	// {zh: "ws://127.0.0.1:2701"}. Default: none (URL for every language).
	Languages map[string]string `yaml:"languages"`
	// SampleRate is the rate sent to the server, 8000 or 16000. Default: 16000.
	SampleRate int `yaml:"sample_rate"`
	// ConnectTimeout bounds the connection and handshake; ReadTimeout is the longest
	// the server may stay silent while it owes an answer. Default: 3s each.
	ConnectTimeout Duration `yaml:"connect_timeout"`
	ReadTimeout    Duration `yaml:"read_timeout"`
	// GrammarField is the configuration key of the phrase list: "phrase_list" for
	// vosk-server, "grammar" for some compatible servers. Default: phrase_list.
	GrammarField string `yaml:"grammar_field"`
}

// sphinxBackendName is the registry name of the embedded backend.
const sphinxBackendName = "sphinx"

// defaultASRConfig returns the asr section `hotline serve` runs with when the file
// sets none of it.
func defaultASRConfig() ASRConfig {
	return ASRConfig{
		Default:       sphinxBackendName,
		LatencyBudget: Duration{asr.DefaultLatencyBudget},
		Queue:         Duration{asr.DefaultQueue},
		MinSilence:    Duration{asr.DefaultMinSilence},
		ResultTimeout: Duration{asr.DefaultResultTimeout},
		Sphinx: SphinxConfig{
			Enabled:       true,
			AcousticModel: sphinx.DefaultModelDir + "/en-us",
			Dictionary:    sphinx.DefaultModelDir + "/cmudict-en-us.dict",
			LanguageModel: sphinx.DefaultModelDir + "/en-us.lm.bin",
			Language:      sphinx.DefaultLanguage,
			PoolSize:      sphinx.DefaultPoolSize,
			Preload:       sphinx.DefaultPoolSize,
		},
	}
}

// Validate reports every problem of the section that can be seen without loading
// a model or dialling a server, each prefixed with its key.
func (c ASRConfig) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf("asr."+format, args...)) }
	names := map[string]bool{}
	if c.Sphinx.Enabled {
		names[sphinxBackendName] = true
		if c.Sphinx.PoolSize < 1 {
			bad("sphinx.pool_size: %d (want at least 1)", c.Sphinx.PoolSize)
		}
		if c.Sphinx.Preload < 0 || c.Sphinx.Preload > c.Sphinx.PoolSize {
			bad("sphinx.preload: %d (want 0 to pool_size)", c.Sphinx.Preload)
		}
		if c.Sphinx.AcousticModel == "" || c.Sphinx.Dictionary == "" {
			bad("sphinx: acoustic_model and dictionary are required")
		}
	}
	for i, v := range c.Vosk {
		switch {
		case v.Name == "":
			bad("vosk[%d].name: required", i)
		case names[v.Name]:
			bad("vosk[%d].name: %q is taken", i, v.Name)
		}
		names[v.Name] = true
		if v.URL == "" && len(v.Languages) == 0 {
			bad("vosk[%d].url: required (or languages)", i)
		}
	}
	if len(names) > 0 || c.Default != "" {
		if !names[c.Default] {
			bad("default: no backend %q", c.Default)
		}
	}
	for lang, name := range c.Languages {
		if !names[name] {
			bad("languages.%s: no backend %q", lang, name)
		}
	}
	if c.Fallback != "" && !names[c.Fallback] {
		bad("fallback: no backend %q", c.Fallback)
	}
	// The session checks the timing fields with its own bounds.
	req := c.request()
	req.Phrases = []string{"x"}
	if err := req.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("asr: %w", err))
	}
	return errors.Join(errs...)
}

// request is the part of every asr.Request that comes from the configuration.
func (c ASRConfig) request() asr.Request {
	return asr.Request{
		LatencyBudget: c.LatencyBudget.Duration,
		Queue:         c.Queue.Duration,
		MinSilence:    c.MinSilence.Duration,
		ResultTimeout: c.ResultTimeout.Duration,
		MinConfidence: c.MinConfidence,
		Partials:      c.Partials,
		// The runtime owns the no-input timer (it starts after the prompt, and a
		// barge-in stream opens before it): the session waits as long as a
		// session may, and the runtime closes it.
		NoInputTimeout: maxListen,
	}
}

// maxListen is the longest an asr session may wait, which the runtime's own
// timers always beat.
const maxListen = 10 * time.Minute

// newRecognizer builds the configured backends, registers their metrics in reg and
// returns the Recognizer to hand the flow runtime (ivr.WithRecognizer) and the
// Closer that frees the decoders at shutdown (after the runtime stopped). With no
// backend at all (sphinx disabled, no vosk, default "") the Recognizer is nil:
// speech input then takes the node's error outcome.
func newRecognizer(cfg ASRConfig, reg prometheus.Registerer, log *slog.Logger) (ivr.Recognizer, io.Closer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, nil, err
	}
	if !cfg.Sphinx.Enabled && len(cfg.Vosk) == 0 {
		return nil, closeAll{}, nil
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m, err := asr.NewMetrics(reg)
	if err != nil {
		return nil, nil, err
	}
	registry := asr.NewRegistry(asr.WithMetrics(m), asr.WithLogger(log))
	var closers closeAll
	fail := func(err error) (ivr.Recognizer, io.Closer, error) {
		closers.Close()
		return nil, nil, err
	}
	if s := cfg.Sphinx; s.Enabled {
		start := time.Now()
		b, err := sphinx.New(sphinx.WithFiles(s.AcousticModel, s.Dictionary, s.LanguageModel),
			sphinx.WithLanguage(s.Language), sphinx.WithPoolSize(s.PoolSize), sphinx.WithPreload(s.Preload),
			sphinx.WithMetrics(reg, sphinxBackendName), sphinx.WithLogger(log))
		if err != nil {
			return fail(fmt.Errorf("asr.sphinx (set asr.sphinx.enabled: false to run without it): %w", err))
		}
		closers = append(closers, b)
		if err := registry.Register(sphinxBackendName, b); err != nil {
			return fail(err)
		}
		log.Info("speech recognizer ready", "backend", sphinxBackendName, "model", s.AcousticModel,
			"decoders", s.Preload, "took", time.Since(start).Round(time.Millisecond))
	}
	for _, v := range cfg.Vosk {
		opts := []vosk.Option{vosk.WithTimeouts(v.ConnectTimeout.Duration, v.ReadTimeout.Duration)}
		for lang, url := range v.Languages {
			opts = append(opts, vosk.WithLanguageURL(lang, url))
		}
		if v.SampleRate != 0 {
			opts = append(opts, vosk.WithSampleRate(v.SampleRate))
		}
		if v.GrammarField != "" {
			opts = append(opts, vosk.WithGrammarField(v.GrammarField))
		}
		b, err := vosk.New(v.URL, opts...)
		if err != nil {
			return fail(fmt.Errorf("asr.vosk %s: %w", v.Name, err))
		}
		if err := registry.Register(v.Name, b); err != nil {
			return fail(fmt.Errorf("asr.vosk: %w", err))
		}
	}
	if err := registry.SetDefault(cfg.Default); err != nil {
		return fail(fmt.Errorf("asr.default: %w", err))
	}
	if cfg.Fallback != "" {
		for _, name := range registry.Names() {
			if name == cfg.Fallback {
				continue
			}
			if _, err := registry.Fallback(name, cfg.Fallback, cfg.LatencyBudget.Duration); err != nil {
				return fail(fmt.Errorf("asr.fallback: %w", err))
			}
		}
	}
	langs := map[string]string{}
	for lang, name := range cfg.Languages {
		langs[primaryLanguage(lang)] = name
	}
	return &recognizer{reg: registry, cfg: cfg, base: cfg.request(), langs: langs, log: log}, closers, nil
}

// closeAll closes backends in reverse order of creation.
type closeAll []io.Closer

func (c closeAll) Close() error {
	var errs []error
	for i := len(c) - 1; i >= 0; i-- {
		errs = append(errs, c[i].Close())
	}
	return errors.Join(errs...)
}

func primaryLanguage(tag string) string {
	p, _, _ := strings.Cut(strings.ReplaceAll(tag, "_", "-"), "-")
	return strings.ToLower(p)
}

// recognizer adapts an asr.Registry to the flow runtime's ivr.Recognizer: one asr
// session per answer, the caller's audio resampled to the backend's rate, grammar
// mode when the node lists phrases and open vocabulary otherwise (asr.ModeAuto).
type recognizer struct {
	reg   *asr.Registry
	cfg   ASRConfig
	base  asr.Request
	langs map[string]string // primary language → backend
	log   *slog.Logger
}

var _ ivr.Recognizer = (*recognizer)(nil)

// Recognize starts one answer. Errors are about the request (unknown backend, a
// language no backend has, a sample rate the resampler lacks); the runtime then
// tries the node's fallback_backend. Everything later arrives as events. The
// request's Fallback (the node's, else asr.fallback) is asked when the backend
// fails during the answer or exceeds the latency budget; MinSpeech sets the VAD
// onset that stops a barge-in prompt.
func (r *recognizer) Recognize(ctx context.Context, sr ivr.SpeechRequest) (ivr.SpeechStream, error) {
	log := r.log.With("call_id", sr.CallID, "flow", sr.Flow, "node", sr.Node)
	req := r.base
	req.Logger = log
	req.Language = sr.Language
	req.Phrases = sr.Phrases
	req.Backend = sr.Backend
	if req.Backend == "" {
		req.Backend = r.langs[primaryLanguage(sr.Language)]
	}
	if req.Backend == "" {
		req.Backend = r.reg.Default()
	}
	// The node's fallback (speech.fallback_backend) wins over the configured one.
	switch {
	case sr.Fallback != "":
		req.Fallback = sr.Fallback
	case r.cfg.Fallback != req.Backend:
		req.Fallback = r.cfg.Fallback
	}
	if req.Fallback == req.Backend {
		req.Fallback = ""
	}
	if sr.LatencyBudget > 0 {
		req.LatencyBudget = sr.LatencyBudget
	}
	if sr.MinSpeech > 0 {
		req.MinSpeech = sr.MinSpeech
	}
	if sr.MaxDuration > 0 {
		req.MaxUtterance = min(max(sr.MaxDuration, 100*time.Millisecond), maxListen)
	}
	if len(req.Phrases) > 0 {
		req.Phrases = r.usablePhrases(req, log)
	}
	if sr.SampleRate <= 0 {
		return nil, fmt.Errorf("speech recognition: sample rate %d", sr.SampleRate)
	}
	sess, err := r.reg.NewSession(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("speech recognition with %s: %w", req.Backend, err)
	}
	sink, err := asr.NewSink(sess, sr.SampleRate)
	if err != nil {
		sess.Close()
		return nil, fmt.Errorf("speech recognition with %s: %w", req.Backend, err)
	}
	s := &speechStream{
		sess:   sess,
		sink:   sink,
		events: make(chan ivr.SpeechEvent, 16),
		quit:   make(chan struct{}),
		done:   make(chan struct{}),
		log:    log,
	}
	go s.forward()
	return s, nil
}

// usablePhrases drops the phrases the backend cannot recognise (words missing
// from PocketSphinx's dictionary, say), logging them, so one odd example phrase
// does not take a node's speech input down. With none left the answer is heard
// in open mode.
func (r *recognizer) usablePhrases(req asr.Request, log *slog.Logger) []string {
	err := r.reg.Validate(req)
	if err == nil || errors.Is(err, asr.ErrUnsupported) || errors.Is(err, asr.ErrUnknownBackend) {
		return req.Phrases // fine, or not about phrases: NewSession reports it
	}
	var keep []string
	for _, p := range req.Phrases {
		one := req
		one.Phrases = []string{p}
		if err := r.reg.Validate(one); err != nil {
			log.Warn("speech phrase left out of the grammar", "phrase", p, "backend", req.Backend, "err", err)
			continue
		}
		keep = append(keep, p)
	}
	return keep
}

// speechStream is one answer: the media path writes to sink, and forward turns
// the session's onset and results into the runtime's events.
type speechStream struct {
	sess     *asr.Session
	sink     asr.Sink
	events   chan ivr.SpeechEvent
	quit     chan struct{} // closed by Close
	done     chan struct{} // closed when forward returned
	finished atomic.Bool   // Finish was called
	closed   sync.Once
	log      *slog.Logger
}

var _ ivr.SpeechStream = (*speechStream)(nil)

// WriteSample feeds the caller's audio at the request's rate; it never blocks and
// does not allocate. Once the session stopped listening (end of speech, Finish,
// Close) the audio is ignored.
func (s *speechStream) WriteSample(pcm []int16) error {
	if err := s.sink.Write(pcm); err != nil && !errors.Is(err, asr.ErrDone) {
		return err
	}
	return nil
}

// Events delivers SpeechStarted at the VAD's onset, partials when configured, then
// SpeechFinal or SpeechError. A stream that heard nothing (or was cancelled) ends
// with the channel closed and no final event, which the runtime takes as no input.
func (s *speechStream) Events() <-chan ivr.SpeechEvent { return s.events }

// Finish ends the audio: what was heard is decoded and delivered as SpeechFinal.
func (s *speechStream) Finish() {
	s.finished.Store(true)
	s.sess.End()
}

// Close stops the session (its decoder or socket is released) and the forwarding
// goroutine; idempotent.
func (s *speechStream) Close() error {
	s.closed.Do(func() {
		close(s.quit)
		s.sess.Close()
		<-s.done
	})
	return nil
}

// forward runs until the final result or Close.
func (s *speechStream) forward() {
	defer close(s.done)
	defer close(s.events)
	started, results := s.sess.SpeechStarted(), s.sess.Results()
	send := func(ev ivr.SpeechEvent) bool {
		select {
		case s.events <- ev:
			return true
		case <-s.quit:
			return false
		}
	}
	// announce sends SpeechStarted once, before anything that implies it.
	announce := func() bool {
		if started == nil {
			return true
		}
		select {
		case <-started:
			started = nil
			return send(ivr.SpeechEvent{Type: ivr.SpeechStarted})
		default:
			return true
		}
	}
	for {
		select {
		case <-started:
			if !announce() {
				return
			}
		case r, ok := <-results:
			if !ok {
				return
			}
			if !announce() {
				return
			}
			if !r.IsFinal {
				if !send(ivr.SpeechEvent{Type: ivr.SpeechPartial, Text: r.Text}) {
					return
				}
				continue
			}
			if ev, ok := s.finalEvent(r); ok {
				send(ev)
			}
			return
		case <-s.quit:
			return
		}
	}
}

// finalEvent maps a session's final result onto the runtime's events; false means
// none is sent (no input without Finish, cancellation).
func (s *speechStream) finalEvent(r asr.Result) (ivr.SpeechEvent, bool) {
	s.log.Debug("speech recognized", "outcome", r.Outcome, "text", r.Text, "confidence", r.Confidence,
		"backend", r.Backend, "latency", r.Latency, "rtf", r.RTF(), "dropped", r.Dropped, "err", r.Err)
	switch r.Outcome {
	case asr.OutcomeFinal:
		return ivr.SpeechEvent{Type: ivr.SpeechFinal, Text: r.Text, Confidence: r.Confidence}, true
	case asr.OutcomeNoMatch:
		// Below min_confidence or nothing recognised: an empty answer, which the
		// node takes as no_match.
		return ivr.SpeechEvent{Type: ivr.SpeechFinal, Confidence: r.Confidence}, true
	case asr.OutcomeError:
		s.log.Warn("speech recognition failed", "backend", r.Backend, "err", r.Err)
		return ivr.SpeechEvent{Type: ivr.SpeechError, Err: r.Err}, true
	case asr.OutcomeNoInput:
		// Finish before any speech: the contract asks for an empty final.
		// Otherwise the channel closes without one, the runtime's no input.
		return ivr.SpeechEvent{Type: ivr.SpeechFinal}, s.finished.Load()
	}
	return ivr.SpeechEvent{}, false
}
