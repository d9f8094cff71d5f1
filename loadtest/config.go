package loadtest

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/hotline-ivr/hotline/media/dtmf"
)

// Mode is the caller's script: what each generated call does once answered.
type Mode uint8

const (
	// ModeUnknown is the zero value; Run treats it as ModeIVR.
	ModeUnknown Mode = iota
	// ModeIVR walks a menu: hear the greeting, wait for the prompts to end, press the
	// digits (RFC 4733), say the phrase if one is set, hear the answer, then hang up
	// as Hangup says (by default the engine does, after its goodbye).
	ModeIVR
	// ModeGreeting hears the greeting and hangs up after Hold: full IVR call setup,
	// for calls-per-second figures.
	ModeGreeting
	// ModeSignalling sends no media: it answers, waits Hold and hangs up. The engine's
	// RTP is still received and judged.
	ModeSignalling
)

// ParseMode reads the command-line spelling of a mode.
func ParseMode(s string) (Mode, error) {
	switch strings.ToLower(s) {
	case "", "ivr":
		return ModeIVR, nil
	case "greeting":
		return ModeGreeting, nil
	case "signalling", "signaling":
		return ModeSignalling, nil
	}
	return ModeUnknown, fmt.Errorf("loadtest: unknown script %q (want ivr, greeting or signalling)", s)
}

func (m Mode) String() string {
	switch m {
	case ModeIVR:
		return "ivr"
	case ModeGreeting:
		return "greeting"
	case ModeSignalling:
		return "signalling"
	}
	return "unknown"
}

// MarshalText writes the mode's name in reports.
func (m Mode) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// Hangup says who ends an IVR call.
type Hangup uint8

const (
	// HangupUnknown is the zero value; Run treats it as HangupEngine.
	HangupUnknown Hangup = iota
	// HangupEngine waits for the engine's BYE: the flow ends the call.
	HangupEngine
	// HangupCaller sends BYE Hold after the answer to the caller's input began.
	HangupCaller
)

// ParseHangup reads the command-line spelling of a hang-up policy.
func ParseHangup(s string) (Hangup, error) {
	switch strings.ToLower(s) {
	case "", "engine":
		return HangupEngine, nil
	case "caller":
		return HangupCaller, nil
	}
	return HangupUnknown, fmt.Errorf("loadtest: unknown hangup %q (want engine or caller)", s)
}

func (h Hangup) String() string {
	switch h {
	case HangupEngine:
		return "engine"
	case HangupCaller:
		return "caller"
	}
	return "unknown"
}

// MarshalText writes the policy's name in reports.
func (h Hangup) MarshalText() ([]byte, error) { return []byte(h.String()), nil }

// Criteria are the quality thresholds a run must meet to count as passed. The
// defaults are the capacity benchmark's (issue 10): a caller hears what the figure
// claims.
type Criteria struct {
	// MinCompletion is the share of calls that must complete their script. Default 0.999.
	MinCompletion float64 `json:"min_completion"`
	// MaxGapP99 bounds the 99th percentile of the caller's RTP inter-arrival gaps. Default 30ms.
	MaxGapP99 time.Duration `json:"max_gap_p99"`
	// MaxLoss bounds lost/expected RTP packets. Default 0.001.
	MaxLoss float64 `json:"max_loss"`
	// MaxSetupP99 bounds the 99th percentile of INVITE→200. Default 200ms.
	MaxSetupP99 time.Duration `json:"max_setup_p99"`
	// MaxGeneratorCPU is the share of one core above which the generator itself may
	// be what failed; the run is then marked invalid, not failed. Default 0.9.
	MaxGeneratorCPU float64 `json:"max_generator_cpu"`
}

// Defaults of Config and Criteria, named so documentation and code agree.
const (
	DefaultRate              = 10.0
	DefaultUser              = "hotline"
	DefaultDigits            = "2"
	DefaultPtime             = 20 * time.Millisecond
	DefaultSockets           = 4
	DefaultClockTick         = 5 * time.Millisecond
	DefaultSetupTimeout      = 10 * time.Second
	DefaultFirstAudioTimeout = 5 * time.Second
	DefaultPromptTimeout     = 30 * time.Second
	DefaultResponseTimeout   = 5 * time.Second
	DefaultCallTimeout       = 2 * time.Minute
	DefaultPromptGap         = time.Second
	DefaultDigitDuration     = 100 * time.Millisecond
	DefaultSampleInterval    = time.Second
	DefaultMinCompletion     = 0.999
	DefaultMaxGapP99         = 30 * time.Millisecond
	DefaultMaxLoss           = 0.001
	DefaultMaxSetupP99       = 200 * time.Millisecond
	DefaultMaxGeneratorCPU   = 0.9
)

