package vosk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode"

	"github.com/coder/websocket"

	"github.com/hotline-ivr/hotline/asr"
)

// Defaults for the zero options.
const (
	// DefaultSampleRate is what the client announces and sends; Vosk
	// models are 8 or 16 kHz and the server resamples anything else.
	DefaultSampleRate = 16000
	// DefaultConnectTimeout bounds dialling and the WebSocket handshake.
	DefaultConnectTimeout = 3 * time.Second
	// DefaultReadTimeout is the longest the server may stay silent while
	// it owes answers (it answers every audio message), and the longest
	// a write may block: a hung server is noticed within it.
	DefaultReadTimeout = 3 * time.Second
	// DefaultChunk is the audio per binary message: vosk-server answers
	// each message, so 100 ms chunks keep the answers to 10 per second
	// whatever the media frame size.
	DefaultChunk = 100 * time.Millisecond
	// DefaultGrammarField is the configuration key vosk-server reads the
	// phrase list from.
	DefaultGrammarField = "phrase_list"
	// maxMessage bounds what the server may send in one message.
	maxMessage = 1 << 20
)

// eofMessage ends the audio. vosk-server compares the text message with
// this exact string (spaces included) before parsing anything.
const eofMessage = `{"eof" : 1}`

// unknownWord is what a Vosk grammar yields for speech outside it.
const unknownWord = "[unk]"

// Option configures New.
type Option func(*config)

type config struct {
	url            string
	byLanguage     map[string]string
	rate           int
	connectTimeout time.Duration
	readTimeout    time.Duration
	chunk          time.Duration
	grammarField   string
	header         http.Header
	client         *http.Client
}

// WithLanguageURL sends requests for language (a BCP 47 tag, matched
// exactly first, then on its primary subtag) to url, where a server
// runs a model for it.
func WithLanguageURL(language, url string) Option {
	return func(c *config) { c.byLanguage[strings.ToLower(language)] = url }
}

// WithSampleRate sets the rate the client sends (8000 or 16000; default
// DefaultSampleRate).
func WithSampleRate(rate int) Option { return func(c *config) { c.rate = rate } }

// WithTimeouts sets the connect and read timeouts (zero keeps a default).
func WithTimeouts(connect, read time.Duration) Option {
	return func(c *config) {
		if connect > 0 {
			c.connectTimeout = connect
		}
		if read > 0 {
			c.readTimeout = read
		}
	}
}

// WithChunk sets the audio per message (default DefaultChunk).
func WithChunk(d time.Duration) Option { return func(c *config) { c.chunk = d } }

// WithGrammarField sets the configuration key of the phrase list
// ("phrase_list" for vosk-server, "grammar" for servers that use the
// Vosk library's name).
func WithGrammarField(name string) Option { return func(c *config) { c.grammarField = name } }

// WithHeader adds HTTP headers to the handshake, such as a bearer token
// for a server behind an authenticating proxy.
func WithHeader(h http.Header) Option { return func(c *config) { c.header = h.Clone() } }

// WithHTTPClient sets the client used for the handshake (TLS settings,
// proxies).
func WithHTTPClient(hc *http.Client) Option { return func(c *config) { c.client = hc } }

// Backend recognises with a server speaking the Vosk WebSocket protocol,
// one connection per utterance. It keeps no state between sessions and
// is safe for concurrent use.
type Backend struct {
	cfg config
}

var (
	_ asr.Backend   = (*Backend)(nil)
	_ asr.Validator = (*Backend)(nil)
)

