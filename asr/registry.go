package asr

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"
)

// Registry holds the backends a process can recognise with, by name, and
// starts sessions on them. cmd/hotline builds one from configuration
// (NewRegistry, then Register for each configured backend) and hands it
// to the flow runtime; flows and nodes choose a backend by name
// (Request.Backend, Request.Fallback). It is a value, not a package
// global, so tests and several engines in one process do not share state.
// It is safe for concurrent use.
type Registry struct {
	mu       sync.RWMutex
	backends map[string]Backend
	def      string
	metrics  *Metrics
	log      *slog.Logger
}

// Option configures a Registry.
type Option func(*Registry)

// WithMetrics records sessions in m (nil: no metrics).
func WithMetrics(m *Metrics) Option { return func(r *Registry) { r.metrics = m } }

// WithLogger sets the logger sessions use when their Request has none.
func WithLogger(l *slog.Logger) Option { return func(r *Registry) { r.log = l } }

// NewRegistry returns an empty Registry.
func NewRegistry(opts ...Option) *Registry {
	r := &Registry{backends: map[string]Backend{}}
	for _, o := range opts {
		o(r)
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	return r
}

// Metrics returns the metrics sessions record into (nil if none), for
// backends and wrappers built outside the registry.
func (r *Registry) Metrics() *Metrics { return r.metrics }

// validName keeps backend names usable as metric label values and in
// flow files: 1-32 characters of a-z, 0-9, '-', '_', '.', '+'.
func validName(name string) bool {
	if name == "" || len(name) > 32 {
		return false
	}
	for _, c := range name {
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '_', c == '.', c == '+':
		default:
			return false
		}
	}
	return true
}

// Register adds b under name. The first backend registered becomes the
// default until SetDefault says otherwise. Names must be unique and
// 1-32 characters of a-z, 0-9 and -_.+ (they become metric labels).
func (r *Registry) Register(name string, b Backend) error {
	if !validName(name) {
		return fmt.Errorf("asr: backend name %q: want 1-32 characters of a-z, 0-9, -_.+", name)
	}
	if b == nil {
		return fmt.Errorf("asr: backend %q is nil", name)
	}
	switch rate := b.SampleRate(); rate {
	case 8000, 16000, 48000:
	default:
		return fmt.Errorf("asr: backend %q wants %d Hz; sessions support 8000, 16000 and 48000", name, rate)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.backends[name]; dup {
		return fmt.Errorf("asr: backend %q registered twice", name)
	}
	r.backends[name] = b
	if r.def == "" {
		r.def = name
	}
	return nil
}

// SetDefault makes name the backend of requests that name none.
func (r *Registry) SetDefault(name string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.backends[name]; !ok {
		return fmt.Errorf("%w %q (have %v)", ErrUnknownBackend, name, r.namesLocked())
	}
	r.def = name
	return nil
}

// Default returns the default backend's name ("" when none is registered).
func (r *Registry) Default() string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.def
}

// Names lists the registered backends, sorted.
func (r *Registry) Names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.namesLocked()
}

func (r *Registry) namesLocked() []string {
	names := make([]string, 0, len(r.backends))
	for n := range r.backends {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Backend returns the backend registered as name ("" for the default).
func (r *Registry) Backend(name string) (Backend, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if name == "" {
		name = r.def
	}
	b, ok := r.backends[name]
	if !ok {
		return nil, fmt.Errorf("%w %q (have %v)", ErrUnknownBackend, name, r.namesLocked())
	}
	return b, nil
}

// resolve picks the backend a request asks for, wrapped in a Fallback
// when it names one, and the name its session is labelled with.
func (r *Registry) resolve(req Request) (string, Backend, error) {
	name := req.Backend
	if name == "" {
		name = r.Default()
	}
	b, err := r.Backend(name)
	if err != nil {
		return "", nil, err
	}
	if req.Fallback == "" || req.Fallback == name {
		return name, b, nil
	}
	fb, err := r.Fallback(name, req.Fallback, req.WithDefaults().LatencyBudget)
	if err != nil {
		return "", nil, err
	}
	return name, fb, nil
}

// Fallback returns a backend that recognises with primary and turns to
// secondary when primary fails or has not answered within budget of the
// end of speech. Register the result to offer the pair under one name,
// or let a Request name its Fallback.
func (r *Registry) Fallback(primary, secondary string, budget time.Duration) (*Fallback, error) {
	p, err := r.Backend(primary)
	if err != nil {
		return nil, err
	}
	s, err := r.Backend(secondary)
	if err != nil {
		return nil, err
	}
	return NewFallback(primary, p, secondary, s, budget, r.metrics)
}

// Validate checks a request as NewSession would, without starting
// anything: the request's fields, that its backends exist, and what the
// backends check themselves (Validator), such as PocketSphinx's
// dictionary. A flow loader calls it for every node that listens.
func (r *Registry) Validate(req Request) error {
	if err := req.Validate(); err != nil {
		return err
	}
	_, b, err := r.resolve(req)
	if err != nil {
		return err
	}
	if v, ok := b.(Validator); ok {
		return v.Validate(req.WithDefaults())
	}
	return nil
}

// NewSession starts recognising one utterance with the backend req names
// (or the default), wrapped in a Fallback when req names one. Errors are
// about the request (ErrInvalidRequest, ErrUnknownBackend, a backend's
// Validator); everything after the start, including the backend failing
// to open, arrives as the final Result. The session ends when ctx does.
func (r *Registry) NewSession(ctx context.Context, req Request) (*Session, error) {
	name, b, err := r.resolve(req)
	if err != nil {
		return nil, err
	}
	return newSession(ctx, name, b, req, r.log, r.metrics)
}

// NewSession starts a session on a backend outside any Registry (tests,
// tools), labelled name in metrics m (nil: none).
func NewSession(ctx context.Context, name string, b Backend, req Request, m *Metrics) (*Session, error) {
	if b == nil {
		return nil, errors.New("asr: nil backend")
	}
	return newSession(ctx, name, b, req, nil, m)
}