// Config describes one load run. Zero fields take the defaults above.
type Config struct {
	// Target is the engine's SIP address, host:port. Required.
	Target string
	// Transport is udp (default) or tcp.
	Transport string
	// User is the user part of the request URI, the number called. Default "hotline".
	User string
	// LocalIP is the address SIP and RTP sockets bind to. Default 127.0.0.1.
	LocalIP netip.Addr

	// Concurrency is the most calls up at once. Required.
	Concurrency int
	// Rate is new calls per second. Default 10.
	Rate float64
	// Duration is how long new calls are started; running calls then finish. Either
	// Duration or Calls is required.
	Duration time.Duration
	// Calls stops after this many calls have been started; 0 means no limit.
	Calls int

	// Mode is the caller's script. Default ModeIVR.
	Mode Mode
	// Digits are the keys an IVR caller presses once the prompts end. Default "2";
	// "-" presses none.
	Digits string
	// Phrase is text the caller says after the digits, rendered with espeak-ng when
	// the run starts ("" says nothing). PhraseWAV, a WAV file, takes precedence.
	Phrase    string
	PhraseWAV string
	// Voice is the espeak-ng voice of Phrase. Default en-us.
	Voice string
	// Espeak is the espeak-ng program. Default: found in PATH.
	Espeak string
	// Talk sends the phrase in a loop whenever the caller is not pressing keys,
	// instead of silence: real speech in every packet.
	Talk bool
	// Hangup says who ends IVR calls. Default HangupEngine.
	Hangup Hangup
	// Hold is how long a caller stays after the answer (signalling), the greeting
	// (greeting) or the start of the response (IVR with HangupCaller).
	Hold time.Duration

	// Codec is PCMU (default), PCMA or opus.
	Codec string
	// Ptime is the packet time. Default 20ms.
	Ptime time.Duration
	// DigitDuration is how long each key is held. Default 100ms.
	DigitDuration time.Duration

	// SetupTimeout bounds INVITE→200. Default 10s.
	SetupTimeout time.Duration
	// FirstAudioTimeout bounds 200→greeting. Default 5s.
	FirstAudioTimeout time.Duration
	// PromptTimeout bounds the greeting's start to the end of the prompts. Default 30s.
	PromptTimeout time.Duration
	// ResponseTimeout bounds the end of the caller's input to the answer's start. Default 5s.
	ResponseTimeout time.Duration
	// CallTimeout bounds a whole call. Default 2m.
	CallTimeout time.Duration
	// PromptGap is the silence that ends a prompt. Default 1s.
	PromptGap time.Duration
	// SpeechDBFS is the level above which a received frame is speech. Default -45.
	SpeechDBFS float64

	// Sockets is the number of RTP sockets shared by the calls. Default 4.
	Sockets int
	// ClockTick is the media clock's granularity. Default 5ms.
	ClockTick time.Duration

	// EnginePID, when set, has the engine's CPU and memory sampled from /proc.
	EnginePID int
	// EngineMetrics, when set (and EnginePID is not), has them read from the
	// engine's Prometheus endpoint, e.g. http://127.0.0.1:8080/metrics.
	EngineMetrics string
	// SampleInterval is how often the engine and the generator are sampled. Default 1s.
	SampleInterval time.Duration

	// Progress receives a live progress line every ProgressInterval (default 1s);
	// nil prints nothing.
	Progress         io.Writer
	ProgressInterval time.Duration
	// Logger receives warnings. Default: discard.
	Logger *slog.Logger
	// Criteria are the quality thresholds. Zero fields take the defaults.
	Criteria Criteria
	// KeepCalls puts every call's record in the report, not only failures.
	KeepCalls bool
}

