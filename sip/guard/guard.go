// Package guard is hotline's flood and brute-force guard for the SIP edge, in the
// spirit of Kamailio's pike module: it counts requests per source address (the
// socket address, never header text), bans a source that exceeds its rate or fails
// authentication too often or announces itself as a scanner.
//
// A banned source is dropped silently: its datagrams before they are parsed, its
// TCP/TLS connections closed. Kamailio's pike documents that use (pike_check_req
// false, then drop and exit): no answer confirms to a flooder or a scanner that a SIP
// server is there, and nothing is spent answering.
//
// Overload of a legitimate kind (too many calls at once, too many new calls per
// second, a busy CPU) is not the guard's to judge: it is answered 503 with Retry-After
// so carriers fail over (RFC 3261 §21.5.4), by the Admitter the guard hands each
// INVITE it let through (WithAdmitter; the engine's `limits:` section), so SIP and
// WebRTC calls share one set of limits.
//
// Guard implements the SIP server's Guard interface and the REST API's ban list
// (Bans, Unban, UnbanAll) with its own Ban type; the API adapter converts it.
package guard

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hotline-ivr/hotline/sip/auth"
)

// Config is the guard's configuration: the engine configuration's `sip.guard`.
//
//	guard:
//	  invite: {rate: 10, burst: 20}     # per source, per second
//	  register: {rate: 5, burst: 20}
//	  other: {rate: 50, burst: 100}
//	  ban_time: 10m
//	  max_auth_failures: 10
//	  exempt: ["203.0.113.0/24"]
//	  block_scanners: true
type Config struct {
	// Invite, Register and Other are the per-source token buckets of initial and
	// in-dialog INVITEs, of REGISTERs and of every other request. A request that
	// finds its bucket empty bans the source. Zero Rate: the default.
	Invite   Rate `yaml:"invite"`
	Register Rate `yaml:"register"`
	Other    Rate `yaml:"other"`
	// BanTime is how long a ban lasts; default 10 min.
	BanTime time.Duration `yaml:"ban_time"`
	// MaxAuthFailures bans a source whose failed digest authentications within
	// the authenticator's failure window reach it (svcrack guessing passwords,
	// svwar probing extensions); default 10, negative: never.
	MaxAuthFailures int `yaml:"max_auth_failures"`
	// Exempt are addresses or CIDR prefixes never rate-limited or banned: the
	// carriers' signalling addresses, so a burst of their traffic cannot cut a
	// trunk off.
	Exempt []string `yaml:"exempt"`
	// BlockScanners bans sources whose User-Agent names a known SIP scanner
	// (sipvicious' "friendly-scanner", sipcli, sipsak, SIPScan, VaxSIPUserAgent,
	// pplsip, sundayddr...). Default false: the header is the sender's to write, so
	// it only catches the lazy, but those are most of them.
	BlockScanners bool `yaml:"block_scanners"`
	// ScannerAgents adds User-Agent substrings (case-insensitive) to the built-in
	// list used by BlockScanners.
	ScannerAgents []string `yaml:"scanner_agents"`
	// MaxSources bounds the sources tracked at once (memory under a spoofed-source
	// flood); default 65536. When full, idle sources are forgotten first.
	MaxSources int `yaml:"max_sources"`
}

// Rate is one token bucket: Rate requests per second on average, Burst at once.
type Rate struct {
	Rate  float64 `yaml:"rate"`
	Burst int     `yaml:"burst"`
}

// Defaults.
var (
	DefaultInvite   = Rate{Rate: 10, Burst: 20}
	DefaultRegister = Rate{Rate: 5, Burst: 20}
	DefaultOther    = Rate{Rate: 50, Burst: 100}
)

// Default limits.
const (
	DefaultBanTime         = 10 * time.Minute
	DefaultMaxAuthFailures = 10
	DefaultMaxSources      = 65536
)

// scannerAgents are User-Agent substrings of common SIP scanners, lower case.
var scannerAgents = []string{"friendly-scanner", "sipvicious", "sipcli", "sip-scan", "sipscan", "sipsak", "vaxsipuseragent",
	"pplsip", "sundayddr", "iwar", "smap", "sipptk", "sipbomber", "voiper", "cito", "exploitfinder"}

// Ban reasons (the reason label of the metrics, a fixed set).
const (
	ReasonRate    = "rate"    // a request bucket ran empty
	ReasonAuth    = "auth"    // too many failed authentications
	ReasonScanner = "scanner" // a scanner's User-Agent
	ReasonManual  = "manual"  // Ban called by an operator
)

// Ban is one banned source, as the REST API shows it.
type Ban struct {
	Key    string    // the source address
	Kind   string    // "ip"
	Reason string    // rate, auth, scanner, manual
	Since  time.Time // when the ban started
	Until  time.Time // when it ends
	Hits   int       // requests refused since
}

// ErrNotFound is Unban's answer for a key that is not banned.
var ErrNotFound = errors.New("guard: no such ban")

// Guard is the flood guard. It is safe for concurrent use.
type Guard struct {
	cfg    Config
	exempt []netip.Prefix
	agents []string
	now    func() time.Time
	log    *slog.Logger
	met    *metrics
	admit  Admitter

	mu      sync.Mutex
	sources map[netip.Addr]*source
	bans    map[netip.Addr]*ban
}