// New returns a backend for the server at url (ws:// or wss://; "" if
// every language has its own WithLanguageURL).
func New(url string, opts ...Option) (*Backend, error) {
	cfg := config{
		url:            url,
		byLanguage:     map[string]string{},
		rate:           DefaultSampleRate,
		connectTimeout: DefaultConnectTimeout,
		readTimeout:    DefaultReadTimeout,
		chunk:          DefaultChunk,
		grammarField:   DefaultGrammarField,
	}
	for _, o := range opts {
		o(&cfg)
	}
	var errs []error
	for _, u := range append([]string{cfg.url}, mapValues(cfg.byLanguage)...) {
		if u != "" && !strings.HasPrefix(u, "ws://") && !strings.HasPrefix(u, "wss://") {
			errs = append(errs, fmt.Errorf("vosk: URL %q: want ws:// or wss://", u))
		}
	}
	if cfg.url == "" && len(cfg.byLanguage) == 0 {
		errs = append(errs, errors.New("vosk: no server URL"))
	}
	if cfg.rate != 8000 && cfg.rate != 16000 {
		errs = append(errs, fmt.Errorf("vosk: sample rate %d (want 8000 or 16000)", cfg.rate))
	}
	if cfg.chunk < 10*time.Millisecond || cfg.chunk > time.Second {
		errs = append(errs, fmt.Errorf("vosk: chunk %v (want 10ms to 1s)", cfg.chunk))
	}
	if cfg.grammarField == "" {
		errs = append(errs, errors.New("vosk: empty grammar field"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return &Backend{cfg: cfg}, nil
}

func mapValues(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// SampleRate is the rate the client sends.
func (b *Backend) SampleRate() int { return b.cfg.rate }

// urlFor picks the server for a language.
func (b *Backend) urlFor(lang string) (string, error) {
	lang = strings.ToLower(strings.ReplaceAll(lang, "_", "-"))
	if u, ok := b.cfg.byLanguage[lang]; ok && lang != "" {
		return u, nil
	}
	primary, _, _ := strings.Cut(lang, "-")
	if u, ok := b.cfg.byLanguage[primary]; ok && primary != "" {
		return u, nil
	}
	if b.cfg.url == "" {
		return "", fmt.Errorf("%w: vosk: no server for language %q", asr.ErrUnsupported, lang)
	}
	return b.cfg.url, nil
}

// Validate rejects what the protocol cannot carry: a raw grammar, or a
// language without a server.
func (b *Backend) Validate(req asr.Request) error {
	if req.Mode == asr.ModeGrammar && req.Grammar != "" {
		return fmt.Errorf("%w: vosk: raw grammars (use Phrases)", asr.ErrUnsupported)
	}
	_, err := b.urlFor(req.Language)
	return err
}

// phraseList normalises phrases the way Vosk grammars are written: lower
// case words separated by single spaces, punctuation removed.
func phraseList(phrases []string) []string {
	out := make([]string, 0, len(phrases)+1)
	for _, p := range phrases {
		words := strings.FieldsFunc(strings.ToLower(p), func(r rune) bool {
			return !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == '\'')
		})
		if len(words) > 0 {
			out = append(out, strings.Join(words, " "))
		}
	}
	return out
}

// Open connects, sends the configuration and starts the reader.
func (b *Backend) Open(ctx context.Context, req asr.Request, partial func(asr.Result)) (asr.Stream, error) {
	if err := b.Validate(req); err != nil {
		return nil, err
	}
	url, _ := b.urlFor(req.Language)
	cfg := map[string]any{"sample_rate": b.cfg.rate, "words": true}
	if req.Mode == asr.ModeGrammar {
		// [unk] lets the recognizer answer "none of these" instead of
		// forcing out-of-grammar speech onto a phrase.
		cfg[b.cfg.grammarField] = append(phraseList(req.Phrases), unknownWord)
	}
	config, err := json.Marshal(map[string]any{"config": cfg})
	if err != nil {
		return nil, fmt.Errorf("vosk: %w", err)
	}

	dctx, cancel := context.WithTimeout(ctx, b.cfg.connectTimeout)
	defer cancel()
	conn, resp, err := websocket.Dial(dctx, url, &websocket.DialOptions{HTTPHeader: b.cfg.header, HTTPClient: b.cfg.client})
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	if err != nil {
		if dctx.Err() != nil && ctx.Err() == nil {
			return nil, fmt.Errorf("vosk: connecting to %s: no answer within %v: %w", url, b.cfg.connectTimeout, asr.ErrTimeout)
		}
		return nil, fmt.Errorf("vosk: connecting to %s: %w", url, err)
	}
	conn.SetReadLimit(maxMessage)
	s := &stream{
		conn:        conn,
		url:         url,
		readTimeout: b.cfg.readTimeout,
		partial:     partial,
		chunk:       make([]byte, 0, int(b.cfg.chunk.Seconds()*float64(b.cfg.rate))*2),
		final:       make(chan struct{}),
		readerDone:  make(chan struct{}),
	}
	if err := s.send(ctx, websocket.MessageText, config, false); err != nil {
		conn.CloseNow()
		return nil, err
	}
	var rctx context.Context
	rctx, s.stopReader = context.WithCancel(context.Background())
	go s.read(rctx)
	return s, nil
}
