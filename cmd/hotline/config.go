package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/hotline-ivr/hotline/api"
	"github.com/hotline-ivr/hotline/media"
	"github.com/hotline-ivr/hotline/media/codec"
	"github.com/hotline-ivr/hotline/sip"
	"github.com/hotline-ivr/hotline/sip/auth"
	"github.com/hotline-ivr/hotline/sip/guard"
	"github.com/hotline-ivr/hotline/store"
	"github.com/hotline-ivr/hotline/webrtc"
)

// Config is the whole engine configuration: the YAML file, then flags on top. Every
// field has a default, so `hotline serve` with neither runs on loopback with the sample
// flow.
type Config struct {
	// DataDir holds what the engine keeps on disk: recordings, the call record
	// database. Default: ./data.
	DataDir    string           `yaml:"data_dir"`
	SIP        SIPConfig        `yaml:"sip"`
	HTTP       HTTPConfig       `yaml:"http"`
	RTP        RTPConfig        `yaml:"rtp"`
	Flows      FlowsConfig      `yaml:"flows"`
	TTS        TTSConfig        `yaml:"tts"`
	Log        LogConfig        `yaml:"log"`
	API        APIConfig        `yaml:"api"`
	Recordings RecordingsConfig `yaml:"recordings"`
	Limits     LimitsConfig     `yaml:"limits"`
	// Store is where call records go: SQLite in data_dir by default.
	Store store.Config `yaml:"store"`
	// ASR is speech recognition: PocketSphinx built in, Vosk-protocol servers.
	ASR ASRConfig `yaml:"asr"`
	// ACD is the human queues: agents, queues, hold music.
	ACD ACDConfig `yaml:"acd"`
	// WebRTC is the browser endpoint: /call for callers, /agent for agents.
	// Default: ICE on loopback only (bind_ip 127.0.0.1), for the quick start.
	WebRTC webrtc.Config `yaml:"webrtc"`
}

// APIConfig is the REST API and wallboard section.
type APIConfig struct {
	// Tokens are the API's bearer tokens, each with a name and a role (viewer,
	// supervisor, admin). Without any the API answers 401: it is closed, not open.
	Tokens []api.TokenConfig `yaml:"tokens"`
	// AuditLog is a file every state-changing request is appended to as a JSON line.
	// Default: the process log.
	AuditLog string `yaml:"audit_log"`
	// WallboardInterval is how often the wallboard refreshes. Default: 1s.
	WallboardInterval *Duration `yaml:"wallboard_interval"`
}

// RecordingsConfig says where recordings go and which calls are recorded.
type RecordingsConfig struct {
	// Dir holds voicemail and call recordings. Default: <data_dir>/recordings.
	Dir string `yaml:"dir"`
	// Calls records every call in stereo (caller left, engine or agent right).
	// Default: false (voicemail from record nodes is always kept).
	Calls bool `yaml:"calls"`
}

// LimitsConfig bounds the load one node takes and how it stops: admission control
// (admission.go) for SIP and WebRTC calls alike. A call over a limit is refused
// before it gets media (SIP: 503 with Retry-After; WebRTC: the page is told) and
// /readyz answers 503 while any limit is reached, so the dispatcher in front routes
// elsewhere.
type LimitsConfig struct {
	// MaxCalls refuses new calls beyond this many at once. Default: 0, no limit
	// beyond the RTP port range.
	MaxCalls int `yaml:"max_calls"`
	// MaxCPS refuses new calls beyond this many per second (a token bucket: MaxCPS
	// per second, max(1, MaxCPS) at once; fractions allowed). Default: 0, no limit.
	MaxCPS float64 `yaml:"max_cps"`
	// MaxCPU refuses new calls while the engine process used more than this
	// fraction of the CPUs it may use (GOMAXPROCS: the affinity mask, a cgroup
	// quota) over the last 2 seconds, e.g. 0.9. Default: 0, no limit.
	MaxCPU float64 `yaml:"max_cpu"`
	// DrainTimeout is how long SIGTERM waits for calls in progress to end, refusing
	// new ones, before it hangs up the rest. Default: 30s.
	DrainTimeout Duration `yaml:"drain_timeout"`
}

// recordingsDir is where recordings go.
func (c *Config) recordingsDir() string {
	if c.Recordings.Dir != "" {
		return c.Recordings.Dir
	}
	return filepath.Join(c.DataDir, "recordings")
}

