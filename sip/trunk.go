package sip

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// TrunkConfig is one SIP trunk to a carrier for outbound calls: the engine
// configuration's `sip.trunks` list. Flows, environments and the originate API name
// trunks; every outbound call to a telephone number goes through one. Decode it
// strictly (yaml.v3 with KnownFields) and check it with ValidateTrunks, which reports
// every problem at once.
//
//	trunks:
//	  - name: carrier
//	    host: sip.carrier.example
//	    port: 5060
//	    transport: udp
//	    username: "15550001111"
//	    password: s3cret
//	    numbers: {country_code: "1", national_prefix: "1", international_prefix: "011"}
//	    caller_id: {policy: fixed, number: "+15550001111", assert_identity: true}
//	    allow: ["+1NXXNXXXXXX"]
//	    max_calls: 20
//	    calls_per_minute: 60
//	    register: {enabled: true, expires: 1h}
type TrunkConfig struct {
	// Name identifies the trunk in flows, environments, logs and the trunk label of
	// the metrics: lower-case letters, digits, "_" and "-", at most 32 (required,
	// unique).
	Name string `yaml:"name"`
	// Host is the carrier's SIP server: an IP address or a DNS name (A/AAAA records;
	// SRV and NAPTR are not looked up, so Port and Transport say where to go).
	// Required.
	Host string `yaml:"host"`
	// Port is the carrier's SIP port; default 5060.
	Port int `yaml:"port"`
	// Transport is "udp" (default), "tcp" or "tls". The server must listen on it
	// (its port goes in our Contact). Over TLS the carrier's certificate is verified
	// against TLSCAFile (default the system's pool) for the name we dial (the
	// outbound proxy's host when set, else Host), which is also the SNI; at least
	// TLS 1.2. The default Port is 5061 for tls.
	Transport string `yaml:"transport"`
	// TLSCAFile is a PEM file of the CA certificates that may sign the carrier's
	// TLS certificate (a private CA or the carrier's self-signed certificate);
	// empty: the system's root pool.
	TLSCAFile string `yaml:"tls_ca_file"`
	// TLSInsecureSkipVerify accepts any certificate from the carrier: the
	// connection is encrypted but not authenticated (an active attacker can read
	// the SRTP keys). For lab use only; it must be set explicitly and is logged.
	TLSInsecureSkipVerify bool `yaml:"tls_insecure_skip_verify"`
	// SRTP is "off" (default, also ""), "optional" or "required": SDES-SRTP (RFC
	// 4568) on calls through the trunk, which needs transport tls (the keys travel
	// in the SDP). required offers RTP/SAVP with an a=crypto line
	// (AES_CM_128_HMAC_SHA1_80) and ends a call whose answer lacks one (BYE,
	// ErrMedia); optional offers RTP/AVP with the a=crypto line ("best effort"
	// SRTP) and falls back to plain RTP when the answer has none.
	SRTP string `yaml:"srtp"`
	// OutboundProxy is host[:port] of a proxy that every initial request (INVITE,
	// REGISTER) goes through, as a pre-loaded loose Route (RFC 3261 §8.1.2). Requests
	// inside a dialog follow the dialog's route set: the proxy is on it if it
	// record-routed. Empty: requests go to Host.
	OutboundProxy string `yaml:"outbound_proxy"`
	// Username and Password answer the carrier's digest challenges (401/407, MD5,
	// SHA-256 and SHA-512-256, RFC 8760) and Username is the user of the
	// registration's address-of-record. Empty Username: no authentication.
	Username string `yaml:"username"`
	Password string `yaml:"password"`
	// Realm, when set, is the only digest realm the credentials answer.
	Realm string `yaml:"realm"`
	// FromDomain is the host part of From and To (and of the registration's
	// address-of-record); default Host. Carriers often want their own domain there.
	FromDomain string `yaml:"from_domain"`
	// Numbers is the trunk's number plan: national numbers to E.164 and E.164 to
	// the carrier's format.
	Numbers NumberPlan `yaml:"numbers"`
	// CallerID is the default caller-ID policy of calls through the trunk.
	CallerID CallerIDConfig `yaml:"caller_id"`
	// Allow lists the destination patterns (see the pattern syntax on pattern) the
	// trunk may call, matched against the E.164 number; at least one is required, so
	// a trunk never calls everywhere by accident ("+." allows every number). A
	// refused call is logged and counted (hotline_outbound_attempts_total
	// result="refused_destination").
	Allow []string `yaml:"allow"`
	// MaxCalls caps concurrent outbound calls through the trunk (ringing or up);
	// 0: no limit.
	MaxCalls int `yaml:"max_calls"`
	// CallsPerMinute caps outbound call attempts started in any 60 seconds; 0: no
	// limit.
	CallsPerMinute int `yaml:"calls_per_minute"`
	// RingTimeout is how long an outbound call rings before it is canceled, unless
	// the DialRequest says; default 60 s (DefaultRingTimeout).
	RingTimeout time.Duration `yaml:"ring_timeout"`
	// EarlyMedia is "accept" (default: a 183 with SDP starts the callee's early
	// media) or "ignore" (nothing is heard before the answer).
	EarlyMedia string `yaml:"early_media"`
	// Register keeps a registration at the carrier, for carriers that send inbound
	// calls only to registered accounts.
	Register RegisterConfig `yaml:"register"`
}

