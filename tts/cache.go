package tts

import (
	"bytes"
	"container/list"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hotline-ivr/hotline/media/audio"
)

// Backend renders text to mono PCM at the backend's own rate.
type Backend interface {
	// Name identifies the backend in cache keys and metrics.
	Name() string
	Synthesize(ctx context.Context, text, voice string) (pcm []int16, rate int, err error)
}

// Settings may be implemented by a Backend whose output depends on settings beyond
// text and voice (espeak-ng's speed). The string goes into the disk cache's file
// names, so changing a setting renders prompts again instead of serving the old ones
// from disk after a restart.
type Settings interface {
	Settings() string
}

// DefaultCacheBytes bounds the in-memory prompt cache (64 MiB ≈ 70 minutes of 8 kHz audio).
const DefaultCacheBytes = 64 << 20

// Request results, the values of the result label of hotline_tts_requests_total. Each
// Synthesize call counts once, by where its audio came from.
const (
	ResultMemory      = "memory"      // the in-memory cache
	ResultDisk        = "disk"        // the cache directory
	ResultSynthesized = "synthesized" // the backend, for this request or one it waited for
	ResultError       = "error"       // the backend or the resampler failed
	ResultCanceled    = "canceled"    // the caller's context ended first (the caller hung up)
)

// Cache puts a prompt cache in front of a Backend: memory first (per output rate),
// then an optional directory of rendered WAV files that survives restarts, then the
// backend. Concurrent requests for the same prompt render it once. A repeated prompt
// therefore costs no synthesis, which is what keeps a busy IVR's CPU on the media path.
//
// A rendering runs on its own goroutine, detached from the request that started it:
// when that caller hangs up, the others waiting for the same prompt still get it. It
// is cancelled when every request waiting for it has gone, or by Close.
type Cache struct {
	backend  Backend
	dir      string
	maxBytes int64

	mu      sync.Mutex
	items   map[cacheKey]*list.Element
	lru     *list.List
	size    int64
	flights map[cacheKey]*flight
	closed  bool
	renders sync.WaitGroup // render goroutines, which Close waits for

	reg      prometheus.Registerer
	results  *prometheus.CounterVec
	counts   map[string]prometheus.Counter // by result, resolved once
	duration prometheus.Observer
}

type cacheKey struct {
	voice, text string
	rate        int
}

type cacheEntry struct {
	key cacheKey
	pcm []int16
}

// flight is one rendering that any number of requests wait for.
type flight struct {
	done    chan struct{} // closed when pcm, result and err are set
	pcm     []int16
	result  string // ResultDisk or ResultSynthesized
	err     error
	waiters int // requests still waiting, under Cache.mu
	cancel  context.CancelFunc
}

// CacheOption adjusts a Cache.
type CacheOption func(*Cache)

// WithDir keeps rendered prompts as WAV files in dir (created if missing), at the
// backend's rate, so a restart does not synthesize every prompt again.
func WithDir(dir string) CacheOption { return func(c *Cache) { c.dir = dir } }

// WithMaxBytes bounds the memory cache (default DefaultCacheBytes). The least recently
// used prompts are evicted first; the newest prompt stays even when it alone is larger.
func WithMaxBytes(n int64) CacheOption { return func(c *Cache) { c.maxBytes = n } }

// WithRegistry registers the TTS metrics on reg.
func WithRegistry(reg prometheus.Registerer) CacheOption { return func(c *Cache) { c.reg = reg } }

