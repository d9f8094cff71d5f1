package telephony_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hotline-ivr/hotline/acd"
	"github.com/hotline-ivr/hotline/acd/telephony"
	"github.com/hotline-ivr/hotline/flows"
	"github.com/hotline-ivr/hotline/ivr"
	"github.com/hotline-ivr/hotline/media"
	"github.com/hotline-ivr/hotline/media/codec"
	"github.com/hotline-ivr/hotline/sip"
	"github.com/hotline-ivr/hotline/sip/auth"
	"github.com/hotline-ivr/hotline/sip/registrar"
	"github.com/hotline-ivr/hotline/tts"
)

const (
	realm       = "hotline.test"
	agentExt    = "1001"
	agentPass   = "s3cret-1001"
	callerID    = "+15550100"
	supportFlow = `
name: agents
start: queue
defaults: {error: failed}
nodes:
  queue:
    queue: {name: support}
    on: {completed: done, full: failed, timeout: failed, closed: failed, callback: failed}
  done: {hangup: {disposition: transferred, reason: completed}}
  failed: {hangup: {disposition: unresolved, reason: failed}}
`
	acdConfig = `
agents:
  - {id: alice, name: Alice, extension: "1001", presence: available}
queues:
  support: {wrap_up: 1s, ring_timeout: 15s, whisper: true}
`
)

// requireTool fails the test unless name is in PATH.
func requireTool(t *testing.T, name, pkg string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		t.Fatalf("%s not found in PATH: install the Debian package %s (apt-get install %s; make test does)", name, pkg, pkg)
	}
}

// syncBuffer is a goroutine-safe log buffer.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// enqueued is one Enqueue's result, as the flow got it.
type enqueued struct {
	res ivr.QueueResult
	err error
}

// recordingQueue passes calls to the Queue under test and reports each result.
type recordingQueue struct {
	q    *telephony.Queue
	done chan enqueued
}

func (r *recordingQueue) Enqueue(ctx context.Context, req ivr.QueueRequest) (ivr.QueueResult, error) {
	res, err := r.q.Enqueue(ctx, req)
	r.done <- enqueued{res, err}
	return res, err
}

// pbx is the engine under test: a SIP server that is the agents' registrar, the
// ACD, the flow runtime with the queue node, and the agents' SIP side.
type pbx struct {
	srv      *sip.Server
	eng      *media.Engine
	bindings *registrar.Memory
	acd      *acd.Engine
	events   *acd.MemLog
	agents   *telephony.SIPAgents
	queue    *recordingQueue
	udp      string
	logs     *syncBuffer
	pops     chan acd.ScreenPop
}