// CallerIDConfig is a trunk's caller-ID policy.
type CallerIDConfig struct {
	// Policy is "pass" (default: the target sees the number the DialRequest passes,
	// usually the original caller's), "fixed" (the target sees Number) or "withheld"
	// (From is anonymous and Privacy: id asks the network to hide the identity,
	// RFC 3323 §4.1.1.3, RFC 3325 §9.3).
	Policy string `yaml:"policy"`
	// Number is the fixed caller ID (required for "fixed"), also used when a passed
	// number is missing or no telephone number.
	Number string `yaml:"number"`
	// Name is the display name sent with Number.
	Name string `yaml:"name"`
	// AssertIdentity adds P-Asserted-Identity with the caller's number (RFC 3325):
	// only for carriers that trust us with it (a trust domain, RFC 3325 §2.3).
	// Default false.
	AssertIdentity bool `yaml:"assert_identity"`
}

// RegisterConfig is a trunk's registration at its carrier (RFC 3261 §10.2).
type RegisterConfig struct {
	// Enabled turns the registration on; it needs the trunk's Username.
	Enabled bool `yaml:"enabled"`
	// Registrar is host[:port] of the registrar; default the trunk's Host and Port.
	Registrar string `yaml:"registrar"`
	// Expires is the registration lifetime asked for; default 1 h. The registrar
	// may grant less; the registration is refreshed before what it granted runs out.
	Expires time.Duration `yaml:"expires"`
	// RetryBase and RetryMax bound the back-off after a failed registration: the
	// n-th consecutive failure waits a random time between half and all of
	// min(RetryMax, RetryBase * 2^(n-1)), as RFC 5626 §4.5 recommends for flows.
	// Defaults 30 s and 30 min.
	RetryBase time.Duration `yaml:"retry_base"`
	RetryMax  time.Duration `yaml:"retry_max"`
	// UnregisterTimeout bounds the removal of the binding (REGISTER with Expires:
	// 0, RFC 3261 §10.2.2) when the server closes, its digest challenge round
	// included: Server.Close waits for it that long at most; default 5 s.
	UnregisterTimeout time.Duration `yaml:"unregister_timeout"`
}

// Trunk defaults.
const (
	DefaultSIPPort            = 5060
	DefaultSIPSPort           = 5061 // SIP over TLS (RFC 3261 §19.1.2)
	DefaultRingTimeout        = 60 * time.Second
	DefaultRegisterExpires    = time.Hour
	DefaultRegisterRetryBase  = 30 * time.Second
	DefaultRegisterRetryMax   = 30 * time.Minute
	DefaultUnregisterTimeout  = 5 * time.Second
	maxTrunkNameLen           = 32
	earlyMediaAcceptConfig    = "accept"
	earlyMediaIgnoreConfig    = "ignore"
	minRegisterExpires        = time.Second
	registerRefreshMargin     = 30 * time.Second
	registerMinRefreshAfter   = 500 * time.Millisecond
	trunkRateWindow           = time.Minute
	defaultTransport          = "udp"
	trunkNameAllowedCharsHelp = "lower-case letters, digits, _ and -"
)

var trunkNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)