// NewCache wraps b.
func NewCache(b Backend, opts ...CacheOption) (*Cache, error) {
	c := &Cache{
		backend:  b,
		maxBytes: DefaultCacheBytes,
		items:    make(map[cacheKey]*list.Element),
		lru:      list.New(),
		flights:  make(map[cacheKey]*flight),
	}
	for _, o := range opts {
		o(c)
	}
	if c.dir != "" {
		if err := os.MkdirAll(c.dir, 0o755); err != nil {
			return nil, fmt.Errorf("tts: cache dir: %w", err)
		}
	}
	c.results = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hotline_tts_requests_total",
		Help: "Prompt requests by where the audio came from: memory, disk, synthesized; or error, canceled.",
	}, []string{"result"})
	hist := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "hotline_tts_synthesis_seconds",
		Help:    "Time the TTS backend took to render a prompt that was not cached.",
		Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5},
	}, []string{"backend"})
	c.counts = make(map[string]prometheus.Counter)
	for _, r := range []string{ResultMemory, ResultDisk, ResultSynthesized, ResultError, ResultCanceled} {
		c.counts[r] = c.results.WithLabelValues(r)
	}
	c.duration = hist.WithLabelValues(b.Name())
	if c.reg != nil {
		for _, col := range []prometheus.Collector{c.results, hist} {
			if err := c.reg.Register(col); err != nil {
				return nil, fmt.Errorf("tts: register metrics: %w", err)
			}
		}
	}
	return c, nil
}

// Synthesize returns text spoken with voice as mono PCM at rate. The returned slice is
// shared with the cache: callers must not modify it. When ctx ends first it returns
// ctx's error at once, whether or not the rendering goes on for other callers.
func (c *Cache) Synthesize(ctx context.Context, text, voice string, rate int) ([]int16, error) {
	if voice == "" {
		voice = DefaultVoice // so a flow without a voice and one naming en-us share renderings
	}
	if rate <= 0 {
		c.counts[ResultError].Inc()
		return nil, fmt.Errorf("tts: invalid sample rate %d", rate)
	}
	k := cacheKey{voice: voice, text: text, rate: rate}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, ErrClosed
	}
	if pcm, ok := c.getLocked(k); ok {
		c.mu.Unlock()
		c.counts[ResultMemory].Inc()
		return pcm, nil
	}
	f := c.flights[k]
	if f == nil {
		fctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		f = &flight{done: make(chan struct{}), cancel: cancel}
		c.flights[k] = f
		c.renders.Add(1)
		go c.render(fctx, k, f)
	}
	f.waiters++
	c.mu.Unlock()

	select {
	case <-f.done:
		if f.err != nil {
			c.counts[ResultError].Inc()
			return nil, f.err
		}
		c.counts[f.result].Inc()
		return f.pcm, nil
	case <-ctx.Done():
		c.mu.Lock()
		f.waiters--
		if f.waiters == 0 {
			// Nobody wants it any more: stop the backend, and let the next request
			// start afresh rather than join a rendering that is being cancelled.
			f.cancel()
			if c.flights[k] == f {
				delete(c.flights, k)
			}
		}
		c.mu.Unlock()
		c.counts[ResultCanceled].Inc()
		return nil, ctx.Err()
	}
}

// render produces f's prompt: from disk or the backend, resampled to k.rate, then
// cached. It owns ctx, which the last departing waiter cancels.
func (c *Cache) render(ctx context.Context, k cacheKey, f *flight) {
	defer c.renders.Done()
	defer f.cancel()
	var pcm []int16
	r, result, err := c.native(ctx, k.text, k.voice)
	if err == nil {
		pcm, err = resample(r, k.rate)
	}
	c.mu.Lock()
	if err == nil {
		c.putLocked(k, pcm)
	}
	if c.flights[k] == f {
		delete(c.flights, k)
	}
	f.pcm, f.result, f.err = pcm, result, err
	c.mu.Unlock()
	close(f.done)
}

// rendered is a backend-rate rendering and its rate.
type rendered struct {
	pcm  []int16
	rate int
}

func resample(r rendered, rate int) ([]int16, error) {
	if r.rate == rate {
		return r.pcm, nil
	}
	out, err := audio.Resample(r.pcm, r.rate, rate)
	if err != nil {
		return nil, fmt.Errorf("tts: resample %d->%d Hz: %w", r.rate, rate, err)
	}
	return out, nil
}

