package webrtc

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"

	hmedia "github.com/hotline-ivr/hotline/media"
	"github.com/hotline-ivr/hotline/media/codec"
)

func TestOriginAllowed(t *testing.T) {
	cases := []struct {
		origin, host string
		allowed      []string
		want         bool
	}{
		{"", "engine:8080", nil, true}, // not a browser
		{"http://engine:8080", "engine:8080", nil, true},
		{"http://evil.example", "engine:8080", nil, false},
		{"http://engine:8081", "engine:8080", nil, false},
		{"https://app.example.com", "engine:8080", []string{"https://app.example.com"}, true},
		{"https://app.example.com", "engine:8080", []string{"https://app.example.com/"}, true},
		{"http://app.example.com", "engine:8080", []string{"https://app.example.com"}, false},
		{"https://other.example", "engine:8080", []string{"*"}, true},
		{"null", "engine:8080", nil, false},
	}
	for _, c := range cases {
		r := httptest.NewRequest("GET", "http://"+c.host+"/rtc/ws", nil)
		r.Host = c.host
		if c.origin != "" {
			r.Header.Set("Origin", c.origin)
		}
		if got := originAllowed(r, c.allowed); got != c.want {
			t.Errorf("origin %q host %q allowed %v: got %v, want %v", c.origin, c.host, c.allowed, got, c.want)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	bad := Config{
		ICEServers:     []ICEServer{{URLs: []string{"turn:turn.example:3478"}}, {URLs: []string{"http://x"}}, {}},
		PublicIPs:      []string{"not-an-ip"},
		PortMin:        500,
		PortMax:        400,
		UDPMuxPort:     70000,
		AllowedOrigins: []string{"app.example.com"},
		ICETimeout:     -1,
		MaxCalls:       -1,
		BasePath:       "rtc/",
	}
	err := bad.Validate()
	if err == nil {
		t.Fatal("want errors")
	}
	for _, want := range []string{"needs username", "unknown scheme", "no urls", "not an IP", "port range", "udp_mux_port", "not an origin", "ice_timeout", "max_calls", "base_path"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	good := Config{
		ICEServers:     []ICEServer{{URLs: []string{"stun:stun.example:3478"}}, {URLs: []string{"turn:t.example:3478?transport=udp"}, Username: "u", Credential: "p"}},
		PublicIPs:      []string{"203.0.113.7"},
		PortMin:        40000,
		PortMax:        40100,
		AllowedOrigins: []string{"https://app.example.com", "*"},
	}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
}

// wsPage is a signalling client as a page would be, without a browser.
type wsPage struct {
	t    *testing.T
	conn *websocket.Conn
	msgs chan message
}

func dialPage(t *testing.T, st *testStack, origin string) (*wsPage, *http.Response, error) {
	t.Helper()
	p, resp, err := dialWS(t, st, DefaultBasePath+"/ws", origin)
	if err != nil {
		return nil, resp, err
	}
	if m := p.next("hello"); m.Type != msgHello {
		t.Fatalf("first message %+v, want hello", m)
	}
	return p, resp, nil
}

// dialPath opens a WebSocket at path without expecting a hello.
func dialPath(t *testing.T, st *testStack, path string) (*wsPage, error) {
	p, _, err := dialWS(t, st, path, "")
	return p, err
}

func dialWS(t *testing.T, st *testStack, path, origin string) (*wsPage, *http.Response, error) {
	t.Helper()
	u := "ws" + strings.TrimPrefix(st.srv.URL, "http") + path
	h := http.Header{}
	if origin != "" {
		h.Set("Origin", origin)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, resp, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPHeader: h})
	if err != nil {
		return nil, resp, err
	}
	p := &wsPage{t: t, conn: conn, msgs: make(chan message, 64)}
	go func() {
		defer close(p.msgs)
		for {
			_, data, err := conn.Read(context.Background())
			if err != nil {
				return
			}
			var m message
			if json.Unmarshal(data, &m) == nil {
				p.msgs <- m
			}
		}
	}()
	t.Cleanup(func() { conn.CloseNow() })
	return p, resp, nil
}

func (p *wsPage) send(v any) {
	p.t.Helper()
	var b []byte
	switch v := v.(type) {
	case string:
		b = []byte(v)
	default:
		b, _ = json.Marshal(v)
	}
	if err := p.conn.Write(context.Background(), websocket.MessageText, b); err != nil {
		p.t.Fatalf("sending: %v", err)
	}
}

// next returns the next message that is not a candidate, or a zero message once
// the socket closed.
func (p *wsPage) next(what string) message {
	p.t.Helper()
	for {
		select {
		case m, ok := <-p.msgs:
			if !ok {
				return message{}
			}
			if m.Type == msgCandidate {
				continue
			}
			return m
		case <-time.After(30 * time.Second): // hang guard
			p.t.Fatalf("no %s message", what)
		}
	}
}

func TestSignallingRefusesOtherOrigins(t *testing.T) {
	st := newTestStack(t, Config{}, func(ctx context.Context, ch *Call) {})
	_, resp, err := dialPage(t, st, "http://evil.example")
	if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("dial from another origin: err %v, response %v; want 403", err, resp)
	}
	if v := counterValue(t, st.reg, "hotline_webrtc_signalling_errors_total"); v != 1 {
		t.Errorf("signalling errors %v, want 1", v)
	}
	// The same origin as the server is allowed.
	if _, _, err := dialPage(t, st, st.srv.URL); err != nil {
		t.Fatalf("same origin refused: %v", err)
	}
}

func TestSignallingBadInput(t *testing.T) {
	st := newTestStack(t, Config{}, func(ctx context.Context, ch *Call) { <-ctx.Done() })
	p, _, err := dialPage(t, st, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		send any
		code string
	}{
		{"not json", errBadMessage},
		{`{"type":"bogus"}`, errBadMessage},
		{`{"type":"candidate","candidate":{"candidate":"x"}}`, errBadMessage},
		{`{"type":"offer"}`, errBadMessage},
	} {
		p.send(c.send)
		if m := p.next("error"); m.Type != msgError || m.Code != c.code {
			t.Errorf("after %v: got %+v, want error %s", c.send, m, c.code)
		}
	}
	if p.next("nothing").Type != "" {
		t.Error("an offer without sdp should end the connection")
	}

	// Malformed SDP: an error the page can read, then the socket closes, no call.
	p, _, err = dialPage(t, st, "")
	if err != nil {
		t.Fatal(err)
	}
	p.send(message{Type: msgOffer, SDP: "v=0\r\nthis is not sdp\r\n"})
	if m := p.next("error"); m.Type != msgError || m.Code != errBadSDP {
		t.Errorf("malformed SDP: got %+v, want error bad_sdp", m)
	}
	if m := p.next("state"); m.Type != msgState || m.State != stateEnded {
		t.Errorf("after bad SDP: got %+v, want state ended", m)
	}
	if m := p.next("close"); m.Type != "" {
		t.Errorf("after bad SDP: got %+v, want the socket closed", m)
	}
	for i := 0; i < 100 && (st.ep.Calls() != 0 || st.eng.Sessions() != 0); i++ {
		time.Sleep(50 * time.Millisecond)
	}
	if n := st.ep.Calls(); n != 0 {
		t.Errorf("%d calls up after bad SDP", n)
	}
	if n := st.eng.Sessions(); n != 0 {
		t.Errorf("%d media sessions left after bad SDP", n)
	}
}

// goPeer is a pion PeerConnection playing the browser.
type goPeer struct {
	pc    *webrtc.PeerConnection
	track *webrtc.TrackLocalStaticSample
	page  *wsPage
}

// newGoPeer offers G.711 μ-law and telephone-event only: the fallback path.
func newGoPeer(t *testing.T, p *wsPage) *goPeer {
	t.Helper()
	me := &webrtc.MediaEngine{}
	for _, c := range []webrtc.RTPCodecParameters{pcmuCodec, dtmf8Codec} {
		if err := me.RegisterCodec(c, webrtc.RTPCodecTypeAudio); err != nil {
			t.Fatal(err)
		}
	}
	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	api := webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithSettingEngine(se))
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pc.Close() })
	track, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMU, ClockRate: 8000}, "mic", "page")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pc.AddTrack(track); err != nil {
		t.Fatal(err)
	}
	return &goPeer{pc: pc, track: track, page: p}
}

