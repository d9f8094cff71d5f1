//go:build linux

// End-to-end tests: the real engine (newEngine, listen, serve, in this process) called
// by real SIPp over loopback, with the audio the caller receives captured on the wire
// (sniff_test.go). They need sipp (Debian package sip-tester), espeak-ng and root, as
// CI has: sipp's pcap playback and the sniffer use raw sockets. Nothing is skipped: a
// missing tool fails the test with the command that installs it.
//
// Every test starts its own engine on ports of its own, then turns parallel; the
// leak test (leak_test.go) stays sequential, because it counts the process's
// goroutines.

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hotline-ivr/hotline/api"
)

const (
	// testFlowsDir holds the flows written for these tests (short prompts, early media,
	// long waits); the sample flow is the one built into the binary.
	testFlowsDir = "../../testdata/flows"
	sippDir      = "../../testdata/sipp"
	// pcapDir is where Debian's sip-tester installs its RFC 4733 recordings.
	pcapDir      = "/usr/share/sip-tester"
	installHint  = "install sip-tester (make test does)"
	engineStart  = 60 * time.Second // newEngine to prompts pre-rendered, on a loaded 2-core box
	engineStop   = 15 * time.Second
	logPollEvery = 20 * time.Millisecond
)

// e2eParallel is how many tests run at once unless -parallel says otherwise. The
// tests spend their time waiting for prompts that play in real time, not computing,
// so the default of GOMAXPROCS (2 in CI) would only make the package slow.
const e2eParallel = 16

func TestMain(m *testing.M) {
	flag.Parse()
	explicit := false
	flag.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "test.parallel" })
	if !explicit {
		if err := flag.Set("test.parallel", strconv.Itoa(e2eParallel)); err != nil {
			fmt.Fprintln(os.Stderr, "set -test.parallel:", err)
			os.Exit(2)
		}
	}
	raisePriority()
	dir, err := os.MkdirTemp("", "hotline-e2e-tts-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "TTS cache directory:", err)
		os.Exit(2)
	}
	promptCacheDir = dir
	startSchedMonitor()
	code := m.Run()
	stopSchedMonitor()
	os.RemoveAll(dir)
	os.Exit(code)
}

var (
	// promptCacheDir is tts.cache_dir for every engine of the run: espeak-ng renders
	// each prompt once, not once per engine.
	promptCacheDir string
	// startMu lets one engine at a time start and pre-render its prompts (see
	// startEngine); it matters to subtests that start engines after t.Parallel.
	startMu sync.Mutex
)

// testNice is the scheduling priority the tests run at (and the sipp processes they
// start inherit). The tests measure RTP pacing on the wire, and on a shared two-core
// machine a busy neighbour would otherwise decide it: the engine is a soft real-time
// process and is deployed with such a priority (or dedicated cores).
const testNice = -10

// raisePriority renices every thread of the test process; threads created later
// inherit it. Without CAP_SYS_NICE it changes nothing, and requireE2E fails the tests
// anyway, since they need root.
func raisePriority() {
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return
	}
	for _, task := range tasks {
		if tid, err := strconv.Atoi(task.Name()); err == nil {
			_ = syscall.Setpriority(syscall.PRIO_PROCESS, tid, testNice)
		}
	}
}

// requireE2E fails the test unless everything an end-to-end test needs is here.
func requireE2E(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("end-to-end tests must run as root: sipp's pcap playback and the RTP sniffer use raw sockets (CI runs as root)")
	}
	if _, err := exec.LookPath("sipp"); err != nil {
		t.Fatalf("sipp not found in PATH: %s", installHint)
	}
	if _, err := exec.LookPath("espeak-ng"); err != nil {
		t.Fatal("espeak-ng not found in PATH: install espeak-ng (make test does)")
	}
	for _, d := range []string{"1", "2", "pound", "star"} {
		if _, err := os.Stat(pcapPath(d)); err != nil {
			t.Fatalf("RFC 4733 recording missing (%v): %s", err, installHint)
		}
	}
}

