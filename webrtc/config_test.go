package webrtc

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"gopkg.in/yaml.v3"
)

// TestBusyAndPublicIP: with max_calls 1 a second page gets "busy"; the first call's
// candidates announce the configured public address (1:1 NAT), not the local one.
func TestBusyAndPublicIP(t *testing.T) {
	st := newTestStack(t, Config{MaxCalls: 1, PublicIPs: []string{"203.0.113.7"}}, func(ctx context.Context, ch *Call) { <-ctx.Done() })
	p1, _, err := dialPage(t, st, "")
	if err != nil {
		t.Fatal(err)
	}
	newGoPeer(t, p1).offer(t, "", false)
	var cands []string
	for len(cands) == 0 || cands[len(cands)-1] != "null" {
		select {
		case m, ok := <-p1.msgs:
			if !ok {
				t.Fatal("socket closed")
			}
			if m.Type != msgCandidate {
				continue
			}
			if string(m.Candidate) == "null" {
				cands = append(cands, "null")
				continue
			}
			var ci webrtc.ICECandidateInit
			if err := json.Unmarshal(m.Candidate, &ci); err != nil {
				t.Fatal(err)
			}
			cands = append(cands, ci.Candidate)
		case <-time.After(30 * time.Second):
			t.Fatalf("gathering never ended: %v", cands)
		}
	}
	for _, c := range cands[:len(cands)-1] {
		if !strings.Contains(c, " 203.0.113.7 ") || strings.Contains(c, "127.0.0.1") {
			t.Errorf("candidate %q does not announce the public address", c)
		}
	}
	if len(cands) < 2 {
		t.Errorf("no candidates: %v", cands)
	}

	p2, _, err := dialPage(t, st, "")
	if err != nil {
		t.Fatal(err)
	}
	g2 := newGoPeer(t, p2)
	o, _ := g2.pc.CreateOffer(nil)
	p2.send(message{Type: msgOffer, SDP: o.SDP})
	if m := p2.next("error"); m.Code != errBusy {
		t.Errorf("second call: %+v, want error busy", m)
	}
}