// offer sends the offer and candidates; with apply, it applies the answer and the
// engine's candidates (else ICE can never complete).
func (g *goPeer) offer(t *testing.T, to string, apply bool) (callID string) {
	t.Helper()
	var mu sync.Mutex // the offer goes first; candidates gathered before it wait
	var offered bool
	var early [][]byte
	g.pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c == nil || !apply {
			return
		}
		b, _ := json.Marshal(c.ToJSON())
		msg := mustJSON(message{Type: msgCandidate, Candidate: b})
		mu.Lock()
		defer mu.Unlock()
		if !offered {
			early = append(early, msg)
			return
		}
		_ = g.page.conn.Write(context.Background(), websocket.MessageText, msg)
	})
	o, err := g.pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.pc.SetLocalDescription(o); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	g.page.send(message{Type: msgOffer, SDP: o.SDP, To: to, From: "alice"})
	offered = true
	for _, msg := range early {
		_ = g.page.conn.Write(context.Background(), websocket.MessageText, msg)
	}
	mu.Unlock()
	var ans message
	for {
		m, ok := <-g.page.msgs
		if !ok {
			t.Fatal("socket closed before the answer")
		}
		if m.Type == msgAnswer {
			ans = m
			break
		}
		if m.Type == msgError {
			t.Fatalf("engine: %+v", m)
		}
	}
	if !apply {
		return ans.CallID
	}
	if err := g.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: ans.SDP}); err != nil {
		t.Fatal(err)
	}
	return ans.CallID
}

