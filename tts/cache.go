package tts

import (
	"bytes"
	"container/list"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/singleflight"

	"github.com/hotline-ivr/hotline/media/audio"
)

// Backend renders text to mono PCM at the backend's own rate.
type Backend interface {
	// Name identifies the backend in cache keys.
	Name() string
	Synthesize(ctx context.Context, text, voice string) (pcm []int16, rate int, err error)
}

// DefaultCacheBytes bounds the in-memory prompt cache (64 MiB ≈ 70 minutes of 8 kHz audio).
const DefaultCacheBytes = 64 << 20

// Cache puts a prompt cache in front of a Backend: memory first (per output rate),
// then an optional directory of rendered WAV files that survives restarts, then the
// backend. Concurrent requests for the same prompt render it once. A repeated prompt
// therefore costs no synthesis, which is what keeps a busy IVR's CPU on the media path.
type Cache struct {
	backend  Backend
	dir      string
	maxBytes int64

	mu    sync.Mutex
	items map[cacheKey]*list.Element
	lru   *list.List
	size  int64
	group singleflight.Group

	reg      prometheus.Registerer
	results  *prometheus.CounterVec
	hitMem   prometheus.Counter
	hitDisk  prometheus.Counter
	rendered prometheus.Counter
	failed   prometheus.Counter
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

// CacheOption adjusts a Cache.
type CacheOption func(*Cache)

// WithDir keeps rendered prompts as WAV files in dir (created if missing).
func WithDir(dir string) CacheOption { return func(c *Cache) { c.dir = dir } }

// WithMaxBytes bounds the memory cache.
func WithMaxBytes(n int64) CacheOption { return func(c *Cache) { c.maxBytes = n } }

// WithRegistry registers the TTS metrics on reg.
func WithRegistry(reg prometheus.Registerer) CacheOption { return func(c *Cache) { c.reg = reg } }

// NewCache wraps b.
func NewCache(b Backend, opts ...CacheOption) (*Cache, error) {
	c := &Cache{backend: b, maxBytes: DefaultCacheBytes, items: make(map[cacheKey]*list.Element), lru: list.New()}
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
		Help: "Prompt requests by where the audio came from: memory, disk, synthesized, error.",
	}, []string{"result"})
	hist := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "hotline_tts_synthesis_seconds",
		Help:    "Time the TTS backend took to render a prompt that was not cached.",
		Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5},
	}, []string{"backend"})
	c.hitMem = c.results.WithLabelValues("memory")
	c.hitDisk = c.results.WithLabelValues("disk")
	c.rendered = c.results.WithLabelValues("synthesized")
	c.failed = c.results.WithLabelValues("error")
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
// shared with the cache: callers must not modify it.
func (c *Cache) Synthesize(ctx context.Context, text, voice string, rate int) ([]int16, error) {
	if voice == "" {
		voice = DefaultVoice
	}
	k := cacheKey{voice: voice, text: text, rate: rate}
	if pcm, ok := c.get(k); ok {
		c.hitMem.Inc()
		return pcm, nil
	}
	v, err, _ := c.group.Do(fmt.Sprintf("%d|%s|%s", rate, voice, text), func() (any, error) {
		if pcm, ok := c.get(k); ok {
			return pcm, nil
		}
		native, nrate, err := c.native(ctx, text, voice)
		if err != nil {
			return nil, err
		}
		pcm := native
		if nrate != rate {
			pcm, err = audio.Resample(native, nrate, rate)
			if err != nil {
				return nil, fmt.Errorf("tts: resample %d->%d: %w", nrate, rate, err)
			}
		}
		c.put(k, pcm)
		return pcm, nil
	})
	if err != nil {
		c.failed.Inc()
		return nil, err
	}
	return v.([]int16), nil
}

// native returns the backend-rate rendering, from disk when present.
func (c *Cache) native(ctx context.Context, text, voice string) ([]int16, int, error) {
	path := ""
	if c.dir != "" {
		sum := sha256.Sum256([]byte(c.backend.Name() + "\x00" + voice + "\x00" + text))
		path = filepath.Join(c.dir, hex.EncodeToString(sum[:16])+".wav")
		if f, err := os.Open(path); err == nil {
			pcm, rate, err := audio.ReadWAV(f)
			f.Close()
			if err == nil && len(pcm) > 0 {
				c.hitDisk.Inc()
				return pcm, rate, nil
			}
		}
	}
	start := time.Now()
	pcm, rate, err := c.backend.Synthesize(ctx, text, voice)
	if err != nil {
		return nil, 0, err
	}
	c.duration.Observe(time.Since(start).Seconds())
	c.rendered.Inc()
	if path != "" {
		if err := writeFileAtomic(path, pcm, rate); err != nil {
			return pcm, rate, nil // a cache write failure must not fail the prompt
		}
	}
	return pcm, rate, nil
}

func writeFileAtomic(path string, pcm []int16, rate int) error {
	var buf bytes.Buffer
	if err := audio.WriteWAV(&buf, pcm, rate); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, buf.Bytes(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func (c *Cache) get(k cacheKey) ([]int16, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[k]
	if !ok {
		return nil, false
	}
	c.lru.MoveToFront(el)
	return el.Value.(*cacheEntry).pcm, true
}

func (c *Cache) put(k cacheKey, pcm []int16) {
	c.mu.Lock()
	defer c.mu.Unlock()
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

// Len is the number of prompts held in memory.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}