// pcapPath is sipp's recording of one RFC 4733 key press: "0".."9", "pound", "star".
func pcapPath(digit string) string {
	return filepath.Join(pcapDir, "dtmf_2833_"+digit+".pcap")
}

// ---------------------------------------------------------------------------------
// The engine under test

// engineOptions selects what a test's engine runs.
type engineOptions struct {
	// flow is the name of a flow in testdata/flows; "" runs the built-in sample flow.
	flow string
	// rtpTimeout overrides rtp.timeout; 0 keeps the default (30 s).
	rtpTimeout time.Duration
	// drain overrides limits.drain_timeout; 0 keeps the default (30 s).
	drain time.Duration
	// configure changes the configuration last.
	configure func(*Config)
}

// testEngine is one engine serving in this process, with its log captured.
type testEngine struct {
	*engine
	logs    *logBuffer
	udpAddr string // SIP over UDP, host:port
	tcpAddr string // SIP over TCP, host:port
	rtpMin  int
	rtpMax  int
	signals chan os.Signal // what `hotline serve` gets from the OS: SIGHUP, SIGTERM
	stop    func()         // ends the engine's context, as the first SIGTERM does
	done    chan error     // serve's result, then closed
}

// startEngine starts an engine the way `hotline serve` does (newEngine, listen, serve)
// on loopback ports of its own, waits until its prompts are rendered, and stops it
// when the test ends. On failure the engine's log is printed.
//
// Tests call it before t.Parallel: Go runs those parts one test at a time before any
// parallel part starts, so the CPU-heavy start-up (espeak-ng, resampling under the
// race detector) of one engine never competes with the media clock of another test's
// call on a two-core machine, whose RTP pacing the tests measure.
func startEngine(t *testing.T, o engineOptions) *testEngine {
	t.Helper()
	requireE2E(t)
	cfg := DefaultConfig()
	cfg.SIP.Listen = []string{"udp:127.0.0.1:0", "tcp:127.0.0.1:0"}
	cfg.HTTP.Listen = "127.0.0.1:0"
	cfg.RTP.PortMin, cfg.RTP.PortMax = rtpRange()
	cfg.Log = LogConfig{Level: "info", Format: "json"}
	if o.flow != "" {
		cfg.Flows.Dir = testFlowsDir
		cfg.Flows.Default = o.flow
	}
	if o.rtpTimeout > 0 {
		cfg.RTP.Timeout = &Duration{o.rtpTimeout}
	}
	cfg.TTS.CacheDir = promptCacheDir
	cfg.DataDir = t.TempDir()
	cfg.ASR.Sphinx.Preload = 0 // decoders load on first use: most tests speak no words
	cfg.API.Tokens = []api.TokenConfig{{Name: "e2e", Role: "admin", Token: testAPIToken}}
	if o.drain > 0 {
		cfg.Limits.DrainTimeout = Duration{o.drain}
	}
	if o.configure != nil {
		o.configure(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("test configuration: %v", err)
	}
	startMu.Lock()
	defer startMu.Unlock()
	logs := &logBuffer{}
	e, err := newEngine(cfg, newLogger(cfg.Log, logs))
	if err != nil {
		t.Fatalf("newEngine: %v", err)
	}
	if err := e.listen(); err != nil {
		e.close()
		t.Fatalf("listen: %v", err)
	}
	te := &testEngine{engine: e, logs: logs, rtpMin: cfg.RTP.PortMin, rtpMax: cfg.RTP.PortMax}
	for _, a := range e.sip.Addrs() {
		switch a.Network() {
		case "udp":
			te.udpAddr = a.String()
		case "tcp":
			te.tcpAddr = a.String()
		}
	}
	if te.udpAddr == "" || te.tcpAddr == "" {
		t.Fatalf("engine bound %v, want a UDP and a TCP SIP socket", e.sip.Addrs())
	}

	ctx, cancel := context.WithCancel(context.Background())
	te.signals = make(chan os.Signal, 1)
	e.signals = te.signals
	te.stop = cancel
	done := make(chan error, 1)
	te.done = done
	go func() { done <- e.serve(ctx); close(done) }()
	// Registered first, so it runs last: after the test's own clean-ups (sipp,
	// sniffers), stop the engine, then show its log if anything failed.
	t.Cleanup(func() {
		cancel()
		select {
		case err, ok := <-done:
			if ok && err != nil {
				t.Errorf("engine serve returned %v", err)
			}
		case <-time.After(engineStop):
			t.Errorf("engine did not stop within %v of its context ending (deadlock?)", engineStop)
		}
		// No test here makes the engine fail: an ERROR record is a bug. Warnings are
		// listed, since some tests provoke them (malformed SDP, RTP timeout).
		for _, r := range logs.records() {
			switch r.str("level") {
			case "ERROR":
				t.Errorf("engine logged an error: %v", r)
			case "WARN":
				t.Logf("engine warning: %v", r)
			}
		}
		if t.Failed() {
			t.Logf("engine log (SIP udp %s, tcp %s, RTP %d-%d):\n%s", te.udpAddr, te.tcpAddr, te.rtpMin, te.rtpMax, logs.String())
		}
	})
	// Calls must not wait for the synthesizer: the test timings assume cached prompts.
	te.waitLog(t, engineStart, "prompts pre-rendered")
	return te
}

func (te *testEngine) httpURL(path string) string {
	return "http://" + te.httpLn.Addr().String() + path
}

// sipTarget is the host:port sipp calls for its transport ("u1" or "t1").
func (te *testEngine) sipTarget(transport string) string {
	if strings.HasPrefix(transport, "t") {
		return te.tcpAddr
	}
	return te.udpAddr
}

// waitLog waits for a log record with msg and the given attributes (key, value
// pairs compared as text) and returns it.
func (te *testEngine) waitLog(t testing.TB, timeout time.Duration, msg string, attrs ...string) logRecord {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if recs := te.logs.find(msg, attrs...); len(recs) > 0 {
			return recs[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("no log record %q %v within %v", msg, attrs, timeout)
		}
		time.Sleep(logPollEvery)
	}
}

// waitLogs waits until n records match and returns them.
func (te *testEngine) waitLogs(t testing.TB, timeout time.Duration, n int, msg string, attrs ...string) []logRecord {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		recs := te.logs.find(msg, attrs...)
		if len(recs) >= n {
			return recs
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d log records %q %v within %v, want %d", len(recs), msg, attrs, timeout, n)
		}
		time.Sleep(logPollEvery)
	}
}