// TestUDPMuxCall runs a call with every call's ICE on one UDP port.
func TestUDPMuxCall(t *testing.T) {
	l, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	port := l.LocalAddr().(*net.UDPAddr).Port
	l.Close()
	answered := make(chan error, 1)
	st := newTestStack(t, Config{UDPMuxPort: port, BindIP: netip.MustParseAddr("127.0.0.1")}, func(ctx context.Context, ch *Call) {
		answered <- ch.Answer(ctx)
		<-ctx.Done()
	})
	p, _, err := dialPage(t, st, "")
	if err != nil {
		t.Fatal(err)
	}
	g := newGoPeer(t, p)
	var once sync.Once
	connected := make(chan struct{})
	g.pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateConnected {
			once.Do(func() { close(connected) })
		}
	})
	g.offer(t, "", true)
	var sawMuxPort bool
	var state message
	for state.State != stateAnswered {
		select {
		case m, ok := <-p.msgs:
			if !ok {
				t.Fatal("socket closed")
			}
			switch m.Type {
			case msgCandidate:
				var ci webrtc.ICECandidateInit
				if string(m.Candidate) != "null" && json.Unmarshal(m.Candidate, &ci) == nil {
					sawMuxPort = sawMuxPort || strings.Contains(ci.Candidate, " "+itoa(port)+" ")
					_ = g.pc.AddICECandidate(ci)
				}
			case msgState:
				state = m
			case msgError:
				t.Fatalf("engine: %+v", m)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("never answered")
		}
	}
	if err := <-answered; err != nil {
		t.Fatal(err)
	}
	<-connected
	if !sawMuxPort {
		t.Errorf("no candidate on the mux port %d", port)
	}
	p.send(message{Type: msgHangup})
	for {
		m := p.next("state ended")
		if m.Type == "" || m.State == stateEnded {
			break
		}
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// TestConfigYAML decodes the documented example strictly (unknown keys are errors).
func TestConfigYAML(t *testing.T) {
	const doc = `
ice_servers:
  - urls: ["stun:stun.example.net:3478"]
  - urls: ["turn:turn.example.net:3478?transport=udp"]
    username: hotline
    credential: s3cret
turn:
  secret: "coturn-static-auth-secret"
  ttl: 2h
public_ips: ["203.0.113.7"]
port_min: 40000
port_max: 40999
udp_mux_port: 0
bind_ip: 0.0.0.0
include_loopback: false
ipv6: false
allowed_origins: ["https://www.example.com"]
ice_timeout: 15s
default_called: "100"
base_path: /rtc
wrap_up: 30s
max_calls: 200
agent_tokens:
  - agent: alice
    token: "change-me-0123456789"
`
	var c Config
	dec := yaml.NewDecoder(strings.NewReader(doc))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.PortMin != 40000 || c.PortMax != 40999 || c.ICETimeout != 15*time.Second || c.BindIP != netip.IPv4Unspecified() ||
		len(c.ICEServers) != 2 || c.ICEServers[1].Credential != "s3cret" || c.MaxCalls != 200 ||
		c.TURN.Secret != "coturn-static-auth-secret" || c.TURN.TTL != 2*time.Hour {
		t.Errorf("decoded %+v", c)
	}
}

// TestReject: a handler that refuses the call (draining, no flow) tells the page
// "busy" with the reason and ends the call unanswered.
func TestReject(t *testing.T) {
	rejected := make(chan *Call, 1)
	st := newTestStack(t, Config{}, func(ctx context.Context, ch *Call) {
		_ = ch.Reject(ctx, "draining")
		rejected <- ch
	})
	p, _, err := dialPage(t, st, "")
	if err != nil {
		t.Fatal(err)
	}
	newGoPeer(t, p).offer(t, "", false)
	if m := p.next("error"); m.Code != errBusy || !strings.Contains(m.Message, "draining") {
		t.Errorf("got %+v, want error busy", m)
	}
	if m := p.next("state"); m.State != stateEnded || m.Reason != "draining" {
		t.Errorf("got %+v, want state ended (draining)", m)
	}
	ch := <-rejected
	if ch.Cause() != "draining" || !ch.AnsweredAt().IsZero() || ch.Source() == "" {
		t.Errorf("cause %q answered %v source %q", ch.Cause(), ch.AnsweredAt(), ch.Source())
	}
}

// TestAdmission: WithAdmission is asked before a call's media exists. A refusal sends
// the page error busy with the reason, tells the refused hook and sets up no media
// session; an admitted call gets its release called once when it ends.
func TestAdmission(t *testing.T) {
	var (
		mu       sync.Mutex
		full     = true
		released int
		refused  []Refusal
	)
	admit := func() (func(), error) {
		mu.Lock()
		defer mu.Unlock()
		if full {
			return nil, errors.New("at max_calls")
		}
		return func() { mu.Lock(); released++; mu.Unlock() }, nil
	}
	onRefused := func(r Refusal) { mu.Lock(); refused = append(refused, r); mu.Unlock() }
	handled := make(chan bool, 1)
	st := newTestStackOpts(t, Config{}, func(ctx context.Context, ch *Call) {
		handled <- ch.Admitted()
		<-ctx.Done()
	}, WithAdmission(admit, onRefused))

	p, _, err := dialPage(t, st, "")
	if err != nil {
		t.Fatal(err)
	}
	g := newGoPeer(t, p)
	o, _ := g.pc.CreateOffer(nil)
	p.send(message{Type: msgOffer, SDP: o.SDP, From: "alice"})
	if m := p.next("error"); m.Code != errBusy || !strings.Contains(m.Message, "at max_calls") {
		t.Errorf("refused call: %+v, want error busy naming the reason", m)
	}
	mu.Lock()
	if len(refused) != 1 || refused[0].Caller != "alice" || refused[0].CallID == "" || refused[0].Err == nil {
		t.Errorf("refused hook got %+v, want one refusal of alice's call", refused)
	}
	full = false
	mu.Unlock()
	if n := st.eng.Sessions(); n != 0 {
		t.Errorf("a refused call set up %d media sessions", n)
	}

	p2, _, err := dialPage(t, st, "")
	if err != nil {
		t.Fatal(err)
	}
	g2 := newGoPeer(t, p2)
	o2, _ := g2.pc.CreateOffer(nil)
	p2.send(message{Type: msgOffer, SDP: o2.SDP})
	p2.next("answer")
	if !<-handled {
		t.Error("the handler's call does not say it was admitted")
	}
	p2.send(message{Type: msgHangup})
	for {
		m := p2.next("state ended")
		if m.Type == "" || m.State == stateEnded {
			break
		}
	}
	if err := st.ep.Close(); err != nil { // waits for the call to be released
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if released != 1 {
		t.Errorf("release called %d times, want once", released)
	}
}