// Admitter decides whether a new call may start: the engine's admission control
// (concurrent calls, calls per second, CPU), shared by every way a call comes in.
type Admitter interface {
	// AdmitCall reserves room for one new call; release gives it back when the call
	// ends. ok false: the INVITE is refused 503 with Retry-After retryAfter.
	AdmitCall() (release func(), retryAfter time.Duration, ok bool)
}

type source struct {
	invite, register, other bucket
	seen                    time.Time
}

type ban struct {
	reason       string
	since, until time.Time
	hits         int
}

// bucket is a token bucket; tokens are refilled lazily when it is used.
type bucket struct {
	tokens float64
	last   time.Time
}

// take refills b at r and takes one token; false when empty.
func (b *bucket) take(r Rate, now time.Time) bool {
	if b.last.IsZero() {
		b.tokens, b.last = float64(r.Burst), now
	}
	b.tokens = min(float64(r.Burst), b.tokens+now.Sub(b.last).Seconds()*r.Rate)
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// Option adjusts a Guard.
type Option func(*Guard)

// WithClock sets the guard's clock (tests).
func WithClock(now func() time.Time) Option { return func(g *Guard) { g.now = now } }

// WithLogger sets the logger bans are reported on.
func WithLogger(l *slog.Logger) Option { return func(g *Guard) { g.log = l } }

// WithAdmitter hands each new inbound call the guard let through to a for admission.
// Without one every call is admitted.
func WithAdmitter(a Admitter) Option { return func(g *Guard) { g.admit = a } }

// WithRegistry registers the guard's metrics on reg.
func WithRegistry(reg prometheus.Registerer) Option { return func(g *Guard) { g.met.reg = reg } }

// New builds a guard, checking cfg.
func New(cfg Config, opts ...Option) (*Guard, error) {
	fill := func(r *Rate, d Rate) {
		if r.Rate <= 0 {
			r.Rate = d.Rate
		}
		if r.Burst <= 0 {
			r.Burst = max(d.Burst, int(r.Rate))
		}
	}
	fill(&cfg.Invite, DefaultInvite)
	fill(&cfg.Register, DefaultRegister)
	fill(&cfg.Other, DefaultOther)
	if cfg.BanTime <= 0 {
		cfg.BanTime = DefaultBanTime
	}
	if cfg.MaxAuthFailures == 0 {
		cfg.MaxAuthFailures = DefaultMaxAuthFailures
	}
	if cfg.MaxSources <= 0 {
		cfg.MaxSources = DefaultMaxSources
	}
	g := &Guard{cfg: cfg, now: time.Now, log: slog.Default(), met: &metrics{},
		sources: make(map[netip.Addr]*source), bans: make(map[netip.Addr]*ban)}
	var errs []error
	for _, s := range cfg.Exempt {
		p, err := parsePrefix(s)
		if err != nil {
			errs = append(errs, fmt.Errorf("guard: exempt: %w", err))
			continue
		}
		g.exempt = append(g.exempt, p)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	g.agents = append(slices.Clone(scannerAgents), lower(cfg.ScannerAgents)...)
	for _, o := range opts {
		o(g)
	}
	if err := g.met.register(g); err != nil {
		return nil, err
	}
	return g, nil
}

func lower(list []string) []string {
	out := make([]string, 0, len(list))
	for _, s := range list {
		if s = strings.ToLower(strings.TrimSpace(s)); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func parsePrefix(s string) (netip.Prefix, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is no address or CIDR prefix", s)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

func (g *Guard) exempted(src netip.Addr) bool {
	for _, p := range g.exempt {
		if p.Contains(src) {
			return true
		}
	}
	return false
}

// Banned reports whether src is banned now, counting the refused packet.
func (g *Guard) Banned(src netip.Addr) bool {
	src = src.Unmap()
	g.mu.Lock()
	defer g.mu.Unlock()
	b, ok := g.bans[src]
	if !ok {
		return false
	}
	if !g.now().Before(b.until) {
		delete(g.bans, src)
		return false
	}
	b.hits++
	g.met.dropped(dropBanned)
	return true
}

// Request counts one request of method from src against its bucket; false means
// drop it (src is banned, now or already).
func (g *Guard) Request(src netip.Addr, method string) bool {
	src = src.Unmap()
	if g.exempted(src) {
		return true
	}
	now := g.now()
	g.mu.Lock()
	defer g.mu.Unlock()
	if b, ok := g.bans[src]; ok {
		if now.Before(b.until) {
			b.hits++
			g.met.dropped(dropBanned)
			return false
		}
		delete(g.bans, src)
	}
	s := g.sources[src]
	if s == nil {
		g.makeRoom(now)
		s = &source{}
		g.sources[src] = s
	}
	s.seen = now
	var ok bool
	switch strings.ToUpper(method) {
	case "INVITE":
		ok = s.invite.take(g.cfg.Invite, now)
	case "REGISTER":
		ok = s.register.take(g.cfg.Register, now)
	default:
		ok = s.other.take(g.cfg.Other, now)
	}
	if ok {
		return true
	}
	g.banLocked(src, ReasonRate, now)
	g.met.dropped(dropRate)
	return false
}

// makeRoom forgets sources when the table is full: first those idle long enough
// for every bucket to be full again (forgetting them changes nothing), then the
// least recently seen.
func (g *Guard) makeRoom(now time.Time) {
	if len(g.sources) < g.cfg.MaxSources {
		return
	}
	idle := time.Duration(float64(g.cfg.Other.Burst)/min(g.cfg.Invite.Rate, g.cfg.Register.Rate, g.cfg.Other.Rate)*float64(time.Second)) + time.Second
	var oldest netip.Addr
	var oldestSeen time.Time
	for a, s := range g.sources {
		if now.Sub(s.seen) > idle {
			delete(g.sources, a)
			continue
		}
		if oldestSeen.IsZero() || s.seen.Before(oldestSeen) {
			oldest, oldestSeen = a, s.seen
		}
	}
	if len(g.sources) >= g.cfg.MaxSources {
		delete(g.sources, oldest)
	}
}

func (g *Guard) banLocked(src netip.Addr, reason string, now time.Time) {
	if _, ok := g.bans[src]; ok {
		return
	}
	g.bans[src] = &ban{reason: reason, since: now, until: now.Add(g.cfg.BanTime)}
	delete(g.sources, src)
	g.met.banned(reason)
	g.log.Warn("source banned", "source", src.String(), "reason", reason, "until", now.Add(g.cfg.BanTime).Format(time.RFC3339))
}

// Scanner bans src when userAgent names a known scanner (BlockScanners); true
// means drop the request.
func (g *Guard) Scanner(src netip.Addr, userAgent string) bool {
	if !g.cfg.BlockScanners || userAgent == "" {
		return false
	}
	src = src.Unmap()
	if g.exempted(src) {
		return false
	}
	ua := strings.ToLower(userAgent)
	for _, s := range g.agents {
		if strings.Contains(ua, s) {
			g.mu.Lock()
			g.banLocked(src, ReasonScanner, g.now())
			g.mu.Unlock()
			g.met.dropped(dropScanner)
			return true
		}
	}
	return false
}

// AuthFailed implements auth.Limiter: recent failures reaching MaxAuthFailures ban
// src.
func (g *Guard) AuthFailed(src netip.Addr, _ auth.Reason, recent int) {
	if g.cfg.MaxAuthFailures < 0 || recent < g.cfg.MaxAuthFailures {
		return
	}
	src = src.Unmap()
	if !src.IsValid() || g.exempted(src) {
		return
	}
	g.mu.Lock()
	g.banLocked(src, ReasonAuth, g.now())
	g.mu.Unlock()
}

// AdmitCall asks the Admitter (WithAdmitter) for room for one new inbound call; see
// the SIP server's Guard. Without an Admitter every call is admitted.
func (g *Guard) AdmitCall() (release func(), retryAfter time.Duration, ok bool) {
	if g.admit == nil {
		return func() {}, 0, true
	}
	return g.admit.AdmitCall()
}

// Ban bans src by hand for d (BanTime when 0).
func (g *Guard) Ban(src netip.Addr, d time.Duration) {
	if d <= 0 {
		d = g.cfg.BanTime
	}
	now := g.now()
	g.mu.Lock()
	defer g.mu.Unlock()
	g.bans[src.Unmap()] = &ban{reason: ReasonManual, since: now, until: now.Add(d)}
	g.met.banned(ReasonManual)
}

// Bans lists the bans in force, oldest first.
func (g *Guard) Bans(context.Context) ([]Ban, error) {
	now := g.now()
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([]Ban, 0, len(g.bans))
	for a, b := range g.bans {
		if !now.Before(b.until) {
			delete(g.bans, a)
			continue
		}
		out = append(out, Ban{Key: a.String(), Kind: "ip", Reason: b.reason, Since: b.since, Until: b.until, Hits: b.hits})
	}
	slices.SortFunc(out, func(a, b Ban) int { // oldest first; the key breaks ties, so the list is stable
		if c := a.Since.Compare(b.Since); c != 0 {
			return c
		}
		return strings.Compare(a.Key, b.Key)
	})
	return out, nil
}

// Unban lifts the ban of key (an address), or returns ErrNotFound.
func (g *Guard) Unban(_ context.Context, key string) error {
	a, err := netip.ParseAddr(key)
	if err != nil {
		return ErrNotFound
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if _, ok := g.bans[a.Unmap()]; !ok {
		return ErrNotFound
	}
	delete(g.bans, a.Unmap())
	return nil
}

// UnbanAll lifts every ban and returns how many there were.
func (g *Guard) UnbanAll(context.Context) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := len(g.bans)
	clear(g.bans)
	return n, nil
}

// active is the number of bans in force (for the gauge).
func (g *Guard) active() int {
	now := g.now()
	g.mu.Lock()
	defer g.mu.Unlock()
	n := 0
	for _, b := range g.bans {
		if now.Before(b.until) {
			n++
		}
	}
	return n
}