// requireNoLog fails if a record with msg (and attrs) was logged.
func (te *testEngine) requireNoLog(t testing.TB, msg string, attrs ...string) {
	t.Helper()
	if recs := te.logs.find(msg, attrs...); len(recs) > 0 {
		t.Errorf("unexpected log record %q: %v", msg, recs[0])
	}
}

// waitIdle is the leak check every test ends with: once the callers are gone the
// engine holds no call and no RTP port.
func (te *testEngine) waitIdle(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		calls, ports, sessions := te.sip.ActiveCalls(), te.media.PortsInUse(), te.media.Sessions()
		if calls == 0 && ports == 0 && sessions == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("engine not idle 5 s after the calls: %d calls in the dialog table, %d RTP ports, %d media sessions", calls, ports, sessions)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// metrics returns the engine's /metrics page.
func (te *testEngine) metrics(t testing.TB) string {
	t.Helper()
	body, _ := httpGet(t, te.httpURL("/metrics"))
	return body
}

// testAPIToken is the admin token of test engines.
const testAPIToken = "e2e-admin-token-0123456789abcdef"

// apiGet GETs url with token (none when "") and returns the status and body.
func apiGet(t testing.TB, url, token string) (int, string) {
	return apiDo(t, "GET", url, token, "")
}

// endedRecord waits until call id's record says the call ended and decodes it into
// rec (a pointer to a struct of the fields the test reads); it returns the record's
// JSON for the test's log.
func endedRecord(t testing.TB, te *testEngine, id string, rec any) string {
	t.Helper()
	var body string
	waitFor(t, 10*time.Second, "the call's record ended", func() bool {
		var code int
		code, body = apiGet(t, te.httpURL("/api/v1/records/"+id), testAPIToken)
		var st struct{ State string }
		return code == 200 && json.Unmarshal([]byte(body), &st) == nil && st.State == "ended" &&
			json.Unmarshal([]byte(body), rec) == nil
	})
	return body
}

// apiDo sends a request with token (none when "") and a JSON body (none when "").
func apiDo(t testing.TB, method, url, token, body string) (int, string) {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, url, err)
	}
	return res.StatusCode, string(b)
}

