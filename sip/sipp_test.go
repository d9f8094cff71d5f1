package sip

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/hotline-ivr/hotline/media"
)

// Outbound calls against a real peer: SIPp (Debian's sip-tester) as the callee, the
// trunk's proxy, the carrier's registrar and the transferee. SIPp is required: the
// tests fail, never skip, without it. They need no root (no pcap playback).

const sippScenarios = "testdata/sipp"

// sippUAS is one SIPp process playing a UAS scenario.
type sippUAS struct {
	t         *testing.T
	addr      netip.AddrPort // its SIP socket
	mediaPort int
	dir       string
	cmd       *exec.Cmd
	out       syncBuffer    // written by exec's copier while sipp runs
	done      chan struct{} // closed when sipp exited; err is then its exit status
	err       error
}

// The sipp ports of this package: 29000-29999, above the end-to-end tests' range
// (cmd/hotline, 20000-28999) and above the engine's default RTP range (10000-20000),
// which the engines of packages tested in parallel draw from.
const sippPortLow, sippPortHigh = 29000, 30000

var (
	sippPortMu   sync.Mutex
	sippPortNext = sippPortLow
)

// freeUDPPorts finds base, base+1..base+5 free on loopback (SIP, then media and
// what sipp binds next to it), in sippPortLow..sippPortHigh.
func freeUDPPorts(t *testing.T) int {
	t.Helper()
	sippPortMu.Lock()
	defer sippPortMu.Unlock()
	for range 100 {
		base := sippPortNext
		sippPortNext += 10
		if sippPortNext >= sippPortHigh {
			sippPortNext = sippPortLow
		}
		free := true
		for p := base; p < base+6 && free; p++ {
			c, err := net.ListenPacket("udp", "127.0.0.1:"+strconv.Itoa(p))
			if err != nil {
				free = false
				continue
			}
			c.Close()
		}
		if free {
			return base
		}
	}
	t.Fatalf("no free UDP ports for sipp in %d-%d", sippPortLow, sippPortHigh-1)
	return 0
}

// startSippUAS starts sipp with scenario (a file in testdata/sipp) for one call and
// waits until its socket is bound. keys are -key pairs. The test's cleanup stops it
// (by its process) if it is still running. A port taken between the probe and
// sipp's bind (another package's test may take any free port) is retried on other
// ports.
func startSippUAS(t *testing.T, scenario string, keys map[string]string, extra ...string) *sippUAS {
	t.Helper()
	if _, err := exec.LookPath("sipp"); err != nil {
		t.Fatalf("sipp not found in PATH (Debian package sip-tester): these tests need a real peer: %v", err)
	}
	src, err := filepath.Abs(filepath.Join(sippScenarios, scenario))
	if err != nil {
		t.Fatal(err)
	}
	for attempt := 1; ; attempt++ {
		u, err := trySippUAS(t, src, keys, extra)
		if err == nil {
			return u
		}
		if !errors.Is(err, errSippBind) || attempt == 5 {
			t.Fatalf("sipp (attempt %d): %v", attempt, err)
		}
		t.Logf("sipp attempt %d: %v; retrying on other ports", attempt, err)
	}
}

// errSippBind is sipp losing its ports to another process.
var errSippBind = errors.New("sipp could not bind its ports")