// SIPConfig is the SIP listener section.
type SIPConfig struct {
	// Listen is a list of transport:host:port (udp or tcp).
	// Default: udp:127.0.0.1:5060 and tcp:127.0.0.1:5060.
	Listen []string `yaml:"listen"`
	// PublicAddress is the host written into Contact and Via headers (1:1 NAT).
	// Default: the host of the first listen address.
	PublicAddress string `yaml:"public_address"`
	// UserAgent is the Server/User-Agent header value. Default: "hotline/<version>".
	UserAgent string `yaml:"user_agent"`
	// Inbound says who may call in: trunks matched by source address, host or digest
	// credentials, and trusted sources. Default: loopback only.
	Inbound sip.InboundConfig `yaml:"inbound"`
	// Routes send called numbers to flows (first match wins; no match: 404).
	// Default: none, every call runs flows.default.
	Routes []sip.RouteConfig `yaml:"routes"`
	// Trunks are the carriers outbound calls to numbers go through: the ACD's
	// callbacks (acd.callback_trunk), the originate API (see sip.TrunkConfig).
	// Default: none.
	Trunks []sip.TrunkConfig `yaml:"trunks"`
	// Guard is the flood guard: per-source rates, bans, scanners (call limits are
	// the limits section's). Default: on, with loopback exempt.
	Guard guard.Config `yaml:"guard"`
	// TLS is the certificate of tls: listeners (reloaded on SIGHUP).
	TLS sip.TLSConfig `yaml:"tls"`
	// Connections bounds inbound TCP and TLS connections against slow-loris and
	// connection floods: per source address, in total, and how long a message may
	// take to arrive or a connection stay idle (see sip.ConnLimits). Default:
	// 64 per source, 4096 in all, 10s, 10m.
	Connections sip.ConnLimits `yaml:"connections"`
	// Realm is the digest realm of agent phones' registrations. Default: "hotline".
	Realm string `yaml:"realm"`
	// Users are the agents' phones: SIP username (the agent's extension) to
	// credentials. With any, hotline is the phones' registrar.
	Users map[string]SIPUser `yaml:"users"`
	// DigestAlgorithms are the digest algorithms the registrar challenges with, one
	// WWW-Authenticate each, in this order: MD5 and SHA-256 (RFC 8760). Default: MD5
	// alone, since phones that meet a SHA-256 challenge they do not know (baresip
	// 1.0, older desk phone firmware) give up instead of taking the next one.
	DigestAlgorithms []string `yaml:"digest_algorithms"`
}

// digestAlgorithms is sip.digest_algorithms with its default.
func (c SIPConfig) digestAlgorithms() []string {
	if len(c.DigestAlgorithms) == 0 {
		return []string{"MD5"}
	}
	return c.DigestAlgorithms
}

// SIPUser is one phone's digest credentials: a password, or the HA1 hashes so the
// configuration need not hold the password.
type SIPUser struct {
	Password  string `yaml:"password"`
	HA1MD5    string `yaml:"ha1_md5"`
	HA1SHA256 string `yaml:"ha1_sha256"`
}

// realm is the digest realm of registrations.
func (c SIPConfig) realm() string {
	if c.Realm != "" {
		return c.Realm
	}
	return "hotline"
}

// ACDConfig is the human queues section.
type ACDConfig struct {
	// File holds the agents and queues (see acd/testdata/acd.yaml). Default: the
	// built-in queues care, billing and complaints, no agents.
	File string `yaml:"file"`
	// MusicOnHold is a WAV file looped while callers wait. Default: a built-in tune.
	MusicOnHold string `yaml:"music_on_hold"`
	// HoldPromptEvery is how often a queue node's hold prompt interrupts the music.
	// Default: 30s.
	HoldPromptEvery Duration `yaml:"hold_prompt_every"`
	// WhisperVoice speaks the whisper (queue, intent) to an agent before the
	// caller is connected, on queues with whisper: true. Default: en-us.
	WhisperVoice string `yaml:"whisper_voice"`
	// DTMFPassthrough forwards the keys pressed on either side to the other while a
	// caller talks to an agent (an agent steering a caller into a payment IVR, a
	// caller entering a reference the agent's system reads), each leg in the way
	// its peer negotiated (RFC 4733, SIP INFO, tones). Default: false, keys pressed
	// during the conversation reach nobody (card numbers are not echoed to agents).
	DTMFPassthrough bool `yaml:"dtmf_passthrough"`
	// CallbackTrunk is the sip.trunks entry a queue's callbacks dial the customer
	// through; pending callbacks are kept in data_dir and survive a restart.
	// Default: "", no callback is offered.
	CallbackTrunk string `yaml:"callback_trunk"`
}