// pump applies the engine's candidates and returns the other messages.
func (g *goPeer) pump(t *testing.T, want string) message {
	t.Helper()
	for {
		select {
		case m, ok := <-g.page.msgs:
			if !ok {
				return message{}
			}
			if m.Type == msgCandidate {
				var ci webrtc.ICECandidateInit
				if string(m.Candidate) != "null" && json.Unmarshal(m.Candidate, &ci) == nil {
					_ = g.pc.AddICECandidate(ci)
				}
				continue
			}
			return m
		case <-time.After(30 * time.Second):
			t.Fatalf("no %s message", want)
		}
	}
}

func mustJSON(v any) []byte { b, _ := json.Marshal(v); return b }

// TestICENeverConnects: a page that offers and never applies our answer gets the
// ice_failed error and an ended call; the handler's Answer fails; nothing leaks.
func TestICENeverConnects(t *testing.T) {
	answerErr := make(chan error, 1)
	st := newTestStack(t, Config{ICETimeout: time.Second}, func(ctx context.Context, ch *Call) {
		answerErr <- ch.Answer(ctx)
	})
	p, _, err := dialPage(t, st, "")
	if err != nil {
		t.Fatal(err)
	}
	g := newGoPeer(t, p)
	g.offer(t, "", false)
	if m := p.next("error"); m.Type != msgError || m.Code != errICE {
		t.Fatalf("got %+v, want error ice_failed", m)
	}
	if m := p.next("state"); m.State != stateEnded || m.Reason != "ice_failed" {
		t.Fatalf("got %+v, want state ended (ice_failed)", m)
	}
	if err := <-answerErr; !errors.Is(err, ErrCallEnded) {
		t.Errorf("Answer: %v, want ErrCallEnded", err)
	}
	if v := counterValue(t, st.reg, "hotline_webrtc_ice_failures_total"); v != 1 {
		t.Errorf("ICE failures %v, want 1", v)
	}
}