// native returns the backend-rate rendering, from disk when present, and where it came from.
func (c *Cache) native(ctx context.Context, text, voice string) (rendered, string, error) {
	path := c.diskPath(text, voice)
	if path != "" {
		if f, err := os.Open(path); err == nil {
			pcm, rate, err := audio.ReadWAV(f)
			f.Close()
			if err == nil && len(pcm) > 0 {
				return rendered{pcm, rate}, ResultDisk, nil
			}
			// A damaged file (a full disk, a crash of another tool): render it again.
		}
	}
	start := time.Now()
	pcm, rate, err := c.backend.Synthesize(ctx, text, voice)
	if err != nil {
		return rendered{}, "", err
	}
	if len(pcm) == 0 || rate <= 0 {
		return rendered{}, "", fmt.Errorf("tts: %s returned %d samples at %d Hz", c.backend.Name(), len(pcm), rate)
	}
	c.duration.Observe(time.Since(start).Seconds())
	if path != "" {
		_ = writeFileAtomic(path, pcm, rate) // a cache write failure must not fail the prompt
	}
	return rendered{pcm, rate}, ResultSynthesized, nil
}

// diskPath names the cache file of a prompt: a hash of everything the audio depends on.
func (c *Cache) diskPath(text, voice string) string {
	if c.dir == "" {
		return ""
	}
	id := c.backend.Name()
	if s, ok := c.backend.(Settings); ok {
		id += "\x00" + s.Settings()
	}
	sum := sha256.Sum256([]byte(id + "\x00" + voice + "\x00" + text))
	return filepath.Join(c.dir, hex.EncodeToString(sum[:16])+".wav")
}

// writeFileAtomic writes the WAV file through a temporary file of its own, so a reader
// (or another process sharing the directory) sees the old file, no file or the whole
// new one, never a partial one.
func writeFileAtomic(path string, pcm []int16, rate int) error {
	var buf bytes.Buffer
	if err := audio.WriteWAV(&buf, pcm, rate); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".render-*.tmp")
	if err != nil {
		return err
	}
	_, werr := tmp.Write(buf.Bytes())
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return nil
}

func (c *Cache) getLocked(k cacheKey) ([]int16, bool) {
	el, ok := c.items[k]
	if !ok {
		return nil, false
	}
	c.lru.MoveToFront(el)
	return el.Value.(*cacheEntry).pcm, true
}

func (c *Cache) putLocked(k cacheKey, pcm []int16) {
	if _, ok := c.items[k]; ok {
		return
	}
	c.items[k] = c.lru.PushFront(&cacheEntry{key: k, pcm: pcm})
	c.size += int64(len(pcm) * 2)
	for c.size > c.maxBytes && c.lru.Len() > 1 {
		old := c.lru.Back()
		e := old.Value.(*cacheEntry)
		c.lru.Remove(old)
		delete(c.items, e.key)
		c.size -= int64(len(e.pcm) * 2)
	}
}

// SSMLBackend may be implemented by a Backend that speaks SSML documents (IsSSML).
type SSMLBackend interface {
	SSML() bool
}

// SSML reports whether the backend speaks SSML documents, so the IVR may send
// prompts with markup as documents (ivr.SSMLSynthesizer) rather than plain text.
func (c *Cache) SSML() bool {
	b, ok := c.backend.(SSMLBackend)
	return ok && b.SSML()
}

// ErrClosed is returned by Synthesize after Close.
var ErrClosed = errors.New("tts: cache closed")

// Close cancels the renderings in progress (their requests get an error) and waits
// for their goroutines, so shutdown leaves no backend process behind. Later
// Synthesize calls return ErrClosed. Close is idempotent.
func (c *Cache) Close() error {
	c.mu.Lock()
	c.closed = true
	for _, f := range c.flights {
		f.cancel()
	}
	c.mu.Unlock()
	c.renders.Wait()
	return nil
}

// Len is the number of prompts held in memory.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}

// Bytes is the size of the prompts held in memory, which WithMaxBytes bounds.
func (c *Cache) Bytes() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.size
}