func httpGet(t testing.TB, url string) (string, *http.Response) {
	t.Helper()
	// No keep-alive: an idle connection would hold goroutines on both ends, and the
	// leak test counts goroutines.
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	res, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("GET %s: read body: %v", url, err)
	}
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s\n%s", url, res.Status, b)
	}
	return string(b), res
}

// ---------------------------------------------------------------------------------
// The engine's log

// logBuffer collects the engine's JSON log lines; it is safe for concurrent use.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// logRecord is one JSON log line.
type logRecord map[string]any

// str returns attribute k as text ("" when absent).
func (r logRecord) str(k string) string {
	v, ok := r[k]
	if !ok || v == nil {
		return ""
	}
	if s, ok := v.(string); ok {
		return s
	}
	return fmt.Sprint(v)
}

func (r logRecord) time() time.Time {
	ts, _ := time.Parse(time.RFC3339Nano, r.str("time"))
	return ts
}

func (r logRecord) String() string {
	b, _ := json.Marshal(map[string]any(r))
	return string(b)
}

func (l *logBuffer) records() []logRecord {
	var out []logRecord
	for _, line := range strings.Split(l.String(), "\n") {
		if line == "" {
			continue
		}
		var r logRecord
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			r = logRecord{"msg": "<unparsable log line>", "line": line}
		}
		out = append(out, r)
	}
	return out
}

// find returns the records with message msg whose attributes match attrs, given as
// key, value pairs.
func (l *logBuffer) find(msg string, attrs ...string) []logRecord {
	var out []logRecord
next:
	for _, r := range l.records() {
		if r.str("msg") != msg {
			continue
		}
		for i := 0; i+1 < len(attrs); i += 2 {
			if r.str(attrs[i]) != attrs[i+1] {
				continue next
			}
		}
		out = append(out, r)
	}
	return out
}

// ---------------------------------------------------------------------------------
// Ports

var (
	portMu    sync.Mutex
	portNext  = 20000 + 10*rand.IntN(900) // another run of this suite on the host starts elsewhere
	rtpBlock  atomic.Int32
	rtpOffset = rand.IntN(27)
)

// rtpRange returns an RTP port range no other test of this process uses. The engine
// skips ports another program holds, so a collision with something else on the host
// costs a retry, not a failure.
func rtpRange() (int, int) {
	n := int(rtpBlock.Add(1))
	lo := 30000 + 100*((rtpOffset+n)%27) // below the kernel's ephemeral ports (32768-)
	return lo, lo + 98
}

// sippPorts are the local ports of one sipp caller: SIP (UDP and TCP) and media.
type sippPorts struct{ sip, media int }

// freeSippPorts finds a SIP port free for UDP and TCP and four media ports free for
// UDP (sipp may bind media_port to media_port+3), distinct from every other test's.
func freeSippPorts(t testing.TB) sippPorts {
	t.Helper()
	portMu.Lock()
	defer portMu.Unlock()
	for range 900 {
		base := portNext
		portNext += 10
		if portNext >= 29000 {
			portNext = 20000
		}
		if portsFree(base, "udp", "tcp") && portsFree(base+2, "udp") && portsFree(base+3, "udp") &&
			portsFree(base+4, "udp") && portsFree(base+5, "udp") {
			return sippPorts{sip: base, media: base + 2}
		}
	}
	t.Fatal("no free ports for sipp between 20000 and 29000")
	return sippPorts{}
}