// ValidateTrunks checks a trunks list and returns every problem found, each prefixed
// with the trunk's place ("trunks[1] (backup): host: required"), joined in one error.
func ValidateTrunks(trunks []TrunkConfig) error {
	var errs []error
	names := map[string]int{}
	for i, t := range trunks {
		prefix := fmt.Sprintf("trunks[%d]", i)
		if t.Name != "" {
			prefix += " (" + t.Name + ")"
			if j, dup := names[t.Name]; dup {
				errs = append(errs, fmt.Errorf("%s: name: %q is also trunks[%d]", prefix, t.Name, j))
			}
			names[t.Name] = i
		}
		if err := t.Validate(); err != nil {
			for _, e := range unjoin(err) {
				errs = append(errs, fmt.Errorf("%s: %w", prefix, e))
			}
		}
	}
	return errors.Join(errs...)
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// Validate checks one trunk and returns every problem, joined.
func (t TrunkConfig) Validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	switch {
	case t.Name == "":
		bad("name: required")
	case len(t.Name) > maxTrunkNameLen || !trunkNameRE.MatchString(t.Name):
		bad("name: %q must be 1 to %d of %s", t.Name, maxTrunkNameLen, trunkNameAllowedCharsHelp)
	}
	if t.Host == "" {
		bad("host: required")
	} else if !validHost(t.Host) {
		bad("host: %q is not an IP address or host name", t.Host)
	}
	if t.Port < 0 || t.Port > 65535 {
		bad("port: %d out of range", t.Port)
	}
	switch t.Transport {
	case "", "udp", "tcp", "tls":
	default:
		bad("transport: %q is not udp, tcp or tls", t.Transport)
	}
	if t.Transport != "tls" && (t.TLSCAFile != "" || t.TLSInsecureSkipVerify) {
		bad("tls_ca_file, tls_insecure_skip_verify: need transport tls")
	}
	if t.TLSCAFile != "" && t.TLSInsecureSkipVerify {
		bad("tls_insecure_skip_verify: set together with tls_ca_file (verify against it, or not at all)")
	}
	switch t.SRTP {
	case SRTPOff, srtpOffWord, SRTPOptional, SRTPRequired:
		if t.SRTP != SRTPOff && t.SRTP != srtpOffWord && t.Transport != "tls" {
			bad("srtp: %s needs transport tls (SDES keys travel in the SDP)", t.SRTP)
		}
	default:
		bad("srtp: %q is not off, optional or required", t.SRTP)
	}
	if t.OutboundProxy != "" {
		if _, err := parseHostPort(t.OutboundProxy); err != nil {
			bad("outbound_proxy: %v", err)
		}
	}
	for _, f := range []struct{ name, v string }{
		{"username", t.Username}, {"password", t.Password}, {"realm", t.Realm}, {"caller_id.name", t.CallerID.Name},
	} {
		if strings.ContainsAny(f.v, "\r\n\x00") {
			bad("%s: control characters are not allowed", f.name)
		}
	}
	if t.Password != "" && t.Username == "" {
		bad("password: set without username")
	}
	if t.FromDomain != "" && !validHost(t.FromDomain) {
		bad("from_domain: %q is not a host name", t.FromDomain)
	}
	t.Numbers.validate(bad)
	pol, err := ParseCallerIDPolicy(t.CallerID.Policy)
	if err != nil {
		bad("caller_id.policy: %v", err)
	}
	if t.CallerID.Number != "" {
		if _, err := t.Numbers.Normalize(t.CallerID.Number); err != nil {
			bad("caller_id.number: %v", err)
		}
	} else if pol == CallerIDFixed {
		bad("caller_id.number: required by policy fixed")
	}
	if len(t.Allow) == 0 {
		bad(`allow: at least one destination pattern is required ("+." allows every number, on purpose)`)
	}
	for i, a := range t.Allow {
		if _, err := compilePattern(a); err != nil {
			bad("allow[%d]: %v", i, err)
		}
	}
	if t.MaxCalls < 0 {
		bad("max_calls: %d is negative", t.MaxCalls)
	}
	if t.CallsPerMinute < 0 {
		bad("calls_per_minute: %d is negative", t.CallsPerMinute)
	}
	if t.RingTimeout < 0 {
		bad("ring_timeout: %v is negative", t.RingTimeout)
	}
	if _, err := parseEarlyMedia(t.EarlyMedia); err != nil {
		bad("early_media: %v", err)
	}
	r := t.Register
	if r.Enabled && t.Username == "" {
		bad("register.enabled: needs username")
	}
	if r.Registrar != "" {
		if _, err := parseHostPort(r.Registrar); err != nil {
			bad("register.registrar: %v", err)
		}
	}
	if r.Expires != 0 && r.Expires < minRegisterExpires {
		bad("register.expires: %v is shorter than %v", r.Expires, minRegisterExpires)
	}
	if r.UnregisterTimeout < 0 {
		bad("register.unregister_timeout: %v is negative", r.UnregisterTimeout)
	}
	if r.RetryBase < 0 || r.RetryMax < 0 {
		bad("register.retry_base, retry_max: must not be negative")
	}
	if r.RetryBase > 0 && r.RetryMax > 0 && r.RetryMax < r.RetryBase {
		bad("register.retry_max: %v is below retry_base %v", r.RetryMax, r.RetryBase)
	}
	return errors.Join(errs...)
}

var hostnameRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*\.?$`)

func validHost(h string) bool {
	if net.ParseIP(strings.Trim(h, "[]")) != nil {
		return true
	}
	return len(h) <= 253 && hostnameRE.MatchString(h)
}

// parseHostPort checks host[:port] and returns it with the port (default 5060).
func parseHostPort(s string) (string, error) {
	host, port := s, DefaultSIPPort
	if h, p, err := net.SplitHostPort(s); err == nil {
		n, err := strconv.Atoi(p)
		if err != nil || n <= 0 || n > 65535 {
			return "", fmt.Errorf("%q: bad port", s)
		}
		host, port = h, n
	}
	if !validHost(host) {
		return "", fmt.Errorf("%q is not host[:port]", s)
	}
	return net.JoinHostPort(strings.Trim(host, "[]"), strconv.Itoa(port)), nil
}

// CallerIDPolicy says what number an outbound call presents.
type CallerIDPolicy int

// Caller-ID policies; the zero value defers to the trunk's policy (pass by default).
const (
	CallerIDUnknown  CallerIDPolicy = iota
	CallerIDPass                    // the number the DialRequest passes (the original caller's)
	CallerIDFixed                   // the trunk's (or the request's) fixed number
	CallerIDWithheld                // anonymous, with Privacy: id (RFC 3323, RFC 3325)
)

// ParseCallerIDPolicy reads "pass", "fixed" or "withheld" (the flow language's
// words); "" is CallerIDUnknown.
func ParseCallerIDPolicy(s string) (CallerIDPolicy, error) {
	switch s {
	case "":
		return CallerIDUnknown, nil
	case "pass":
		return CallerIDPass, nil
	case "fixed":
		return CallerIDFixed, nil
	case "withheld":
		return CallerIDWithheld, nil
	}
	return CallerIDUnknown, fmt.Errorf("%q is not pass, fixed or withheld", s)
}

func (p CallerIDPolicy) String() string {
	switch p {
	case CallerIDPass:
		return "pass"
	case CallerIDFixed:
		return "fixed"
	case CallerIDWithheld:
		return "withheld"
	}
	return "unknown"
}

// EarlyMedia says what an outbound call does with a callee's early media (a 183
// Session Progress with SDP, RFC 3960).
type EarlyMedia int

// Early-media policies; the zero value defers to the trunk (accept by default).
const (
	EarlyMediaUnknown EarlyMedia = iota
	// EarlyMediaAccept starts the leg's media on the 183's SDP: the callee's ringback
	// and announcements reach the leg's sinks before the answer (DialRequest.OnProgress
	// hands the Call over so they can be bridged to the caller). We send nothing
	// before the answer.
	EarlyMediaAccept
	// EarlyMediaIgnore starts media only at the answer; the caller's side plays its
	// own ringback.
	EarlyMediaIgnore
)

func parseEarlyMedia(s string) (EarlyMedia, error) {
	switch s {
	case "":
		return EarlyMediaUnknown, nil
	case earlyMediaAcceptConfig:
		return EarlyMediaAccept, nil
	case earlyMediaIgnoreConfig:
		return EarlyMediaIgnore, nil
	}
	return EarlyMediaUnknown, fmt.Errorf("%q is not accept or ignore", s)
}

// trunk is a configured trunk at run time.
type trunk struct {
	cfg        TrunkConfig
	allow      []pattern
	callerID   CallerIDPolicy
	earlyMedia EarlyMedia
	dest       string // host:port initial requests go to: the outbound proxy or the host
	proxy      string // outbound proxy host:port, "" when none
	limits     *trunkLimits
	reg        *registration // nil unless Register.Enabled
	tls        *tls.Config   // transport tls: how the carrier's certificate is checked
}

func newTrunk(cfg TrunkConfig, now func() time.Time) (*trunk, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Transport == "" {
		cfg.Transport = defaultTransport
	}
	if cfg.Port == 0 {
		cfg.Port = DefaultSIPPort
		if cfg.Transport == "tls" {
			cfg.Port = DefaultSIPSPort
		}
	}
	if cfg.SRTP == srtpOffWord {
		cfg.SRTP = SRTPOff
	}
	if cfg.FromDomain == "" {
		cfg.FromDomain = cfg.Host
	}
	if cfg.RingTimeout == 0 {
		cfg.RingTimeout = DefaultRingTimeout
	}
	t := &trunk{cfg: cfg, limits: newTrunkLimits(cfg.MaxCalls, cfg.CallsPerMinute, now)}
	for _, a := range cfg.Allow {
		p, _ := compilePattern(a) // Validate compiled them
		t.allow = append(t.allow, p)
	}
	t.callerID, _ = ParseCallerIDPolicy(cfg.CallerID.Policy)
	if t.callerID == CallerIDUnknown {
		t.callerID = CallerIDPass
	}
	t.earlyMedia, _ = parseEarlyMedia(cfg.EarlyMedia)
	if t.earlyMedia == EarlyMediaUnknown {
		t.earlyMedia = EarlyMediaAccept
	}
	t.dest = net.JoinHostPort(strings.Trim(cfg.Host, "[]"), strconv.Itoa(cfg.Port))
	if cfg.OutboundProxy != "" {
		t.proxy, _ = parseHostPort(cfg.OutboundProxy)
		t.dest = t.proxy
	}
	if cfg.Transport == "tls" {
		var err error
		if t.tls, err = trunkTLSConfig(cfg); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// allows reports whether an E.164 number matches one of the allow patterns.
func (t *trunk) allows(e164 string) bool {
	for _, p := range t.allow {
		if p.match(e164) {
			return true
		}
	}
	return false
}

// credentials are the trunk's digest credentials (nil authenticator when none).
func (t *trunk) authenticator() *authenticator {
	return newAuthenticator(Credentials{Username: t.cfg.Username, Password: t.cfg.Password, Realm: t.cfg.Realm})
}

// trunkLimits is a trunk's toll-fraud guard on volume: concurrent calls and call
// attempts per sliding minute.
type trunkLimits struct {
	max, perMinute int
	now            func() time.Time

	mu     sync.Mutex
	active int
	starts []time.Time // ring of the last perMinute attempt times
	next   int
}

func newTrunkLimits(max, perMinute int, now func() time.Time) *trunkLimits {
	if now == nil {
		now = time.Now
	}
	l := &trunkLimits{max: max, perMinute: perMinute, now: now}
	if perMinute > 0 {
		l.starts = make([]time.Time, perMinute)
	}
	return l
}

// acquire takes a call slot, or says which limit refuses it. release gives the slot
// back; it is idempotent.
func (l *trunkLimits) acquire() (release func(), err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.max > 0 && l.active >= l.max {
		return nil, ErrTrunkFull
	}
	now := l.now()
	if l.perMinute > 0 {
		// The oldest of the last perMinute attempts must be a minute old.
		if oldest := l.starts[l.next]; !oldest.IsZero() && now.Sub(oldest) < trunkRateWindow {
			return nil, ErrTrunkRate
		}
		l.starts[l.next] = now
		l.next = (l.next + 1) % l.perMinute
	}
	l.active++
	var once sync.Once
	return func() {
		once.Do(func() {
			l.mu.Lock()
			l.active--
			l.mu.Unlock()
		})
	}, nil
}

func (l *trunkLimits) inUse() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.active
}
