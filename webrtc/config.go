package webrtc

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strings"
	"time"
)

// Defaults, named so the config documentation and the code agree.
const (
	// DefaultICETimeout bounds how long a call may take from our SDP answer to a
	// connected ICE and DTLS transport. A browser on a LAN connects in well under a
	// second, one relayed through TURN in a few; a call still unconnected after this
	// never will (blocked UDP, a candidate nobody can reach) and is ended with a clear
	// error instead of a flow talking to nobody.
	DefaultICETimeout = 15 * time.Second
	// DefaultWrapUp is the after-call work time an agent's page counts down when the
	// ACD does not say (ACD.WrapUp).
	DefaultWrapUp = 30 * time.Second
	// DefaultMaxMessage bounds one signalling message: an SDP offer of a browser is
	// 4–8 KiB, so 64 KiB is generous and still stops a page from exhausting memory.
	DefaultMaxMessage = 64 << 10
	// DefaultWriteTimeout bounds one signalling write: a page that stops reading
	// (a frozen tab) must not hold the call's goroutines.
	DefaultWriteTimeout = 5 * time.Second
	// DefaultBasePath is where Register mounts the signalling and static files.
	DefaultBasePath = "/rtc"
	// DefaultCaller is the calling number of a browser caller who gave none.
	DefaultCaller = "webrtc"
)

// ICEServer is a STUN or TURN server the browser and the engine gather candidates
// through (RFC 8489, RFC 8656). The page receives the same list in its hello message.
type ICEServer struct {
	// URLs are stun:host:port, turn:host:port?transport=udp or turns:… URIs.
	URLs []string `yaml:"urls" json:"urls"`
	// Username and Credential authenticate to a TURN server (long-term credentials).
	Username   string `yaml:"username" json:"username,omitempty"`
	Credential string `yaml:"credential" json:"credential,omitempty"`
}

// AgentToken is one agent's softphone login.
type AgentToken struct {
	Agent string `yaml:"agent"` // the ACD agent id
	Token string `yaml:"token"` // the secret the agent types on /agent
}

// MinAgentToken is the shortest token accepted: a login is the agent's identity for
// calls and figures, so it must not be guessable.
const MinAgentToken = 16

// Config is the WebRTC part of the engine configuration. Zero values mean defaults.
type Config struct {
	// ICEServers are the STUN and TURN servers (default: none: host candidates only,
	// which is right on a LAN and for a server with a public address).
	ICEServers []ICEServer `yaml:"ice_servers"`
	// TURN, with a secret, replaces the TURN servers' static credentials by
	// short-lived ones made per page (TURNCredentials).
	TURN TURNConfig `yaml:"turn"`
	// PublicIPs are the addresses our host candidates announce instead of the local
	// ones, for a server behind 1:1 NAT (a cloud instance with an elastic IP).
	PublicIPs []string `yaml:"public_ips"`
	// PortMin and PortMax bound the UDP ports ICE binds per call (default: the
	// kernel's ephemeral ports). Ignored with UDPMuxPort.
	PortMin uint16 `yaml:"port_min"`
	PortMax uint16 `yaml:"port_max"`
	// UDPMuxPort, when not 0, carries every call's ICE, DTLS and SRTP on this one UDP
	// port (ICE UDP mux), so a firewall needs a single rule.
	UDPMuxPort int `yaml:"udp_mux_port"`
	// BindIP is the address the muxed port binds (default 0.0.0.0).
	BindIP netip.Addr `yaml:"bind_ip"`
	// IncludeLoopback gathers host candidates on loopback too (tests, single-host demos).
	IncludeLoopback bool `yaml:"include_loopback"`
	// IPv6 gathers IPv6 host candidates as well as IPv4 (default IPv4 only).
	IPv6 bool `yaml:"ipv6"`
	// AllowedOrigins lists the origins ("https://app.example.com") whose pages may open
	// the signalling WebSocket; "*" allows any. Empty means same-origin only: the
	// Origin's host must be the request's Host. A request without Origin (not a
	// browser) is allowed: Origin protects browsers' users from other sites' pages.
	AllowedOrigins []string `yaml:"allowed_origins"`
	// ICETimeout bounds ICE and DTLS setup (default DefaultICETimeout).
	ICETimeout time.Duration `yaml:"ice_timeout"`
	// DefaultCalled is the called number of a browser call that names none: cmd picks
	// the flow by it, as for a SIP call's Request-URI.
	DefaultCalled string `yaml:"default_called"`
	// BasePath is where Register mounts signalling and static files (default "/rtc").
	BasePath string `yaml:"base_path"`
	// WrapUp is an agent's after-call work when the ACD does not say (default 30 s).
	WrapUp time.Duration `yaml:"wrap_up"`
	// AgentTokens are the softphone logins: each agent's secret token (at least
	// MinAgentToken characters). WithAgents with a nil AgentAuth checks these.
	AgentTokens []AgentToken `yaml:"agent_tokens"`
	// MaxCalls bounds concurrent browser calls, agents' included (0: no limit); a page
	// beyond it gets the "busy" error.
	MaxCalls int `yaml:"max_calls"`
}