func portsFree(port int, networks ...string) bool {
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	for _, n := range networks {
		var c io.Closer
		var err error
		if n == "tcp" {
			c, err = net.Listen("tcp", addr)
		} else {
			c, err = net.ListenPacket("udp", addr)
		}
		if err != nil {
			return false
		}
		c.Close()
	}
	return true
}

// ---------------------------------------------------------------------------------
// SIPp

// sippCall describes one sipp run.
type sippCall struct {
	// scenario is a file in testdata/sipp.
	scenario string
	// replace rewrites the scenario before the run: old, new pairs; every old string
	// must occur in it.
	replace []string
	// transport is sipp's -t: "u1" (default) or "t1".
	transport string
	// pause is sipp's -d, the scenario's default <pause/>.
	pause time.Duration
	// calls, limit and rate are -m, -l and -r; calls defaults to 1.
	calls, limit, rate int
	// timeout bounds the whole run: sipp's -timeout, and a hard kill a little later.
	timeout time.Duration
	// keys are sipp's -key keyword value pairs, [keyword] in the scenario.
	keys map[string]string
}

// sippResult is what a sipp run left behind.
type sippResult struct {
	out      string // stdout and stderr: the final statistics screen
	errors   string // -trace_err
	messages string // -trace_msg: every SIP message sent and received
	took     time.Duration
}

var successfulRE = regexp.MustCompile(`Successful call\s+\|\s+\d+\s+\|\s+(\d+)`)

// runSipp runs sipp against the engine and fails the test unless it exits 0 with every
// call successful. sipp is stopped by its process, never by name.
func runSipp(t *testing.T, te *testEngine, ports sippPorts, c sippCall) sippResult {
	t.Helper()
	res, err := execSipp(t, te.sipTarget(c.transport), ports, c)
	if err != nil {
		t.Fatalf("sipp %s: %v\n--- sipp output:\n%s\n--- sipp errors:\n%s\n--- SIP messages:\n%s",
			c.scenario, err, tail(res.out, 4000), res.errors, tail(res.messages, 12000))
	}
	return res
}