// HTTPConfig is the HTTP listener section (health, metrics).
type HTTPConfig struct {
	// Listen is host:port. Default: 127.0.0.1:8080.
	Listen string `yaml:"listen"`
	// Pprof serves Go's profiler (net/http/pprof) under /debug/pprof/ on this
	// listener, for the capacity benchmark's profile (bench/PROFILE.md). It exposes
	// the process's internals: keep it off on a listener others can reach.
	// Default: false.
	Pprof bool `yaml:"pprof"`
}

// RTPConfig is the media section.
type RTPConfig struct {
	// BindAddress is the IP RTP sockets bind to. Default: 127.0.0.1.
	BindAddress string `yaml:"bind_address"`
	// PublicAddress is the IP written into SDP (1:1 NAT). Default: the bind address.
	PublicAddress string `yaml:"public_address"`
	// PortMin and PortMax bound the RTP ports (even ports, one per call). Default 10000-20000.
	PortMin int `yaml:"port_min"`
	PortMax int `yaml:"port_max"`
	// Timeout ends a call whose RTP stopped this long (not while on hold); "0s" disables.
	// Default: 30s.
	Timeout *Duration `yaml:"timeout"`
	// SocketBuffer is the receive and send buffer of each RTP socket in bytes. Default 524288.
	SocketBuffer int `yaml:"socket_buffer"`
	// Symmetric is the symmetric-RTP (NAT latching) policy: auto, any or off. Default: auto.
	Symmetric string `yaml:"symmetric"`
	// Codecs are the audio codecs calls may use, in the engine's preference for the
	// offers it makes (outbound calls, late offers); answers follow the caller's
	// order (RFC 3264). Default: opus, G722, PCMU, PCMA.
	Codecs []string `yaml:"codecs"`
	// SendBatching is how outgoing RTP reaches the kernel: auto sends each clock
	// tick's packets in one io_uring submission where the kernel allows it (half the
	// engine's CPU at capacity was one system call per packet, bench/PROFILE.md);
	// off sends one system call per packet. Default: auto.
	SendBatching string `yaml:"send_batching"`
	// ReceiveBatching is how incoming RTP is read: auto lets the media clock read
	// every call's socket once per tick through io_uring where the kernel allows it
	// (a receive goroutine per call costs a system call and a wake-up per packet,
	// the largest share of the engine's CPU once sends were batched), an epoll
	// listing saying which sockets hold data; multishot keeps each socket's read
	// armed instead where the kernel allows (Linux 6.1; measured no cheaper, see
	// bench/PROFILE.md); off gives each call a receive goroutine. Default: auto.
	ReceiveBatching string `yaml:"receive_batching"`
	// ClockShards is how many media clock goroutines share the calls, ticking in
	// turn over the 20 ms interval. Each tick holds its core for as long as its calls
	// take, so more shards cut the stalls SIP and flows see under load. Default 2.
	ClockShards int `yaml:"clock_shards"`
}

// codecs resolves rtp.codecs.
func (c RTPConfig) codecs() ([]codec.Codec, error) {
	if len(c.Codecs) == 0 {
		return codec.All(), nil
	}
	return codec.ByNames(c.Codecs)
}

// FlowsConfig says where flows come from and which one answers calls.
type FlowsConfig struct {
	// Dir holds *.yaml flow files. Default: the sample flows built into the binary.
	Dir string `yaml:"dir"`
	// Default is the name of the flow that answers calls. Default: "hotline".
	Default string `yaml:"default"`
}

// TTSConfig configures prompt synthesis.
type TTSConfig struct {
	// EspeakPath is the espeak-ng program. Default: found in PATH.
	EspeakPath string `yaml:"espeak_path"`
	// Speed is the speaking rate in words per minute. Default: 160.
	Speed int `yaml:"speed"`
	// CacheDir keeps rendered prompts across restarts. Default: none (memory only).
	CacheDir string `yaml:"cache_dir"`
}

// LogConfig configures logging.
type LogConfig struct {
	// Level is debug, info, warn or error. Default: info.
	Level string `yaml:"level"`
	// Format is text or json. Default: text.
	Format string `yaml:"format"`
}

// Duration is a time.Duration written as "30s" or "500ms" in YAML.
type Duration struct{ time.Duration }