func trySippUAS(t *testing.T, src string, keys map[string]string, extra []string) (*sippUAS, error) {
	t.Helper()
	base := freeUDPPorts(t)
	u := &sippUAS{t: t, addr: netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(base)),
		mediaPort: base + 2, dir: t.TempDir(), done: make(chan struct{})}
	args := []string{
		"-sf", src, "-t", "u1",
		"-i", "127.0.0.1", "-p", strconv.Itoa(base),
		"-mi", "127.0.0.1", "-mp", strconv.Itoa(u.mediaPort),
		"-m", "1", "-nostdin",
		"-timeout", "30s", "-timeout_error",
		"-trace_err", "-error_file", filepath.Join(u.dir, "errors.log"),
		"-trace_msg", "-message_file", filepath.Join(u.dir, "messages.log"),
	}
	for k, v := range keys {
		args = append(args, "-key", k, v)
	}
	args = append(args, extra...)
	u.cmd = exec.Command("sipp", args...)
	u.cmd.Dir = u.dir
	u.cmd.Stdout, u.cmd.Stderr = &u.out, &u.out
	if err := u.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start sipp: %w", err)
	}
	go func() { u.err = u.cmd.Wait(); close(u.done) }()
	t.Cleanup(u.stop)
	exited := func() error {
		if u.out.contains("Unable to bind") {
			return fmt.Errorf("%w: %s:\n%s", errSippBind, u.addr, u.out.String())
		}
		return fmt.Errorf("sipp exited before its call (%v):\n%s", u.err, u.report())
	}
	// Bound once its SIP socket is taken and sipp still runs a moment later: sipp
	// exits at once when a port it binds is held by someone else.
	deadline := time.Now().Add(5 * time.Second)
	for {
		select {
		case <-u.done:
			return nil, exited()
		default:
		}
		c, err := net.ListenPacket("udp", u.addr.String())
		if err != nil {
			select {
			case <-u.done:
				return nil, exited()
			case <-time.After(100 * time.Millisecond):
				return u, nil
			}
		}
		c.Close()
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("sipp did not bind %s within 5 s:\n%s", u.addr, u.out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// uri is where the engine calls sipp.
func (u *sippUAS) uri(user string) string { return "sip:" + user + "@" + u.addr.String() }

var successfulRE = regexp.MustCompile(`Successful call\s+\|\s+\d+\s+\|\s+(\d+)`)

// wait waits for sipp to finish its call and fails the test unless it exited 0 with
// one successful call.
func (u *sippUAS) wait() {
	u.t.Helper()
	var err error
	select {
	case <-u.done:
		err = u.err
	case <-time.After(40 * time.Second):
		u.t.Fatalf("sipp still running after 40 s:\n%s", u.report())
	}
	m := successfulRE.FindAllStringSubmatch(u.out.String(), -1)
	if err != nil || len(m) == 0 || m[len(m)-1][1] != "1" {
		u.t.Fatalf("sipp %v (sipp exits 0 only when its call succeeded):\n%s", err, u.report())
	}
}

func (u *sippUAS) report() string {
	read := func(name string) string {
		b, _ := os.ReadFile(filepath.Join(u.dir, name))
		return string(b)
	}
	out := u.out.String()
	if len(out) > 3000 {
		out = "…" + out[len(out)-3000:]
	}
	return fmt.Sprintf("--- output:\n%s\n--- errors:\n%s\n--- messages:\n%s", out, read("errors.log"), read("messages.log"))
}

// stop kills sipp if it still runs (by its process, never by name) and reaps it.
func (u *sippUAS) stop() {
	select {
	case <-u.done:
		return
	default:
	}
	_ = u.cmd.Process.Kill()
	<-u.done
}

// TestSippAnswer: sipp answers; media flows both ways (sipp echoes our RTP); our
// BYE ends it.
func TestSippAnswer(t *testing.T) {
	e := newEnv(t)
	u := startSippUAS(t, "uas_answer.xml", nil, "-rtp_echo")
	progress := make(chan Progress, 4)
	c, err := e.srv.Dial(context.Background(), DialRequest{Target: u.uri("callee"),
		OnProgress: func(p Progress) { progress <- p }})
	if err != nil {
		t.Fatalf("Dial: %v\n%s", err, u.report())
	}
	if p := waitProgress(t, progress); p.Status != 180 {
		t.Errorf("progress %d", p.Status)
	}
	if err := c.Play(context.Background(), media.Silence(time.Second, c.SampleRate())); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 2*time.Second, "sipp's echo", func() bool { return c.MediaStats().PacketsReceived >= 20 })
	if err := c.Hangup(context.Background()); err != nil {
		t.Fatal(err)
	}
	u.wait()
	if c.Cause() != causeEngineBye {
		t.Errorf("cause %q", c.Cause())
	}
}

// TestSippBusy: sipp's 486 is ErrBusy.
func TestSippBusy(t *testing.T) {
	e := newEnv(t)
	u := startSippUAS(t, "uas_busy.xml", nil)
	_, err := e.srv.Dial(context.Background(), DialRequest{Target: u.uri("callee")})
	var ce *CallError
	if !errors.Is(err, ErrBusy) || !errors.As(err, &ce) || ce.Status != 486 {
		t.Errorf("Dial: %v, want ErrBusy 486", err)
	}
	u.wait()
}

// TestSippRingCancel: sipp rings past our timeout: CANCEL, 487, ACK, ErrNoAnswer.
func TestSippRingCancel(t *testing.T) {
	e := newEnv(t)
	u := startSippUAS(t, "uas_ring_cancel.xml", nil)
	_, err := e.srv.Dial(context.Background(), DialRequest{Target: u.uri("callee"), Timeout: 500 * time.Millisecond})
	if !errors.Is(err, ErrNoAnswer) {
		t.Errorf("Dial: %v, want ErrNoAnswer", err)
	}
	u.wait()
}

// TestSippEarlyMedia: sipp's 183 with SDP starts early media on the leg before its
// 200 answers.
func TestSippEarlyMedia(t *testing.T) {
	e := newEnv(t)
	u := startSippUAS(t, "uas_early_media.xml", nil)
	progress := make(chan Progress, 4)
	c, err := e.srv.Dial(context.Background(), DialRequest{Target: u.uri("callee"),
		OnProgress: func(p Progress) { progress <- p }})
	if err != nil {
		t.Fatalf("Dial: %v\n%s", err, u.report())
	}
	if p := waitProgress(t, progress); p.Status != 183 || !p.EarlyMedia {
		t.Errorf("progress %+v, want 183 with early media", p)
	}
	if c.Codec() != "PCMA" {
		t.Errorf("codec %q, want sipp's PCMA", c.Codec())
	}
	_ = c.Hangup(context.Background())
	u.wait()
}

// sippTrunk is a trunk toward a sipp process, with the account sipp checks.
func sippTrunk(u *sippUAS) TrunkConfig {
	return TrunkConfig{
		Name: "sipp", Host: "127.0.0.1", Port: int(u.addr.Port()),
		Username: "hotline-acct", Password: "0pen-s3same",
		Numbers: NumberPlan{CountryCode: "1", NationalPrefix: "1"},
		Allow:   []string{"+1NXXNXXXXXX"},
	}
}

// TestSippDigestAuth: sipp challenges with 401 and verifies our MD5 credentials
// with verifyauth; a 407 offering SHA-256 first is answered with SHA-256.
func TestSippDigestAuth(t *testing.T) {
	for _, tc := range []struct{ name, scenario string }{
		{"401", "uas_auth.xml"}, {"407", "uas_proxy_auth.xml"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := startSippUAS(t, tc.scenario, map[string]string{"user": "hotline-acct", "password": "0pen-s3same"})
			e := newEnv(t, withSIP(func(c *Config) { c.Trunks = []TrunkConfig{sippTrunk(u)} }))
			c, err := e.srv.Dial(context.Background(), DialRequest{Target: "212-555-0123", Trunk: "sipp"})
			if err != nil {
				t.Fatalf("Dial: %v\n%s", err, u.report())
			}
			_ = c.Hangup(context.Background())
			u.wait()
		})
	}
}