// execSipp runs sipp and reports a failed, unsuccessful or incomplete run as an error.
func execSipp(t *testing.T, target string, ports sippPorts, c sippCall) (sippResult, error) {
	t.Helper()
	dir := t.TempDir()
	scenario := filepath.Join(dir, c.scenario)
	src, err := os.ReadFile(filepath.Join(sippDir, c.scenario))
	if err != nil {
		t.Fatalf("scenario: %v", err)
	}
	text := string(src)
	for i := 0; i+1 < len(c.replace); i += 2 {
		if !strings.Contains(text, c.replace[i]) {
			t.Fatalf("scenario %s has no %q to replace", c.scenario, c.replace[i])
		}
		text = strings.ReplaceAll(text, c.replace[i], c.replace[i+1])
	}
	if err := os.WriteFile(scenario, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	if c.transport == "" {
		c.transport = "u1"
	}
	if c.calls == 0 {
		c.calls = 1
	}
	if c.timeout == 0 {
		c.timeout = 40 * time.Second
	}
	errFile, msgFile := filepath.Join(dir, "errors.log"), filepath.Join(dir, "messages.log")
	args := []string{
		"-sf", scenario, target,
		"-t", c.transport,
		"-i", "127.0.0.1", "-p", strconv.Itoa(ports.sip),
		"-mi", "127.0.0.1", "-mp", strconv.Itoa(ports.media),
		"-s", "5000",
		"-m", strconv.Itoa(c.calls),
		"-d", strconv.Itoa(int(c.pause / time.Millisecond)),
		"-nostdin",
		"-timeout", strconv.Itoa(int(c.timeout/time.Second)) + "s", "-timeout_error",
		"-trace_err", "-error_file", errFile,
		"-trace_msg", "-message_file", msgFile,
	}
	if c.limit > 0 {
		args = append(args, "-l", strconv.Itoa(c.limit))
	}
	if c.rate > 0 {
		args = append(args, "-r", strconv.Itoa(c.rate))
	}
	for k, v := range c.keys {
		args = append(args, "-key", k, v)
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout+15*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sipp", args...)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	runErr := cmd.Run()
	res := sippResult{out: out.String(), took: time.Since(start)}
	res.errors = readIfExists(errFile)
	res.messages = readIfExists(msgFile)
	t.Logf("sipp %s %s -> %s: %d call(s) in %v", c.scenario, c.transport, target, c.calls, res.took.Round(time.Millisecond))
	switch {
	case ctx.Err() != nil:
		return res, fmt.Errorf("killed after %v (hard timeout)", c.timeout+15*time.Second)
	case runErr != nil:
		return res, fmt.Errorf("exit: %v (sipp exits 0 only when every call succeeded)", runErr)
	}
	m := successfulRE.FindAllStringSubmatch(res.out, -1)
	if len(m) == 0 {
		return res, fmt.Errorf("no \"Successful call\" line in its statistics")
	}
	if got := m[len(m)-1][1]; got != strconv.Itoa(c.calls) {
		return res, fmt.Errorf("Successful call %s, want %d", got, c.calls)
	}
	return res, nil
}

func readIfExists(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return string(b)
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// ---------------------------------------------------------------------------------
// Prometheus text format

var sampleRE = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)`)
var labelRE = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"`)

// metricSum adds up the samples of name whose labels include want (name=value pairs);
// found is false when no sample matched.
func metricSum(text, name string, want ...string) (sum float64, found bool) {
	for _, line := range strings.Split(text, "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		m := sampleRE.FindStringSubmatch(line)
		if m == nil || m[1] != name {
			continue
		}
		labels := map[string]string{}
		for _, l := range labelRE.FindAllStringSubmatch(m[3], -1) {
			labels[l[1]] = l[2]
		}
		ok := true
		for i := 0; i+1 < len(want); i += 2 {
			if labels[want[i]] != want[i+1] {
				ok = false
				break
			}
		}
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(m[4], 64)
		if err != nil {
			continue
		}
		sum += v
		found = true
	}
	return sum, found
}

// requireMetric fails unless the samples of name matching labels add up to want.
func requireMetric(t testing.TB, text, name string, want float64, labels ...string) {
	t.Helper()
	got, found := metricSum(text, name, labels...)
	if !found {
		t.Errorf("/metrics has no %s%v", name, labels)
		return
	}
	if got != want {
		t.Errorf("/metrics %s%v = %v, want %v", name, labels, got, want)
	}
}

// goTool finds the go command that runs this test, for building the binary.
func goTool(t testing.TB) string {
	t.Helper()
	if root := os.Getenv("GOROOT"); root != "" && fileExists(filepath.Join(root, "bin", "go")) {
		return filepath.Join(root, "bin", "go")
	}
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	if p := filepath.Join(runtime.GOROOT(), "bin", "go"); fileExists(p) {
		return p
	}
	t.Fatal("the go command is neither in GOROOT nor in PATH")
	return ""
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// audioSlot is held by the tests that judge what phones hear (tones, music, RTP
// pacing) with several SIPp and baresip peers: run together on two cores they
// starve each other's media clocks and the judgement fails for the machine's sake,
// not the engine's. They run one at a time, beside the lighter parallel tests.
var audioSlot = make(chan struct{}, 1)

// exclusiveAudio takes audioSlot for the rest of the test; call it after t.Parallel.
func exclusiveAudio(t *testing.T) {
	t.Helper()
	audioSlot <- struct{}{}
	t.Cleanup(func() { <-audioSlot })
}
