package jitter

import (
	"errors"
	"fmt"
	"time"
)

// Defaults applied by [New] to zero fields of [Config].
const (
	// DefaultMinDelay is the lowest target delay: one 20 ms frame, enough to
	// absorb the phase between packet arrival and the media clock's tick.
	DefaultMinDelay = 20 * time.Millisecond
	// DefaultMaxDelay is the highest target delay and the overflow limit.
	// ITU-T G.114 puts the comfortable one-way budget at 150 ms; a jitter
	// buffer that needs more than 200 ms is covering for a broken path.
	DefaultMaxDelay = 200 * time.Millisecond
	// DefaultMaxConceal is how long the buffer reports Lost while it has
	// nothing at all to play before it reports Silence. G.711 Appendix I
	// fades to silence after 60 ms, so concealing longer gains nothing.
	DefaultMaxConceal = 60 * time.Millisecond
	// DefaultFrameDuration is the usual ptime (RFC 3551 §4.5).
	DefaultFrameDuration = 20 * time.Millisecond
	// DefaultMaxPacket holds any payload an Ethernet path delivers whole.
	DefaultMaxPacket = 1500
)

// Limits that keep a misconfigured buffer from allocating without bound.
const (
	maxMaxDelay      = 2 * time.Second
	minFrameDuration = 2500 * time.Microsecond // the shortest Opus frame
	maxFrameDuration = 120 * time.Millisecond  // the longest Opus packet (RFC 6716 §3.2.5)
	maxMaxPacket     = 1 << 16
	minClockRate     = 1000
	maxClockRate     = 192000
)

// ErrConfig is wrapped by every error [New] returns for an invalid [Config],
// so callers can tell a configuration mistake from anything else with
// errors.Is.
var ErrConfig = errors.New("jitter: invalid configuration")

// Config describes one received RTP stream and how much delay the buffer may
// add to smooth it. Zero fields take the Default constants, except ClockRate,
// which must be set: guessing it wrong would misplace every packet in time.
type Config struct {
	// MinDelay and MaxDelay bound the adaptive target delay: the time a
	// packet arriving at the average transit time waits before it is played.
	// MaxDelay is also the overflow limit: when more audio than that is
	// queued, the oldest packets are dropped. Defaults 20 ms and 200 ms.
	MinDelay, MaxDelay time.Duration
	// MaxConceal is how long Pop reports Lost while no packet at all is
	// buffered (the sender may have stopped) before it reports Silence.
	// Gaps proven by later sequence numbers are always reported Lost.
	// Zero means the default, 60 ms; a negative value means never.
	MaxConceal time.Duration
	// Disabled makes the buffer a pass-through: every Pop returns the newest
	// packet pushed since the previous Pop, with no reordering and no delay.
	Disabled bool
	// ClockRate is the stream's RTP timestamp clock in Hz (the rtpmap rate:
	// 8000 for G.711 and for G.722 despite its 16 kHz audio, 48000 for Opus).
	ClockRate int
	// FrameDuration is the expected packet time (SDP ptime), default 20 ms.
	// The buffer infers the real duration from timestamp steps, so a sender
	// that packs 10, 30 or 60 ms per packet is handled too.
	FrameDuration time.Duration
	// MaxPacket is the largest payload in bytes a slot holds, default 1500.
	// Larger payloads are refused and counted. Setting it from the codec
	// (160 for 20 ms of G.711) saves memory: slots are preallocated.
	MaxPacket int
}

// withDefaults returns c with zero fields replaced by the defaults.
func (c Config) withDefaults() Config {
	if c.MinDelay == 0 {
		c.MinDelay = DefaultMinDelay
	}
	if c.MaxDelay == 0 {
		c.MaxDelay = max(DefaultMaxDelay, c.MinDelay)
	}
	if c.MaxConceal == 0 {
		c.MaxConceal = DefaultMaxConceal
	}
	if c.MaxConceal < 0 {
		c.MaxConceal = 0
	}
	if c.FrameDuration == 0 {
		c.FrameDuration = DefaultFrameDuration
	}
	if c.MaxPacket == 0 {
		c.MaxPacket = DefaultMaxPacket
	}
	return c
}

// validate reports every problem of a defaulted Config at once, each
// wrapping ErrConfig.
func (c Config) validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrConfig}, args...)...))
	}
	if c.ClockRate < minClockRate || c.ClockRate > maxClockRate {
		bad("clock rate %d Hz outside %d..%d", c.ClockRate, minClockRate, maxClockRate)
	}
	if c.MinDelay < 0 {
		bad("min delay %v is negative", c.MinDelay)
	}
	if c.MaxDelay < c.MinDelay {
		bad("max delay %v below min delay %v", c.MaxDelay, c.MinDelay)
	}
	if c.MaxDelay > maxMaxDelay {
		bad("max delay %v above %v", c.MaxDelay, maxMaxDelay)
	}
	if c.MaxConceal > maxMaxDelay {
		bad("max conceal %v above %v", c.MaxConceal, maxMaxDelay)
	}
	if c.FrameDuration < minFrameDuration || c.FrameDuration > maxFrameDuration {
		bad("frame duration %v outside %v..%v", c.FrameDuration, minFrameDuration, maxFrameDuration)
	}
	if c.MaxPacket < 1 || c.MaxPacket > maxMaxPacket {
		bad("max packet %d bytes outside 1..%d", c.MaxPacket, maxMaxPacket)
	}
	return errors.Join(errs...)
}

// slotCount is how many packets the buffer can hold: MaxDelay plus two
// frames of slack, in packets of FrameDuration or 10 ms, whichever is
// shorter (a 20 ms ptime offer answered with 10 ms packets is common).
func (c Config) slotCount() int {
	pkt := min(c.FrameDuration, 10*time.Millisecond)
	if c.Disabled {
		return 2
	}
	return int((c.MaxDelay+2*c.FrameDuration+pkt-1)/pkt) + 2
}