func newPBX(t *testing.T) *pbx {
	t.Helper()
	p := &pbx{logs: &syncBuffer{}, pops: make(chan acd.ScreenPop, 16)}
	log := slog.New(slog.NewTextHandler(p.logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	reg := prometheus.NewRegistry()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("engine log:\n%s", tail(p.logs.String(), 12000))
		}
	})

	users, err := auth.NewStaticUsers(realm, map[string]auth.UserConfig{agentExt: {Password: agentPass}})
	if err != nil {
		t.Fatal(err)
	}
	// baresip speaks MD5 only (see sip/register_sipp_test.go).
	authn, err := auth.New(realm, users, auth.WithAlgorithms(auth.MD5), auth.WithRegistry(reg), auth.WithLogger(log))
	if err != nil {
		t.Fatal(err)
	}
	if p.bindings, err = registrar.NewMemory(registrar.WithLogger(log)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.bindings.Close() })
	if p.eng, err = media.NewEngine(media.Config{BindIP: netip.MustParseAddr("127.0.0.1"), PortMin: 44000, PortMax: 44999},
		media.WithRegistry(reg), media.WithLogger(log)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.eng.Close)

	cfg, err := acd.ParseConfig("acd.yaml", []byte(acdConfig))
	if err != nil {
		t.Fatal(err)
	}
	p.events = &acd.MemLog{}
	if p.acd, err = acd.NewEngine(acd.WithConfig(cfg), acd.WithEventLog(p.events), acd.WithLogger(log),
		acd.WithRegistry(reg), acd.WithScreenPop(func(sp acd.ScreenPop) {
			select {
			case p.pops <- sp:
			default:
			}
		})); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.acd.Close() })

	espeak, err := tts.NewEspeak()
	if err != nil {
		t.Fatalf("espeak-ng: %v", err)
	}
	synth, err := tts.NewCache(espeak)
	if err != nil {
		t.Fatal(err)
	}
	q, err := telephony.NewQueue(p.acd, telephony.WithLogger(log))
	if err != nil {
		t.Fatal(err)
	}
	p.queue = &recordingQueue{q: q, done: make(chan enqueued, 4)}
	env, err := flows.ParseEnv("env.yaml", []byte("queues:\n  support: {id: support, description: Second-line support.}\n"))
	if err != nil {
		t.Fatal(err)
	}
	flow, err := flows.Parse(nil, "agents.yaml", []byte(supportFlow), flows.WithEnv(env))
	if err != nil {
		t.Fatal(err)
	}
	rt := ivr.New(synth, ivr.WithQueue(p.queue), ivr.WithQueueInfo(q), ivr.WithLogger(log))
	handler := sip.HandlerFunc(func(ctx context.Context, c *sip.Call) { rt.Run(ctx, c, flow) })

	p.srv, err = sip.NewServer(sip.Config{Listen: []sip.Listen{{Transport: "udp", Addr: "127.0.0.1:0"}},
		T1: 100 * time.Millisecond, Codecs: []codec.Codec{codec.G722, codec.PCMU}},
		p.eng, handler, sip.WithLogger(log), sip.WithRegistry(reg),
		sip.WithRegistrar(sip.RegistrarConfig{Bindings: p.bindings, Auth: authn}))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.srv.Listen(); err != nil {
		t.Fatal(err)
	}
	p.udp = p.srv.Addrs()[0].String()
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- p.srv.Serve(ctx) }()

	if p.agents, err = telephony.NewSIPAgents(telephony.SIPConfig{Dialer: p.srv, Bindings: p.bindings, AOR: p.srv.AOR,
		Synthesizer: synth, Voice: "en-us", Logger: log}); err != nil {
		t.Fatal(err)
	}
	stop := p.agents.Watch(p.bindings, p.acd, p.acd)
	t.Cleanup(func() {
		stop()
		p.srv.Close()
		cancel()
		<-served
		p.agents.Close()
	})
	return p
}

// carrier is the caller's side: a second SIP server that dials the pbx, as a
// carrier's trunk would.
func newCarrier(t *testing.T) *sip.Server {
	t.Helper()
	reg := prometheus.NewRegistry()
	eng, err := media.NewEngine(media.Config{BindIP: netip.MustParseAddr("127.0.0.1"), PortMin: 45000, PortMax: 45999},
		media.WithRegistry(reg))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(eng.Close)
	srv, err := sip.NewServer(sip.Config{Listen: []sip.Listen{{Transport: "udp", Addr: "127.0.0.1:0"}},
		T1: 100 * time.Millisecond, Codecs: []codec.Codec{codec.G722}},
		eng, sip.HandlerFunc(func(context.Context, *sip.Call) {}), sip.WithRegistry(reg))
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx) }()
	t.Cleanup(func() { srv.Close(); cancel(); <-served })
	return srv
}

// freePort finds a free UDP and TCP port on 127.0.0.1 (baresip binds both, and TLS
// on the next one).
func freePort(t *testing.T) int {
	t.Helper()
	for range 50 {
		u, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := u.LocalAddr().(*net.UDPAddr).Port
		u.Close()
		ok := true
		for _, p := range []int{port, port + 1} {
			l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
			if err != nil {
				ok = false
				break
			}
			l.Close()
		}
		if ok {
			return port
		}
	}
	t.Fatal("no free port")
	return 0
}

// phone is a baresip softphone registered as agent 1001.
type phone struct {
	t     *testing.T
	dir   string
	out   *syncBuffer
	cmd   *exec.Cmd
	ctrl  int
	exit  chan error
	heard string // unused: baresip 1.0's aufile has no player; sndfile dumps instead
}

// speechWAV renders agent speech with espeak-ng at 8 kHz (baresip's aufile source
// plays it at the phone's codec rate, G.711, without resampling): sentences with
// pauses between.
func speechWAV(t *testing.T, path string) {
	t.Helper()
	raw := path + ".raw.wav"
	text := "Hello, this is Alice from support. How can I help you today? " +
		"I can see your account. Let me check that for you. " +
		"Thank you for waiting. Your issue is solved. Goodbye."
	if out, err := exec.Command("espeak-ng", "-v", "en-us", "-s", "150", "-g", "20", "-w", raw, text).CombinedOutput(); err != nil {
		t.Fatalf("espeak-ng: %v\n%s", err, out)
	}
	if out, err := exec.Command("sox", raw, "-r", "8000", "-c", "1", "-b", "16", "-e", "signed", path).CombinedOutput(); err != nil {
		t.Fatalf("sox: %v\n%s", err, out)
	}
}