// Validate reports every problem of the configuration at once.
func (c Config) Validate() error {
	var errs []error
	for i, s := range c.ICEServers {
		if len(s.URLs) == 0 {
			errs = append(errs, fmt.Errorf("webrtc: ice_servers[%d]: no urls", i))
		}
		for _, u := range s.URLs {
			scheme, _, ok := strings.Cut(u, ":")
			switch {
			case !ok:
				errs = append(errs, fmt.Errorf("webrtc: ice_servers[%d]: %q is not a stun: or turn: URI", i, u))
			case scheme == "turn" || scheme == "turns":
				if c.TURN.Secret == "" && (s.Username == "" || s.Credential == "") {
					errs = append(errs, fmt.Errorf("webrtc: ice_servers[%d]: TURN server %q needs username and credential, or turn.secret", i, u))
				}
			case scheme != "stun" && scheme != "stuns":
				errs = append(errs, fmt.Errorf("webrtc: ice_servers[%d]: unknown scheme %q (want stun, stuns, turn or turns)", i, scheme))
			}
		}
	}
	if c.TURN.TTL < 0 {
		errs = append(errs, fmt.Errorf("webrtc: negative turn.ttl %v", c.TURN.TTL))
	}
	if c.TURN.Secret != "" && len(c.TURN.Secret) < MinAgentToken {
		errs = append(errs, fmt.Errorf("webrtc: turn.secret shorter than %d characters", MinAgentToken))
	}
	for _, ip := range c.PublicIPs {
		if _, err := netip.ParseAddr(ip); err != nil {
			errs = append(errs, fmt.Errorf("webrtc: public_ips: %q is not an IP address", ip))
		}
	}
	if (c.PortMin == 0) != (c.PortMax == 0) || c.PortMin > c.PortMax {
		errs = append(errs, fmt.Errorf("webrtc: invalid port range %d-%d (set both, min <= max)", c.PortMin, c.PortMax))
	} else if c.PortMin != 0 && c.PortMin < 1024 {
		errs = append(errs, fmt.Errorf("webrtc: port range %d-%d starts below 1024", c.PortMin, c.PortMax))
	}
	if c.UDPMuxPort < 0 || c.UDPMuxPort > 65535 {
		errs = append(errs, fmt.Errorf("webrtc: udp_mux_port %d out of range", c.UDPMuxPort))
	}
	for _, o := range c.AllowedOrigins {
		if o == "*" {
			continue
		}
		u, err := url.Parse(o)
		if err != nil || u.Scheme == "" || u.Host == "" || (u.Path != "" && u.Path != "/") {
			errs = append(errs, fmt.Errorf("webrtc: allowed_origins: %q is not an origin (scheme://host[:port])", o))
		}
	}
	if c.ICETimeout < 0 {
		errs = append(errs, fmt.Errorf("webrtc: negative ice_timeout %v", c.ICETimeout))
	}
	if c.WrapUp < 0 {
		errs = append(errs, fmt.Errorf("webrtc: negative wrap_up %v", c.WrapUp))
	}
	if c.MaxCalls < 0 {
		errs = append(errs, fmt.Errorf("webrtc: negative max_calls %d", c.MaxCalls))
	}
	seen := map[string]bool{}
	for i, a := range c.AgentTokens {
		switch {
		case a.Agent == "":
			errs = append(errs, fmt.Errorf("webrtc: agent_tokens[%d]: no agent", i))
		case len(a.Token) < MinAgentToken:
			errs = append(errs, fmt.Errorf("webrtc: agent_tokens[%d] (%s): token shorter than %d characters", i, a.Agent, MinAgentToken))
		case seen[a.Token]:
			errs = append(errs, fmt.Errorf("webrtc: agent_tokens[%d] (%s): token used twice", i, a.Agent))
		}
		seen[a.Token] = true
	}
	if c.BasePath != "" && (!strings.HasPrefix(c.BasePath, "/") || strings.HasSuffix(c.BasePath, "/")) {
		errs = append(errs, fmt.Errorf("webrtc: base_path %q must start and not end with /", c.BasePath))
	}
	return errors.Join(errs...)
}

func (c *Config) setDefaults() {
	if c.ICETimeout == 0 {
		c.ICETimeout = DefaultICETimeout
	}
	if c.WrapUp == 0 {
		c.WrapUp = DefaultWrapUp
	}
	if c.TURN.TTL == 0 {
		c.TURN.TTL = DefaultTURNTTL
	}
	if c.BasePath == "" {
		c.BasePath = DefaultBasePath
	}
	if !c.BindIP.IsValid() {
		c.BindIP = netip.IPv4Unspecified()
	}
}