// withDefaults returns c with every zero field set to its default.
func (c Config) withDefaults() Config {
	if c.Transport == "" {
		c.Transport = "udp"
	}
	if c.User == "" {
		c.User = DefaultUser
	}
	if !c.LocalIP.IsValid() {
		c.LocalIP = netip.MustParseAddr("127.0.0.1")
	}
	if c.Rate == 0 {
		c.Rate = DefaultRate
	}
	if c.Mode == ModeUnknown {
		c.Mode = ModeIVR
	}
	if c.Digits == "" {
		c.Digits = DefaultDigits
	}
	if c.Hangup == HangupUnknown {
		c.Hangup = HangupEngine
	}
	if c.Codec == "" {
		c.Codec = "PCMU"
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&c.Ptime, DefaultPtime)
	def(&c.DigitDuration, DefaultDigitDuration)
	def(&c.SetupTimeout, DefaultSetupTimeout)
	def(&c.FirstAudioTimeout, DefaultFirstAudioTimeout)
	def(&c.PromptTimeout, DefaultPromptTimeout)
	def(&c.ResponseTimeout, DefaultResponseTimeout)
	def(&c.CallTimeout, DefaultCallTimeout)
	def(&c.PromptGap, DefaultPromptGap)
	def(&c.ClockTick, DefaultClockTick)
	def(&c.SampleInterval, DefaultSampleInterval)
	def(&c.ProgressInterval, time.Second)
	if c.SpeechDBFS == 0 {
		c.SpeechDBFS = DefaultSpeechDBFS
	}
	if c.Sockets == 0 {
		c.Sockets = DefaultSockets
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	c.Criteria = c.Criteria.withDefaults()
	return c
}

func (k Criteria) withDefaults() Criteria {
	if k.MinCompletion == 0 {
		k.MinCompletion = DefaultMinCompletion
	}
	if k.MaxGapP99 == 0 {
		k.MaxGapP99 = DefaultMaxGapP99
	}
	if k.MaxLoss == 0 {
		k.MaxLoss = DefaultMaxLoss
	}
	if k.MaxSetupP99 == 0 {
		k.MaxSetupP99 = DefaultMaxSetupP99
	}
	if k.MaxGeneratorCPU == 0 {
		k.MaxGeneratorCPU = DefaultMaxGeneratorCPU
	}
	return k
}

// Validate reports every problem of the configuration at once (after defaults).
func (c Config) Validate() error {
	c = c.withDefaults()
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf("loadtest: "+format, args...)) }
	if c.Target == "" {
		bad("target: the engine's SIP address (host:port) is required")
	} else if _, port, err := net.SplitHostPort(c.Target); err != nil {
		bad("target %q: %v", c.Target, err)
	} else if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		bad("target %q: bad port", c.Target)
	}
	if c.Transport != "udp" && c.Transport != "tcp" {
		bad("transport %q: want udp or tcp", c.Transport)
	}
	if c.Concurrency < 1 {
		bad("concurrency %d: at least one call", c.Concurrency)
	}
	if c.Rate < 0 || c.Rate > 100000 {
		bad("rate %g: calls per second must be in (0, 100000]", c.Rate)
	}
	if c.Duration <= 0 && c.Calls <= 0 {
		bad("a duration or a number of calls is required")
	}
	if c.Duration < 0 || c.Calls < 0 || c.Hold < 0 {
		bad("duration, calls and hold must not be negative")
	}
	if c.Digits != "-" {
		for i := range len(c.Digits) {
			if _, ok := dtmf.CodeFromDigit(c.Digits[i]); !ok {
				bad("digits %q: %q is not a DTMF key", c.Digits, c.Digits[i])
				break
			}
		}
	}
	switch strings.ToUpper(c.Codec) {
	case "PCMU", "PCMA", "OPUS":
	default:
		bad("codec %q: want PCMU, PCMA or opus", c.Codec)
	}
	if c.Ptime != 20*time.Millisecond {
		bad("ptime %v: only 20ms is supported", c.Ptime)
	}
	if c.Sockets < 1 || c.Sockets > 256 {
		bad("sockets %d: want 1-256", c.Sockets)
	}
	if c.ClockTick < time.Millisecond || c.ClockTick > c.Ptime || c.Ptime%c.ClockTick != 0 {
		bad("clock tick %v: want a divisor of the packet time, at least 1ms", c.ClockTick)
	}
	if c.SpeechDBFS >= 0 || c.SpeechDBFS < -100 {
		bad("speech level %g dBFS: want -100 to 0", c.SpeechDBFS)
	}
	if c.EnginePID < 0 {
		bad("engine pid %d", c.EnginePID)
	}
	if c.Mode == ModeIVR && c.Digits == "-" && c.Phrase == "" && c.PhraseWAV == "" {
		bad("an IVR caller needs digits or a phrase to answer the menu with")
	}
	if c.Criteria.MinCompletion > 1 || c.Criteria.MaxLoss >= 1 {
		bad("criteria: completion and loss are ratios (0-1)")
	}
	return errors.Join(errs...)
}
