package webrtc

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// A minimal Chrome DevTools Protocol client: enough to load a page in headless
// Chromium and evaluate JavaScript in it (Runtime.evaluate). Real browsers, no
// downloads: Debian's chromium package.

const chromiumPath = "/usr/bin/chromium"

// browser is one headless Chromium process, started by the test, in its own process
// group so its helpers (zygote, renderer, GPU) end with it.
type browser struct {
	cmd     *exec.Cmd
	devtool string // http://127.0.0.1:port
	done    chan struct{}
}

// startChromium starts headless Chromium on url with a fake microphone playing wav.
// It fails the test loudly when Chromium is not installed.
func startChromium(t *testing.T, url, wav string) (*browser, *cdpPage) {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("headless Chromium is required at %s for the browser tests: install it with `apt-get install chromium` (Debian): %v", chromiumPath, err)
	}
	dir := t.TempDir()
	args := []string{
		"--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--no-default-browser-check",
		"--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
		"--use-file-for-fake-audio-capture=" + wav,
		"--disable-background-networking", "--disable-component-update",
		"--autoplay-policy=no-user-gesture-required",
		// Keep WebRTC on loopback: the tests use no other network.
		"--allow-loopback-in-peer-connection",
		"--disable-features=WebRtcHideLocalIpsWithMdns",
		"--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
		"--user-data-dir=" + dir,
		url,
	}
	cmd := exec.Command(chromiumPath, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", chromiumPath, err)
	}
	b := &browser{cmd: cmd, done: make(chan struct{})}
	found := make(chan string, 1)
	var logMu sync.Mutex
	var logTail []string
	go func() {
		re := regexp.MustCompile(`DevTools listening on ws://([^/]+)/`)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			if m := re.FindStringSubmatch(line); m != nil {
				select {
				case found <- m[1]:
				default:
				}
			}
			logMu.Lock()
			if len(logTail) < 200 {
				logTail = append(logTail, line)
			}
			logMu.Unlock()
		}
		_, _ = io.Copy(io.Discard, stderr)
	}()
	go func() { _ = cmd.Wait(); close(b.done) }()
	t.Cleanup(func() {
		b.stop()
		if t.Failed() {
			logMu.Lock()
			t.Logf("chromium stderr:\n%s", strings.Join(logTail, "\n"))
			logMu.Unlock()
		}
	})
	select {
	case hp := <-found:
		b.devtool = "http://" + hp
	case <-b.done:
		t.Fatalf("chromium exited before DevTools came up")
	case <-time.After(60 * time.Second): // a hang guard, not a performance bound
		t.Fatalf("chromium printed no DevTools address")
	}
	return b, b.page(t, url)
}

// stop ends Chromium: its process group (which the test created) gets SIGTERM, then
// SIGKILL if it lingers.
func (b *browser) stop() {
	pgid := b.cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-b.done:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-b.done
	}
}

// page finds the tab showing url and attaches to it.
func (b *browser) page(t *testing.T, url string) *cdpPage {
	t.Helper()
	for i := 0; i < 200; i++ {
		resp, err := http.Get(b.devtool + "/json/list")
		if err == nil {
			var targets []struct{ Type, URL, WebSocketDebuggerURL string }
			err = json.NewDecoder(resp.Body).Decode(&targets)
			resp.Body.Close()
			for _, tg := range targets {
				if tg.Type == "page" && strings.HasPrefix(tg.URL, url) && tg.WebSocketDebuggerURL != "" {
					ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
					conn, _, err := websocket.Dial(ctx, tg.WebSocketDebuggerURL, nil)
					cancel()
					if err != nil {
						t.Fatalf("attaching to the page: %v", err)
					}
					conn.SetReadLimit(-1)
					p := &cdpPage{conn: conn}
					t.Cleanup(func() { conn.CloseNow() })
					return p
				}
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("no page for %s in %s/json/list", url, b.devtool)
	return nil
}

// cdpPage sends commands to one page, one at a time.
type cdpPage struct {
	conn *websocket.Conn
	mu   sync.Mutex
	id   int
}

// call sends one command and returns its result, skipping events.
func (p *cdpPage) call(method string, params any, result any) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.id++
	id := p.id
	req, _ := json.Marshal(map[string]any{"id": id, "method": method, "params": params})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := p.conn.Write(ctx, websocket.MessageText, req); err != nil {
		return fmt.Errorf("cdp %s: %w", method, err)
	}
	for {
		_, data, err := p.conn.Read(ctx)
		if err != nil {
			return fmt.Errorf("cdp %s: %w", method, err)
		}
		var resp struct {
			ID     int             `json:"id"`
			Result json.RawMessage `json:"result"`
			Error  *struct {
				Message string `json:"message"`
			} `json:"error"`
		}
		if json.Unmarshal(data, &resp) != nil || resp.ID != id {
			continue // an event
		}
		if resp.Error != nil {
			return fmt.Errorf("cdp %s: %s", method, resp.Error.Message)
		}
		if result != nil {
			return json.Unmarshal(resp.Result, result)
		}
		return nil
	}
}

// eval evaluates expr in the page (awaiting a promise) and decodes its value into out.
func (p *cdpPage) eval(expr string, out any) error {
	var r struct {
		Result struct {
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		ExceptionDetails *struct {
			Text      string `json:"text"`
			Exception *struct {
				Description string `json:"description"`
			} `json:"exception"`
		} `json:"exceptionDetails"`
	}
	err := p.call("Runtime.evaluate", map[string]any{"expression": expr, "awaitPromise": true, "returnByValue": true}, &r)
	if err != nil {
		return err
	}
	if d := r.ExceptionDetails; d != nil {
		msg := d.Text
		if d.Exception != nil {
			msg += " " + d.Exception.Description
		}
		return fmt.Errorf("javascript %q: %s", expr, msg)
	}
	if out != nil && len(r.Result.Value) > 0 {
		return json.Unmarshal(r.Result.Value, out)
	}
	return nil
}

// waitJS polls a boolean expression until it is true, up to a hang guard.
func (p *cdpPage) waitJS(t *testing.T, what, expr string) {
	t.Helper()
	for i := 0; i < 600; i++ { // 60 s: a hang guard, not a performance bound
		var ok bool
		if err := p.eval(expr, &ok); err != nil {
			t.Fatalf("waiting for %s: %v", what, err)
		}
		if ok {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	var state any
	_ = p.eval(`JSON.stringify(window.hotline ? {state: hotline.state, connection: hotline.connection, errors: hotline.errors} : null)`, &state)
	t.Fatalf("the page never reached %s (page state %v)", what, state)
}
