package sip

import (
	"bytes"
	"context"
	"fmt"
	"html"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hotline-ivr/hotline/sip/auth"
	"github.com/hotline-ivr/hotline/sip/registrar"
)

// Registration with real phones: SIPp (Debian sip-tester) as a scripted registering
// client and baresip (baresip-core) as a softphone. A missing tool fails the test;
// make test installs both.
//
// Both speak only MD5 and both abort on a SHA-256 challenge even when an MD5 one
// follows it (SIPp 3.6.1 answers the first WWW-Authenticate only and refuses
// anything but MD5: "createAuthHeader: authentication must use MD5 or AKAv1-MD5";
// libre 1.1's sip_auth_authenticate returns ENOSYS on the first non-MD5 header), so
// these tests offer MD5 alone, as a deployment with such phones must
// (auth.WithAlgorithms). TestRegisterDigest covers SHA-256 with a hand-written client.

// regRequireTool fails the test unless name is in PATH.
func regRequireTool(t *testing.T, name, pkg string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		t.Fatalf("%s not found in PATH: install the Debian package %s (make test does)", name, pkg)
	}
}

// regFreePort is a port for a SIP peer of this package (SIPp, baresip) in the
// package's range (freeUDPPorts: clear of the kernel's ephemeral ports and of the
// RTP ranges of engines tested in parallel), free on loopback for UDP and TCP, and
// with the next port free for TCP too: baresip binds its TLS transport there.
func regFreePort(t *testing.T) int {
	t.Helper()
	for range 20 {
		port := freeUDPPorts(t)
		if portsFree(port, "tcp") && portsFree(port+1, "tcp") {
			return port
		}
	}
	t.Fatal("no free port")
	return 0
}

// regSippStep is one registration in a SIPp scenario: REGISTER, 401, REGISTER with
// [authentication], then the expected final response.
type regSippStep struct {
	expires string        // Expires header value
	want    int           // final status after the authenticated REGISTER
	listed  string        // for a 200: a regexp the response must match (a Contact value)
	pause   time.Duration // before the step
}