// TestSippRegistrar: sipp as the carrier's registrar: 401, verified credentials,
// 200 granting 2 s; the engine refreshes before the 2 s run out and removes the
// binding when it closes.
func TestSippRegistrar(t *testing.T) {
	u := startSippUAS(t, "registrar.xml", map[string]string{"user": "hotline-acct", "password": "0pen-s3same", "expires": "2"})
	tc := sippTrunk(u)
	tc.Register = RegisterConfig{Enabled: true, RetryBase: 200 * time.Millisecond}
	e := newEnv(t, withSIP(func(c *Config) { c.Trunks = []TrunkConfig{tc} }))
	var first time.Time
	waitUntil(t, 5*time.Second, "registered", func() bool {
		st, _ := e.srv.Trunk("sipp")
		if st.Registration.Registered {
			first = st.Registration.Expires
			return true
		}
		return false
	})
	e.checkMetric(1, "hotline_trunk_registered", "trunk", "sipp")
	waitUntil(t, 5*time.Second, "refreshed", func() bool {
		st, _ := e.srv.Trunk("sipp")
		return st.Registration.Registered && st.Registration.Expires.After(first)
	})
	e.srv.Close()
	// Close removes the binding (REGISTER with Expires: 0) and waits for its whole
	// challenge round (register.unregister_timeout): SIPp exits 0 only when the
	// removal came back with valid credentials and got its 200.
	b, _ := os.ReadFile(filepath.Join(u.dir, "messages.log"))
	if !bytes.Contains(b, []byte("Expires: 0")) {
		t.Error("no removal REGISTER (Expires: 0) reached SIPp")
	}
	if !e.logs.contains("trunk unregistered") {
		t.Error("Close returned before the removal REGISTER was answered 200")
	}
	u.wait()
	e.checkMetric(0, "hotline_trunk_registered", "trunk", "sipp")
}

