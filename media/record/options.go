package record

import (
	"errors"
	"fmt"
	"time"
)

// Defaults, named so the doc comments, the config and the tests agree.
const (
	// DefaultHeaderInterval is how much recorded audio passes between two
	// header rewrites: a killed process loses at most this much (plus the
	// write buffer) from what the header describes.
	DefaultHeaderInterval = 2 * time.Second
	// DefaultQueue is how much audio the queue between the media clock and
	// the disk holds before frames are dropped. Two seconds rides out the
	// stalls of a busy disk (journal commits, writeback throttling) while
	// costing 64 KB per call at 8 kHz stereo and 384 KB at 48 kHz.
	DefaultQueue = 2 * time.Second

	minInterval = 10 * time.Millisecond // below this the header rewrite dominates the I/O
	minRate     = 8000
	maxRate     = 48000
	// defaultBufSize is the bufio.Writer size: about one write(2) per second
	// at 8 kHz stereo.
	defaultBufSize = 32 << 10
)

// ErrInvalid reports a rate or option New and Create refuse, so callers can
// tell a configuration bug from a disk error.
var ErrInvalid = errors.New("record: invalid configuration")

// PauseMode says what a paused recording puts in the file.
type PauseMode uint8

const (
	// PauseUnknown is the zero value; WithPauseMode refuses it.
	PauseUnknown PauseMode = iota
	// PauseSilence (the default) writes silence while paused, so the file's
	// timeline still lines up with the call (and with the CDR timestamps).
	PauseSilence
	// PauseSkip writes nothing while paused: the file is shorter than the
	// call and the Pause entries say where the cuts are.
	PauseSkip
)

// String names the mode for logs and the call record.
func (m PauseMode) String() string {
	switch m {
	case PauseSilence:
		return "silence"
	case PauseSkip:
		return "skip"
	}
	return "unknown"
}

// SyncPolicy says when the recorder calls fsync. Surviving the death of the
// process needs none: every flushed write is in the kernel's page cache,
// which outlives the process. fsync only matters for a kernel crash or power
// loss, and costs a disk flush per call per interval, so it is opt-in.
type SyncPolicy uint8

const (
	// SyncUnknown is the zero value; WithSync refuses it.
	SyncUnknown SyncPolicy = iota
	// SyncNever never calls fsync: for tmpfs, tests, or when the storage
	// layer replicates anyway.
	SyncNever
	// SyncClose (the default) calls fsync once, in Close, after the final
	// header: a recording that Close reported is on stable storage, and a
	// process killed mid-call still leaves a valid file in the page cache.
	SyncClose
	// SyncCheckpoint also calls fsync before every header rewrite, so the
	// audio a header describes is durable before the header says so; after
	// a power loss the file is valid up to the previous checkpoint. It also
	// fsyncs the directory after Create so the file's name survives.
	SyncCheckpoint
)

// String names the policy for logs and config dumps.
func (p SyncPolicy) String() string {
	switch p {
	case SyncNever:
		return "never"
	case SyncClose:
		return "close"
	case SyncCheckpoint:
		return "checkpoint"
	}
	return "unknown"
}

// Option configures a Recorder.
type Option func(*config)

type config struct {
	mono           bool
	pause          PauseMode
	sync           SyncPolicy
	headerInterval time.Duration
	queue          time.Duration
	now            func() time.Time
	bufSize        int              // bufio size; tests shrink it
	onCheckpoint   func(data int64) // test hook, runs on the writer goroutine
	maxData        int64            // test hook lowering the RIFF size limit; 0 keeps it
}

// WithMono records one channel, the caller and the other side summed with
// saturation, for archives that only need to be listened to; it halves the
// disk use. Summing (not averaging) keeps each side at its own level, which
// is what a listener expects since the two rarely speak at once.
func WithMono() Option { return func(c *config) { c.mono = true } }

// WithPauseMode chooses what the file gets while paused (default
// PauseSilence).
func WithPauseMode(m PauseMode) Option { return func(c *config) { c.pause = m } }

// WithSync chooses the fsync policy (default SyncClose).
func WithSync(p SyncPolicy) Option { return func(c *config) { c.sync = p } }

// WithHeaderInterval sets how much recorded audio passes between header
// rewrites (default DefaultHeaderInterval, at least 10 ms). It is measured
// in audio rather than wall time so the cadence does not depend on the
// scheduler; audio advances in real time while the media clock feeds it.
func WithHeaderInterval(d time.Duration) Option {
	return func(c *config) { c.headerInterval = d }
}

// WithQueue sets how much audio may wait between the media clock and the
// disk (default DefaultQueue, at least 10 ms, and at least the longest
// frame: a larger frame can never be queued and is always dropped). It is
// preallocated, so it is also the recorder's memory: rate × channels × 2
// bytes per second.
func WithQueue(d time.Duration) Option { return func(c *config) { c.queue = d } }

// WithClock sets the clock that stamps Pause entries (default time.Now), so
// tests and replays get deterministic call records.
func WithClock(now func() time.Time) Option { return func(c *config) { c.now = now } }

// newConfig applies opts over the defaults and reports every problem at once.
func newConfig(rate int, opts []Option) (config, error) {
	c := config{
		pause:          PauseSilence,
		sync:           SyncClose,
		headerInterval: DefaultHeaderInterval,
		queue:          DefaultQueue,
		now:            time.Now,
		bufSize:        defaultBufSize,
	}
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	var errs []error
	if rate < minRate || rate > maxRate {
		errs = append(errs, fmt.Errorf("%w: sample rate %d Hz (want %d to %d)", ErrInvalid, rate, minRate, maxRate))
	}
	if c.pause != PauseSilence && c.pause != PauseSkip {
		errs = append(errs, fmt.Errorf("%w: pause mode %d", ErrInvalid, c.pause))
	}
	if c.sync < SyncNever || c.sync > SyncCheckpoint {
		errs = append(errs, fmt.Errorf("%w: sync policy %d", ErrInvalid, c.sync))
	}
	if c.headerInterval < minInterval {
		errs = append(errs, fmt.Errorf("%w: header interval %v (at least %v)", ErrInvalid, c.headerInterval, minInterval))
	}
	if c.queue < minInterval {
		errs = append(errs, fmt.Errorf("%w: queue %v (at least %v)", ErrInvalid, c.queue, minInterval))
	}
	if c.now == nil {
		errs = append(errs, fmt.Errorf("%w: nil clock", ErrInvalid))
	}
	if c.bufSize <= 0 {
		c.bufSize = defaultBufSize
	}
	return c, errors.Join(errs...)
}
