//go:build linux

package loadtest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The generator against a real engine: the hotline binary built from this tree (or
// $HOTLINE_BIN), started as users start it, on ports of its own, with the short test
// flow. It needs espeak-ng, as the engine does for its prompts.

// engineRTPMin and engineRTPMax are the RTP ports of the engine these tests start;
// no other package's tests use them (media 24000-32000, sip 31000-31998, cmd/hotline
// 30000-32700).
const (
	engineRTPMin = 21000
	engineRTPMax = 21998
)

// testEngine is a running engine process.
type testEngine struct {
	cmd     *exec.Cmd
	sipAddr string
	httpURL string
	logs    *lockedBuffer
	done    chan error
}

// buildEngine returns the engine binary: $HOTLINE_BIN, or one built from ../cmd/hotline.
func buildEngine(t *testing.T) string {
	t.Helper()
	if bin := os.Getenv("HOTLINE_BIN"); bin != "" {
		return bin
	}
	bin := filepath.Join(t.TempDir(), "hotline")
	cmd := exec.Command("go", "build", "-o", bin, "../cmd/hotline")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build the engine (set HOTLINE_BIN to use another binary): %v\n%s", err, out)
	}
	return bin
}

// freePort returns a port free for both UDP and TCP on 127.0.0.1.
func freePort(t *testing.T) int {
	t.Helper()
	for range 50 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		pc, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			continue
		}
		pc.Close()
		return port
	}
	t.Fatal("no free port")
	return 0
}

// startEngine runs the engine with flow from testdata/flows and waits until its
// prompts are rendered, so the first caller does not wait for espeak-ng.
func startEngine(t *testing.T, flow string) *testEngine {
	t.Helper()
	if _, err := exec.LookPath("espeak-ng"); err != nil {
		t.Fatal("espeak-ng not found: the engine speaks its prompts with it (apt-get install espeak-ng; make test installs it)")
	}
	bin := buildEngine(t)
	dir := t.TempDir()
	sipPort, httpPort := freePort(t), freePort(t)
	conf := fmt.Sprintf(`sip:
  listen: ["udp:127.0.0.1:%d"]
http:
  listen: "127.0.0.1:%d"
rtp:
  port_min: %d
  port_max: %d
tts:
  cache_dir: %q
log:
  level: info
`, sipPort, httpPort, engineRTPMin, engineRTPMax, filepath.Join(dir, "tts"))
	confPath := filepath.Join(dir, "hotline.yaml")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	e := &testEngine{
		sipAddr: fmt.Sprintf("127.0.0.1:%d", sipPort),
		httpURL: fmt.Sprintf("http://127.0.0.1:%d", httpPort),
		logs:    &lockedBuffer{},
		done:    make(chan error, 1),
	}
	e.cmd = exec.Command(bin, "serve", "--config", confPath, "--flows", "../testdata/flows", "--flow", flow)
	pr, pw := io.Pipe()
	e.cmd.Stdout, e.cmd.Stderr = pw, pw
	if err := e.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(pr)
		once := sync.Once{}
		for sc.Scan() {
			line := sc.Text()
			e.logs.WriteString(line + "\n")
			if strings.Contains(line, "prompts pre-rendered") {
				once.Do(func() { close(ready) })
			}
		}
	}()
	go func() { err := e.cmd.Wait(); pw.Close(); e.done <- err }()
	t.Cleanup(func() { e.stop(t) })
	select {
	case <-ready:
	case err := <-e.done:
		t.Fatalf("engine exited before it was ready: %v\n%s", err, e.logs.String())
	case <-time.After(90 * time.Second):
		t.Fatalf("engine not ready after 90s:\n%s", e.logs.String())
	}
	return e
}

// stop ends the engine with SIGTERM, as an operator would, and waits for it.
func (e *testEngine) stop(t *testing.T) {
	if e.cmd.ProcessState != nil {
		return
	}
	_ = e.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-e.done:
	case <-time.After(15 * time.Second):
		_ = e.cmd.Process.Kill()
		<-e.done
		t.Errorf("engine did not stop within 15s of SIGTERM")
	}
	if t.Failed() {
		t.Logf("engine log:\n%s", e.logs.String())
	}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) WriteString(s string) {
	l.mu.Lock()
	l.b.WriteString(s)
	l.mu.Unlock()
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestAgainstEngine runs 20 calls at 10 calls per second through the short flow:
// greeting, menu, key 2, the support sentence, goodbye, the engine's BYE. Every call
// must complete, every prompt must be heard and every figure measured.
func TestAgainstEngine(t *testing.T) {
	e := startEngine(t, "short")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var progress lockedBuffer
	rep, err := Run(ctx, Config{
		Target:      e.sipAddr,
		Concurrency: 20,
		Rate:        10,
		Calls:       20,
		Mode:        ModeIVR,
		Digits:      "2",
		Phrase:      "check my balance",
		EnginePID:   e.cmd.Process.Pid,
		Progress:    progressWriter{&progress},
		// The criteria under test are the measurements, not this busy machine's
		// pacing; -race slows the generator several times.
		Criteria: Criteria{MaxGapP99: time.Second, MaxSetupP99: 5 * time.Second, MaxGeneratorCPU: 10},
	})
	if err != nil {
		t.Fatal(err)
	}
	var text bytes.Buffer
	_ = rep.WriteText(&text)
	t.Logf("report:\n%s", text.String())
	if rep.Calls.Started != 20 || rep.Calls.Completed != 20 {
		t.Errorf("calls: started %d, completed %d, want 20 and 20; failures %v", rep.Calls.Started, rep.Calls.Completed, rep.Calls.Failures)
		for _, c := range rep.Failed {
			t.Logf("failed call %d: %s: %s", c.ID, c.Failure, c.Detail)
		}
	}
	if rep.Setup.N != 20 || rep.Setup.P50 <= 0 {
		t.Errorf("setup latency not measured for every call: %+v", rep.Setup)
	}
	if rep.FirstAudio.N != 20 || rep.Prompts.GreetingOnTime != 20 {
		t.Errorf("greeting not heard on every call: first audio %+v, prompts %+v", rep.FirstAudio, rep.Prompts)
	}
	if rep.Response.N != 20 || rep.Prompts.ResponseOnTime != 20 {
		t.Errorf("the answer to key 2 not heard on every call: response %+v, prompts %+v", rep.Response, rep.Prompts)
	}
	if rep.RTP.Received == 0 || rep.RTP.Sent == 0 || rep.RTP.GapP50Ms < 15 || rep.RTP.GapP50Ms > 25 {
		t.Errorf("RTP not measured: %+v", rep.RTP)
	}
	if rep.Engine == nil || rep.Engine.RSSPeak == 0 {
		t.Errorf("engine not sampled: %+v", rep.Engine)
	}
	if !strings.Contains(progress.String(), "active") {
		t.Errorf("no progress line: %q", progress.String())
	}
	var page bytes.Buffer
	if err := rep.WriteHTML(&page); err != nil || !strings.Contains(page.String(), "<svg") {
		t.Errorf("HTML report: %v", err)
	}
}

type progressWriter struct{ b *lockedBuffer }

func (p progressWriter) Write(b []byte) (int, error) {
	p.b.WriteString(string(b))
	return len(b), nil
}