// UnmarshalYAML accepts Go duration strings.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %q is not a duration (e.g. 30s, 500ms)", n.Line, n.Value)
	}
	d.Duration = v
	return nil
}

// Defaults, named so documentation and code agree.
const (
	defaultSIPListenUDP = "udp:127.0.0.1:5060"
	defaultSIPListenTCP = "tcp:127.0.0.1:5060"
	defaultHTTPListen   = "127.0.0.1:8080"
	defaultRTPBind      = "127.0.0.1"
	defaultFlow         = "hotline"
)

// DefaultConfig returns the configuration `hotline serve` runs with when given nothing.
func DefaultConfig() Config {
	return Config{
		SIP: SIPConfig{Listen: []string{defaultSIPListenUDP, defaultSIPListenTCP}, UserAgent: "hotline/" + version,
			// Loopback is trusted (the quick start, the load generator, a local
			// Kamailio): the flood guard never bans it.
			Guard: guard.Config{Exempt: []string{"127.0.0.0/8", "::1"}}},
		HTTP:    HTTPConfig{Listen: defaultHTTPListen},
		RTP:     RTPConfig{BindAddress: defaultRTPBind, PortMin: media.DefaultPortMin, PortMax: media.DefaultPortMax, Timeout: &Duration{media.DefaultRTPTimeout}, SocketBuffer: media.DefaultSocketBuffer, Symmetric: "auto", SendBatching: media.SendBatchingAuto, ReceiveBatching: media.ReceiveBatchingAuto, ClockShards: media.DefaultClockShards},
		Flows:   FlowsConfig{Default: defaultFlow},
		TTS:     TTSConfig{Speed: 160},
		Log:     LogConfig{Level: "info", Format: "text"},
		DataDir: "data",
		ASR:     defaultASRConfig(),
		WebRTC:  webrtc.Config{BindIP: netip.MustParseAddr("127.0.0.1"), IncludeLoopback: true},
		ACD:     ACDConfig{HoldPromptEvery: Duration{30 * time.Second}, WhisperVoice: "en-us"},
		Limits:  LimitsConfig{DrainTimeout: Duration{30 * time.Second}},
	}
}