// regSippScenario writes a SIPp UAC scenario of registration steps on one Call-ID.
func regSippScenario(steps ...regSippStep) string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="ISO-8859-1" ?>` + "\n" + `<scenario name="hotline register">` + "\n")
	request := func(cseq int, expires string, authn bool) {
		b.WriteString("  <send retrans=\"500\">\n    <![CDATA[\n\n")
		b.WriteString("      REGISTER sip:[remote_ip]:[remote_port] SIP/2.0\n")
		b.WriteString("      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport\n")
		b.WriteString("      Max-Forwards: 70\n")
		b.WriteString("      From: <sip:[service]@[remote_ip]>;tag=[pid]SIPpTag00[call_number]\n")
		b.WriteString("      To: <sip:[service]@[remote_ip]>\n")
		b.WriteString("      Call-ID: [call_id]\n")
		fmt.Fprintf(&b, "      CSeq: %d REGISTER\n", cseq)
		b.WriteString("      Contact: <sip:[service]@[local_ip]:[local_port];transport=[transport]>\n")
		fmt.Fprintf(&b, "      Expires: %s\n", expires)
		if authn {
			b.WriteString("      [authentication]\n")
		}
		b.WriteString("      User-Agent: SIPp\n      Content-Length: 0\n\n    ]]>\n  </send>\n")
	}
	var refs []string
	for i, s := range steps {
		if s.pause > 0 {
			fmt.Fprintf(&b, "  <pause milliseconds=\"%d\"/>\n", s.pause.Milliseconds())
		}
		request(2*i+1, s.expires, false)
		b.WriteString("  <recv response=\"401\" auth=\"true\"/>\n")
		request(2*i+2, s.expires, true)
		if s.listed == "" {
			fmt.Fprintf(&b, "  <recv response=\"%d\"/>\n", s.want)
			continue
		}
		v := fmt.Sprintf("contact%d", i)
		refs = append(refs, v)
		fmt.Fprintf(&b, "  <recv response=\"%d\">\n    <action>\n", s.want)
		fmt.Fprintf(&b, "      <ereg regexp=\"%s\" search_in=\"msg\" check_it=\"true\" assign_to=\"%s\"/>\n", html.EscapeString(s.listed), v)
		b.WriteString("    </action>\n  </recv>\n")
	}
	if len(refs) > 0 {
		fmt.Fprintf(&b, "  <Reference variables=\"%s\"/>\n", strings.Join(refs, ","))
	}
	b.WriteString("</scenario>\n")
	return b.String()
}

// regRunSipp runs one SIPp registration (-m 1) from 127.0.0.1:port against the
// env's listener for transport ("u1" or "t1") and fails the test unless it succeeds.
func regRunSipp(t *testing.T, e *regEnv, transport string, port int, user, password, scenario string) {
	t.Helper()
	dir := t.TempDir()
	sf := filepath.Join(dir, "register.xml")
	if err := os.WriteFile(sf, []byte(scenario), 0o644); err != nil {
		t.Fatal(err)
	}
	target := e.udpAddr
	if transport == "t1" {
		target = e.tcpAddr
	}
	errFile, msgFile := filepath.Join(dir, "errors.log"), filepath.Join(dir, "messages.log")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sipp", "-sf", sf, target, "-t", transport,
		"-i", "127.0.0.1", "-p", strconv.Itoa(port), "-mp", strconv.Itoa(regFreePort(t)),
		"-s", user, "-au", user, "-ap", password, "-m", "1", "-nostdin",
		"-timeout", "20s", "-timeout_error",
		"-trace_err", "-error_file", errFile, "-trace_msg", "-message_file", msgFile)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		errs, _ := os.ReadFile(errFile)
		msgs, _ := os.ReadFile(msgFile)
		t.Fatalf("sipp: %v\n--- scenario:\n%s\n--- errors:\n%s\n--- messages:\n%s\n--- output:\n%s", err, scenario, errs, msgs, regTail(out.String(), 3000))
	}
}

func regTail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// regMD5Only is the authenticator setting the legacy clients need.
var regMD5Only = withRegAuth(auth.WithAlgorithms(auth.MD5))

// TestRegisterSipp: SIPp registers with the right password (200 listing its contact
// with the granted expiry), is refused with the wrong one (401 again, counted),
// refreshes, unregisters with Expires: 0, and a second SIPp adds a second contact to
// the same AOR; over UDP and TCP.
func TestRegisterSipp(t *testing.T) {
	regRequireTool(t, "sipp", "sip-tester")
	for _, tc := range []struct{ name, transport, tp string }{{"udp", "u1", "udp"}, {"tcp", "t1", "tcp"}} {
		t.Run(tc.name, func(t *testing.T) {
			e := newRegEnv(t, regMD5Only)
			aor := e.aor("agent1")
			port1, port2 := regFreePort(t), regFreePort(t)
			listed := func(port int, exp string) string {
				return regexp.QuoteMeta(fmt.Sprintf("<sip:agent1@127.0.0.1:%d;transport=%s>;expires=", port, strings.ToUpper(tc.tp))) + exp
			}

			regRunSipp(t, e, tc.transport, port1, "agent1", regPassword,
				regSippScenario(regSippStep{expires: "600", want: 200, listed: listed(port1, "600")}))
			bs := e.bindings.Lookup(aor)
			if len(bs) != 1 || bs[0].Source.Port() != uint16(port1) || bs[0].Transport != tc.tp || bs[0].UserAgent != "SIPp" {
				t.Fatalf("after SIPp registered: %+v", bs)
			}
			e.checkMetric(1, "hotline_sip_registrations_total", "result", "registered")
			e.checkMetric(1, "hotline_registered_contacts")

			// Wrong password: the authenticated REGISTER gets 401 again.
			regRunSipp(t, e, tc.transport, port2, "agent1", "guess", regSippScenario(regSippStep{expires: "600", want: 401}))
			e.checkMetric(1, "hotline_sip_auth_failures_total", "reason", "bad_response")
			e.checkMetric(1, "hotline_sip_registrations_total", "result", "auth_failed")
			if n := len(e.bindings.Lookup(aor)); n != 1 {
				t.Errorf("wrong password changed the bindings: %d", n)
			}

			// A second phone: a second contact of the same AOR, both listed.
			regRunSipp(t, e, tc.transport, port2, "agent1", regPassword,
				regSippScenario(regSippStep{expires: "300", want: 200, listed: listed(port1, "[0-9]+")}))
			if bs := e.bindings.Lookup(aor); len(bs) != 2 || bs[0].Source.Port() != uint16(port2) {
				t.Fatalf("two phones: %+v", bs)
			}

			// Refresh on one Call-ID (CSeq 3 and 4 after 1 and 2), then unregister.
			before := e.bindings.Lookup(aor)
			regRunSipp(t, e, tc.transport, port1, "agent1", regPassword, regSippScenario(
				regSippStep{expires: "600", want: 200, listed: listed(port1, "600")},
				regSippStep{expires: "900", want: 200, listed: listed(port1, "900"), pause: 1100 * time.Millisecond},
				regSippStep{expires: "0", want: 200, pause: 100 * time.Millisecond},
			))
			after := e.bindings.Lookup(aor)
			if len(after) != 1 || after[0].Source.Port() != uint16(port2) {
				t.Errorf("after refresh and unregister: %+v (before %+v)", after, before)
			}
			e.checkMetric(1, "hotline_sip_registrations_total", "result", "unregistered")
			e.checkMetric(1, "hotline_registered_contacts")
		})
	}
}

// TestRegisterSippRefreshAndExpiry: a SIPp refresh on its Call-ID extends the same
// binding (RFC 3261 §10.3 step 7), and a binding nobody refreshes is removed when it
// expires, with an offline event for the ACD.
func TestRegisterSippRefreshAndExpiry(t *testing.T) {
	regRequireTool(t, "sipp", "sip-tester")
	e := newRegEnv(t, regMD5Only)
	aor := e.aor("agent1")
	evs := make(chan registrar.Event, 16)
	stop := e.bindings.Watch(func(ev registrar.Event) { evs <- ev })
	defer stop()
	port := regFreePort(t)
	regRunSipp(t, e, "u1", port, "agent1", regPassword, regSippScenario(
		regSippStep{expires: "60", want: 200},
		regSippStep{expires: "2", want: 200, pause: 500 * time.Millisecond},
	))
	bs := e.bindings.Lookup(aor)
	if len(bs) != 1 || bs[0].CSeq != 4 || !bs[0].Updated.After(bs[0].Registered) || bs[0].ExpiresIn(time.Now()) > 2 {
		t.Fatalf("after refresh: %+v", bs)
	}
	waitFor := func(kind registrar.EventKind, cause registrar.Cause, within time.Duration) {
		t.Helper()
		deadline := time.After(within)
		for {
			select {
			case ev := <-evs:
				if ev.Kind == kind && ev.Cause == cause && ev.AOR == aor {
					return
				}
			case <-deadline:
				t.Fatalf("no %v/%v event within %v", kind, cause, within)
			}
		}
	}
	waitFor(registrar.EventOnline, registrar.CauseRegistered, time.Second)
	waitFor(registrar.EventOffline, registrar.CauseExpired, 4*time.Second)
	if n := len(e.bindings.Lookup(aor)); n != 0 {
		t.Errorf("%d bindings after expiry", n)
	}
	e.checkMetric(0, "hotline_registered_contacts")
}

// TestRegisterBaresip: baresip, a real softphone, registers with digest
// authentication from its accounts line, appears in Lookup, refreshes before its
// registration interval runs out, and unregisters when it quits.
func TestRegisterBaresip(t *testing.T) {
	regRequireTool(t, "baresip", "baresip-core")
	const regint = 3 // seconds: baresip refreshes before, so the test sees a refresh soon
	e := newRegEnv(t, regMD5Only)
	aor := e.aor("agent1")
	evs := make(chan registrar.Event, 16)
	stop := e.bindings.Watch(func(ev registrar.Event) { evs <- ev })
	defer stop()

	dir := t.TempDir()
	_, port, _ := net.SplitHostPort(e.udpAddr)
	account := fmt.Sprintf("<sip:agent1@127.0.0.1:%s>;auth_pass=%s;regint=%d\n", port, regPassword, regint)
	config := fmt.Sprintf(`sip_listen		127.0.0.1:%d