// TestSippRefer: sipp as the transferee: our REFER gets 202 and NOTIFYs with
// sipfrag; after the 200 OK one we end the call with BYE.
func TestSippRefer(t *testing.T) {
	e := newEnv(t)
	u := startSippUAS(t, "uas_refer.xml", nil)
	c, err := e.srv.Dial(context.Background(), DialRequest{Target: u.uri("transferee")})
	if err != nil {
		t.Fatalf("Dial: %v\n%s", err, u.report())
	}
	if err := c.Refer(context.Background(), "+15550100"); err != nil {
		t.Fatalf("Refer: %v\n%s", err, u.report())
	}
	<-c.Done()
	if c.Cause() != causeTransferred {
		t.Errorf("cause %q", c.Cause())
	}
	u.wait()
}

// TestSippRegistrarSlowRemoval: the removal REGISTER at Close is challenged, and
// the registrar (SIPp) takes its time over both answers, so the round outlasts
// ShutdownTimeout; Close still completes it with valid credentials (SIPp exits 0
// only then) within the trunk's register.unregister_timeout, and logs it.
func TestSippRegistrarSlowRemoval(t *testing.T) {
	u := startSippUAS(t, "registrar_slow_removal.xml", map[string]string{"user": "hotline-acct", "password": "0pen-s3same", "expires": "2"})
	tc := sippTrunk(u)
	tc.Register = RegisterConfig{Enabled: true, RetryBase: 200 * time.Millisecond, UnregisterTimeout: 20 * time.Second}
	e := newEnv(t, withSIP(func(c *Config) {
		c.Trunks = []TrunkConfig{tc}
		c.ShutdownTimeout = 50 * time.Millisecond
	}))
	var first time.Time
	waitUntil(t, 5*time.Second, "registered", func() bool {
		st, _ := e.srv.Trunk("sipp")
		first = st.Registration.Expires
		return st.Registration.Registered
	})
	waitUntil(t, 5*time.Second, "refreshed", func() bool {
		st, _ := e.srv.Trunk("sipp")
		return st.Registration.Registered && st.Registration.Expires.After(first)
	})
	e.srv.Close()
	if !e.logs.contains("trunk unregistered") {
		t.Errorf("Close returned before the removal REGISTER was answered 200")
	}
	u.wait()
	e.checkMetric(0, "hotline_trunk_registered", "trunk", "sipp")
}