// LoadConfig reads path over the defaults. Unknown keys are errors, so a typo in a
// key is reported instead of silently ignored.
func LoadConfig(path string) (Config, error) {
	cfg := DefaultConfig()
	data, err := os.ReadFile(path)
	if err != nil {
		return cfg, fmt.Errorf("read config: %w", err)
	}
	if err := movedLimitKeys(data); err != nil {
		return cfg, fmt.Errorf("%s: %w", path, err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	// An empty file (io.EOF) means "all defaults".
	if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
		return cfg, fmt.Errorf("%s: %w", path, err)
	}
	return cfg, nil
}

// Validate reports every problem at once.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if len(c.SIP.Listen) == 0 {
		bad("sip.listen: at least one listen address is required")
	}
	for _, l := range c.SIP.Listen {
		la, err := parseListen(l)
		if err != nil {
			bad("sip.listen: %v", err)
		} else if la.transport == "tls" && (c.SIP.TLS.CertFile == "" || c.SIP.TLS.KeyFile == "") {
			bad("sip.listen: %q needs sip.tls.cert_file and sip.tls.key_file", l)
		}
	}
	if err := sip.ValidateInbound(c.SIP.Inbound); err != nil {
		bad("sip.inbound: %v", err)
	}
	if _, err := sip.NewRouter(c.SIP.Routes); err != nil {
		bad("sip.routes: %v", err)
	}
	for _, a := range c.SIP.DigestAlgorithms {
		if auth.ParseAlgorithm(a) == auth.AlgorithmUnknown || a == "" {
			bad("sip.digest_algorithms: %q (want MD5 or SHA-256)", a)
		}
	}
	if c.ACD.HoldPromptEvery.Duration <= 0 {
		bad("acd.hold_prompt_every: must be positive")
	}
	if t := c.ACD.CallbackTrunk; t != "" && !hasTrunk(c.SIP.Trunks, t) {
		bad("acd.callback_trunk: trunk %q is not in sip.trunks", t)
	}
	if _, _, err := net.SplitHostPort(c.HTTP.Listen); err != nil {
		bad("http.listen: %q: %v", c.HTTP.Listen, err)
	}
	if _, err := netip.ParseAddr(c.RTP.BindAddress); err != nil {
		bad("rtp.bind_address: %q is not an IP address", c.RTP.BindAddress)
	}
	if c.RTP.PublicAddress != "" {
		if _, err := netip.ParseAddr(c.RTP.PublicAddress); err != nil {
			bad("rtp.public_address: %q is not an IP address", c.RTP.PublicAddress)
		}
	}
	if c.RTP.PortMin < 1024 || c.RTP.PortMax > 65534 || c.RTP.PortMin >= c.RTP.PortMax {
		bad("rtp.port_min/port_max: %d-%d is not a range within 1024-65534", c.RTP.PortMin, c.RTP.PortMax)
	}
	if c.RTP.Timeout != nil && c.RTP.Timeout.Duration < 0 {
		bad("rtp.timeout: must not be negative")
	}
	if c.RTP.SocketBuffer < 0 {
		bad("rtp.socket_buffer: must not be negative")
	}
	if _, err := c.RTP.codecs(); err != nil {
		bad("rtp.codecs: %v", err)
	}
	if _, err := media.ParseLatch(c.RTP.Symmetric); err != nil {
		bad("rtp.symmetric: %v", err)
	}
	switch c.RTP.SendBatching {
	case "", media.SendBatchingAuto, media.SendBatchingOff:
	default:
		bad("rtp.send_batching: %q (want auto or off)", c.RTP.SendBatching)
	}
	if c.RTP.ClockShards < 0 || c.RTP.ClockShards > 64 {
		bad("rtp.clock_shards: %d (want 1 to 64, or 0 for the default %d)", c.RTP.ClockShards, media.DefaultClockShards)
	}
	switch c.RTP.ReceiveBatching {
	case "", media.ReceiveBatchingAuto, media.ReceiveBatchingMultishot, media.ReceiveBatchingOff:
	default:
		bad("rtp.receive_batching: %q (want auto, multishot or off)", c.RTP.ReceiveBatching)
	}
	if err := c.Store.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.ASR.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.WebRTC.Validate(); err != nil {
		bad("webrtc: %v", err)
	}
	if c.DataDir == "" {
		bad("data_dir: a directory is required")
	}
	if c.Limits.MaxCalls < 0 {
		bad("limits.max_calls: must not be negative")
	}
	if c.Limits.MaxCPS < 0 {
		bad("limits.max_cps: must not be negative")
	}
	if c.Limits.MaxCPU < 0 || c.Limits.MaxCPU > 1 {
		bad("limits.max_cpu: %g is not a fraction of the CPUs between 0 (no limit) and 1", c.Limits.MaxCPU)
	}
	if c.Limits.DrainTimeout.Duration < 0 {
		bad("limits.drain_timeout: must not be negative")
	}
	if c.API.WallboardInterval != nil && c.API.WallboardInterval.Duration <= 0 {
		bad("api.wallboard_interval: must be positive")
	}
	if c.Flows.Default == "" {
		bad("flows.default: a flow name is required")
	}
	if c.TTS.Speed < 80 || c.TTS.Speed > 450 {
		bad("tts.speed: %d is outside 80-450 words per minute", c.TTS.Speed)
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		bad("log.level: %q (want debug, info, warn or error)", c.Log.Level)
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		bad("log.format: %q (want text or json)", c.Log.Format)
	}
	return errors.Join(errs...)
}

type listenAddr struct{ transport, addr string }

func parseListen(s string) (listenAddr, error) {
	transport, addr, ok := strings.Cut(s, ":")
	if !ok || (transport != "udp" && transport != "tcp" && transport != "tls") {
		return listenAddr{}, fmt.Errorf("%q: want udp:host:port, tcp:host:port or tls:host:port", s)
	}
	if _, port, err := net.SplitHostPort(addr); err != nil {
		return listenAddr{}, fmt.Errorf("%q: %v", s, err)
	} else if _, err := strconv.Atoi(port); err != nil {
		return listenAddr{}, fmt.Errorf("%q: port %q is not a number", s, port)
	}
	return listenAddr{transport, addr}, nil
}

// parsePortRange reads "10000-20000".
func parsePortRange(s string) (int, int, error) {
	lo, hi, ok := strings.Cut(s, "-")
	if !ok {
		return 0, 0, fmt.Errorf("%q: want MIN-MAX", s)
	}
	a, err1 := strconv.Atoi(lo)
	b, err2 := strconv.Atoi(hi)
	if err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("%q: want MIN-MAX with numbers", s)
	}
	return a, b, nil
}