// startPhone starts baresip registering agent 1001 at the pbx; auto answers with
// answerMode "auto", rings until cancelled with "manual".
func startPhone(t *testing.T, p *pbx, name, answerMode string) *phone {
	t.Helper()
	dir := t.TempDir()
	speech := filepath.Join(dir, "speech.wav")
	speechWAV(t, speech)
	sipPort, ctrl := freePort(t), freePort(t)
	rtp := 46000 + (sipPort%50)*20
	ph := &phone{t: t, dir: dir, out: &syncBuffer{}, ctrl: ctrl, exit: make(chan error, 1), heard: filepath.Join(dir, "heard.wav")}
	config := fmt.Sprintf(`sip_listen 127.0.0.1:%d
audio_player aufile,%s
audio_source aufile,%s
audio_alert aufile,/dev/null
rtp_ports %d-%d
module_path /usr/lib/baresip/modules
module g711.so
module aufile.so
module sndfile.so
snd_path %s
module_app account.so
module_app menu.so
module_app ctrl_tcp.so
ctrl_tcp_listen 127.0.0.1:%d
`, sipPort, ph.heard, speech, rtp, rtp+19, dir, ctrl)
	_, pbxPort, _ := net.SplitHostPort(p.udp)
	account := fmt.Sprintf("<sip:%s@127.0.0.1:%s;transport=udp>;auth_pass=%s;regint=60;answermode=%s\n",
		agentExt, pbxPort, agentPass, answerMode)
	for file, text := range map[string]string{"config": config, "accounts": account} {
		if err := os.WriteFile(filepath.Join(dir, file), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 55*time.Second)
	ph.cmd = exec.CommandContext(ctx, "baresip", "-f", dir, "-t", "50")
	ph.cmd.Dir = dir
	ph.cmd.Stdout, ph.cmd.Stderr = ph.out, ph.out
	ph.cmd.WaitDelay = 5 * time.Second
	if err := ph.cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start baresip: %v", err)
	}
	go func() { ph.exit <- ph.cmd.Wait() }()
	t.Cleanup(func() {
		ph.quit()
		cancel()
		if t.Failed() {
			t.Logf("baresip %s output:\n%s", name, tail(ph.out.String(), 6000))
		}
	})
	return ph
}

// heardWAV is the file baresip's sndfile module wrote what the phone heard into
// (dump-*-dec.wav in the phone's directory), "" if none.
func (ph *phone) heardWAV() string {
	m, _ := filepath.Glob(filepath.Join(ph.dir, "dump-*-dec.wav"))
	if len(m) == 0 {
		return ""
	}
	return m[0]
}

// quit stops baresip (SIGINT: it unregisters) and waits for it; idempotent.
func (ph *phone) quit() {
	if ph.cmd.ProcessState != nil || ph.exit == nil {
		return
	}
	_ = ph.cmd.Process.Signal(os.Interrupt) // our own child, by its process
	select {
	case <-ph.exit:
	case <-time.After(10 * time.Second):
		_ = ph.cmd.Process.Kill()
		<-ph.exit
	}
	ph.exit = nil
}

// command sends one ctrl_tcp command (a netstring of JSON) to baresip.
func (ph *phone) command(cmd string) {
	ph.t.Helper()
	c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(ph.ctrl)), 5*time.Second)
	if err != nil {
		ph.t.Fatalf("baresip ctrl_tcp: %v", err)
	}
	defer c.Close()
	msg := fmt.Sprintf(`{"command":%q,"params":"","token":"t1"}`, cmd)
	if _, err := fmt.Fprintf(c, "%d:%s,", len(msg), msg); err != nil {
		ph.t.Fatalf("baresip ctrl_tcp: %v", err)
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 4096)
	n, _ := c.Read(buf)
	ph.t.Logf("baresip %s: %s", cmd, buf[:n])
}

// waitFor polls cond every 50 ms until it holds or within passes.
func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, within)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// frameLevels returns the dBFS of each 20 ms frame of pcm.
func frameLevels(pcm []int16, rate int) []float64 {
	n := rate / 50
	var out []float64
	for ; len(pcm) >= n; pcm = pcm[n:] {
		var sum float64
		for _, v := range pcm[:n] {
			sum += float64(v) * float64(v)
		}
		rms := math.Sqrt(sum / float64(n))
		out = append(out, 20*math.Log10(math.Max(rms, 1)/32768))
	}
	return out
}