module_path		/usr/lib/baresip/modules
module_app		account.so
`, regFreePort(t))
	for name, text := range map[string]string{"accounts": account, "config": config} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "baresip", "-f", dir)
	cmd.Dir = dir
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatalf("start baresip: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill() // our own child, by its process
			<-exited
		}
	}()
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf(format+"\n--- baresip output:\n%s", append(args, regTail(out.String(), 4000))...)
	}
	next := func(within time.Duration) registrar.Event {
		t.Helper()
		select {
		case ev := <-evs:
			return ev
		case err := <-exited:
			fail("baresip exited: %v", err)
		case <-time.After(within):
			fail("no registrar event within %v", within)
		}
		return registrar.Event{}
	}
	if ev := next(10 * time.Second); ev.Kind != registrar.EventOnline || ev.AOR != aor {
		fail("first event %v %s, want online %s", ev.Kind, ev.AOR, aor)
	}
	bs := e.bindings.Lookup(aor)
	if len(bs) != 1 || !strings.Contains(bs[0].UserAgent, "baresip") || bs[0].Transport != "udp" || bs[0].Source.Addr().String() != "127.0.0.1" {
		fail("binding %+v", bs)
	}
	first := bs[0]
	// The refresh: the same binding, a higher CSeq, before the interval ran out.
	deadline := time.Now().Add(time.Duration(regint)*time.Second + 2*time.Second)
	for {
		bs = e.bindings.Lookup(aor)
		if len(bs) == 1 && bs[0].CSeq > first.CSeq {
			break
		}
		if time.Now().After(deadline) {
			fail("no refresh within %ds: %+v", regint+2, bs)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if bs[0].URI != first.URI || bs[0].CallID != first.CallID || !bs[0].Registered.Equal(first.Registered) {
		fail("refresh made another binding: %+v, first %+v", bs[0], first)
	}
	e.checkMetric(1, "hotline_registered_contacts")
	if got := e.metric("hotline_sip_registrations_total", "result", "registered"); got < 2 {
		t.Errorf("registered %v times, want at least 2 (register and refresh)", got)
	}
	// baresip unregisters when it quits on SIGTERM.
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		fail("signal baresip: %v", err)
	}
	// baresip exits right after its REGISTER with Expires: 0 was answered, which may
	// be before the registrar's event reaches us: its exit is no failure here.
	var ev registrar.Event
	select {
	case ev = <-evs:
	case <-time.After(10 * time.Second):
		fail("no registrar event within 10s of quitting")
	}
	if ev.Kind != registrar.EventOffline || ev.Cause != registrar.CauseUnregistered {
		fail("event after quitting %v/%v, want offline/unregistered", ev.Kind, ev.Cause)
	}
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		fail("baresip did not exit")
	}
}