// TestG711CallDigitsAndClosedTab: a peer offering PCMU only gets G.711; digits sent
// as RFC 4733 and as dtmf messages reach the handler; the caller's audio reaches the
// session; closing the socket mid-call ends the call and leaks no goroutine.
func TestG711CallDigitsAndClosedTab(t *testing.T) {
	before := runtime.NumGoroutine()
	type seen struct {
		codec  string
		rate   int
		caller string
		called string
		digits string
		cause  string
	}
	out := make(chan seen, 1)
	energy := &energySink{}
	st := newTestStack(t, Config{DefaultCalled: "100"}, func(ctx context.Context, ch *Call) {
		s := seen{codec: ch.Codec(), caller: ch.Caller(), called: ch.Called()}
		if err := ch.Answer(ctx); err != nil {
			t.Errorf("answer: %v", err)
			return
		}
		s.rate = ch.SampleRate()
		defer ch.ListenAudio(energy)()
		go func() { _ = ch.Play(ctx, hmedia.NewClip(sine(440, s.rate, 30*time.Second))) }()
	collect:
		for len(s.digits) < 2 {
			select {
			case d := <-ch.Digits():
				s.digits += string(d)
			case <-ctx.Done():
				for len(s.digits) < 2 { // digits that arrived before the hang-up count
					select {
					case d := <-ch.Digits():
						s.digits += string(d)
					default:
						break collect
					}
				}
			}
		}
		<-ctx.Done()
		<-ch.Done()
		s.cause = ch.Cause()
		out <- s
	})
	p, _, err := dialPage(t, st, "")
	if err != nil {
		t.Fatal(err)
	}
	g := newGoPeer(t, p)
	connected := make(chan struct{})
	var once sync.Once
	g.pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateConnected {
			once.Do(func() { close(connected) })
		}
	})
	g.offer(t, "200", true)
	go func() { // apply candidates until the socket closes
		for {
			m := g.pump(t, "any")
			if m.Type == "" {
				return
			}
		}
	}()
	select {
	case <-connected:
	case <-time.After(30 * time.Second):
		t.Fatal("the Go peer never connected")
	}
	// 2 s of a μ-law tone from the "microphone".
	frame := make([]byte, 160)
	tone := sine(300, 8000, 2*time.Second)
	for i := 0; i+160 <= len(tone); i += 160 {
		for j := range frame {
			frame[j] = codec.MulawEncode(tone[i+j])
		}
		if err := g.track.WriteSample(media.Sample{Data: frame, Duration: 20 * time.Millisecond}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	p.send(message{Type: msgDTMF, Digits: "4#"})
	for i := 0; i < 300 && energy.maxRMS.Load() < 100; i++ {
		time.Sleep(100 * time.Millisecond)
	}
	if got := energy.maxRMS.Load(); got < 100 {
		t.Errorf("caller audio RMS %d, want the tone", got)
	}
	p.conn.CloseNow() // the tab is closed
	var s seen
	select {
	case s = <-out:
	case <-time.After(30 * time.Second):
		t.Fatal("the handler did not end after the tab closed")
	}
	if s.codec != "PCMU/8000" || s.rate != 8000 {
		t.Errorf("codec %q rate %d, want PCMU/8000 at 8000", s.codec, s.rate)
	}
	if s.caller != "alice" || s.called != "200" {
		t.Errorf("caller %q called %q", s.caller, s.called)
	}
	if s.digits != "4#" {
		t.Errorf("digits %q, want 4#", s.digits)
	}
	if s.cause != "caller" {
		t.Errorf("cause %q, want caller", s.cause)
	}
	_ = g.pc.Close()
	st.srv.Close()
	if err := st.ep.Close(); err != nil {
		t.Fatal(err)
	}
	// Every goroutine of the call, pion's included, is gone (bounded poll).
	var n int
	for i := 0; i < 100; i++ {
		if n = runtime.NumGoroutine(); n <= before+2 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if n > before+2 {
		buf := make([]byte, 1<<20)
		t.Errorf("goroutines: %d before, %d after\n%s", before, n, buf[:runtime.Stack(buf, true)])
	}
}
