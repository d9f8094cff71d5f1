// Package chromium drives headless Chromium for hotline's browser tests: a minimal
// Chrome DevTools Protocol client, enough to open a page with a fake microphone
// playing a WAV file, evaluate JavaScript in it (Runtime.evaluate) and wait for an
// expression to turn true. It exists so that the webrtc package and the engine's
// end-to-end tests (cmd/hotline) share one driver instead of copying it; it is
// internal because it is test machinery, not a product API.
//
// It uses Debian's chromium package at /usr/bin/chromium and never downloads a
// browser. Every network address it touches is on loopback.
//
// Two layers: Launch, Browser.Page, Page.Call and Page.Eval return errors; Start,
// Page.MustEval and Page.Wait take a testing.TB and fail the test loudly (with how
// to install Chromium when it is missing), which is what tests want.
package chromium

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/coder/websocket"
)

// DefaultPath is where Debian's chromium package installs the browser.
const DefaultPath = "/usr/bin/chromium"

// InstallHint is how to get the browser, for failure messages.
const InstallHint = "install it with `apt-get install chromium` (Debian)"

// Hang guards: how long the driver waits for the browser before it gives up. They
// stop a broken run; they are not performance bounds.
const (
	startGuard   = 60 * time.Second
	commandGuard = 30 * time.Second
	stopGuard    = 10 * time.Second
	// WaitGuard bounds Page.Wait.
	WaitGuard = 60 * time.Second
	waitPoll  = 100 * time.Millisecond
	logLines  = 200
)

// Options says how to start the browser.
type Options struct {
	// Path is the browser binary; "" means DefaultPath.
	Path string
	// FakeMic is a WAV file the fake microphone plays (Chromium loops it); "" plays
	// Chromium's built-in beep.
	FakeMic string
	// UserDataDir is the profile directory; "" makes a temporary one that Close
	// removes.
	UserDataDir string
	// Args are extra command-line flags.
	Args []string
}

// Browser is one headless Chromium process in its own process group, so that its
// helpers (zygote, renderers, GPU process) end with it.
type Browser struct {
	cmd     *exec.Cmd
	devtool string // http://127.0.0.1:port
	done    chan struct{}
	tmpDir  string

	logMu   sync.Mutex
	logTail []string

	closeOnce sync.Once
}

// Launch starts headless Chromium showing url, with fake media devices (the
// microphone plays o.FakeMic) and media permissions granted without a prompt. It
// returns once the DevTools endpoint is up.
func Launch(url string, o Options) (*Browser, error) {
	path := o.Path
	if path == "" {
		path = DefaultPath
	}
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("headless Chromium is required at %s: %s: %w", path, InstallHint, err)
	}
	b := &Browser{done: make(chan struct{})}
	dir := o.UserDataDir
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "hotline-chromium-"); err != nil {
			return nil, fmt.Errorf("chromium profile directory: %w", err)
		}
		b.tmpDir = dir
	}
	args := []string{
		"--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--no-default-browser-check",
		"--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
		"--disable-background-networking", "--disable-component-update",
		"--autoplay-policy=no-user-gesture-required",
		// Keep WebRTC on loopback: the tests use no other network.
		"--allow-loopback-in-peer-connection",
		"--disable-features=WebRtcHideLocalIpsWithMdns",
		"--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
		"--user-data-dir=" + dir,
	}
	if o.FakeMic != "" {
		args = append(args, "--use-file-for-fake-audio-capture="+o.FakeMic)
	}
	args = append(args, o.Args...)
	args = append(args, url)
	cmd := exec.Command(path, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		b.removeTmp()
		return nil, fmt.Errorf("chromium stderr: %w", err)
	}
	if err := cmd.Start(); err != nil {
		b.removeTmp()
		return nil, fmt.Errorf("starting %s: %w", path, err)
	}
	b.cmd = cmd
	found := make(chan string, 1)
	go b.readLog(stderr, found)
	go func() { _ = cmd.Wait(); close(b.done) }()
	select {
	case hp := <-found:
		b.devtool = "http://" + hp
		return b, nil
	case <-b.done:
		err = errors.New("chromium exited before DevTools came up")
	case <-time.After(startGuard):
		err = fmt.Errorf("chromium printed no DevTools address within %v", startGuard)
	}
	b.Close()
	return nil, fmt.Errorf("%w; its stderr:\n%s", err, b.Log())
}

// readLog keeps the first lines of the browser's stderr and reports the DevTools
// address it prints.
func (b *Browser) readLog(stderr io.Reader, found chan<- string) {
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
		b.logMu.Lock()
		if len(b.logTail) < logLines {
			b.logTail = append(b.logTail, line)
		}
		b.logMu.Unlock()
	}
	_, _ = io.Copy(io.Discard, stderr)
}

// Log returns the first lines the browser wrote to stderr, to explain a failure.
func (b *Browser) Log() string {
	b.logMu.Lock()
	defer b.logMu.Unlock()
	return strings.Join(b.logTail, "\n")
}

// Close ends the browser: its process group gets SIGTERM, then SIGKILL if it
// lingers. It is safe to call more than once.
func (b *Browser) Close() {
	b.closeOnce.Do(func() {
		if b.cmd != nil && b.cmd.Process != nil {
			pgid := b.cmd.Process.Pid
			_ = syscall.Kill(-pgid, syscall.SIGTERM)
			select {
			case <-b.done:
			case <-time.After(stopGuard):
				_ = syscall.Kill(-pgid, syscall.SIGKILL)
				<-b.done
			}
		}
		b.removeTmp()
	})
}

func (b *Browser) removeTmp() {
	if b.tmpDir != "" {
		_ = os.RemoveAll(b.tmpDir)
	}
}

// Page finds the tab showing url (a prefix match) and attaches to it.
func (b *Browser) Page(url string) (*Page, error) {
	c := &http.Client{Timeout: commandGuard}
	var lastErr error
	for range int(startGuard / waitPoll) {
		targets, err := b.targets(c)
		if err != nil {
			lastErr = err
		}
		for _, tg := range targets {
			if tg.Type != "page" || !strings.HasPrefix(tg.URL, url) || tg.WebSocketDebuggerURL == "" {
				continue
			}
			ctx, cancel := context.WithTimeout(context.Background(), commandGuard)
			conn, _, err := websocket.Dial(ctx, tg.WebSocketDebuggerURL, nil)
			cancel()
			if err != nil {
				return nil, fmt.Errorf("attaching to the page %s: %w", tg.URL, err)
			}
			conn.SetReadLimit(-1)
			return &Page{conn: conn}, nil
		}
		select {
		case <-b.done:
			return nil, errors.New("chromium exited before the page opened")
		case <-time.After(waitPoll):
		}
	}
	return nil, fmt.Errorf("no page for %s in %s/json/list (last error: %v)", url, b.devtool, lastErr)
}

type target struct{ Type, URL, WebSocketDebuggerURL string }

func (b *Browser) targets(c *http.Client) ([]target, error) {
	resp, err := c.Get(b.devtool + "/json/list")
	if err != nil {
		return nil, fmt.Errorf("listing the browser's targets: %w", err)
	}
	defer resp.Body.Close()
	var targets []target
	if err := json.NewDecoder(resp.Body).Decode(&targets); err != nil {
		return nil, fmt.Errorf("listing the browser's targets: %w", err)
	}
	return targets, nil
}

// Page sends DevTools commands to one tab, one at a time.
type Page struct {
	// Diagnostic is a JavaScript expression whose value Wait prints when the awaited
	// state never comes (the page's own state object, say); set it before use.
	Diagnostic string

	conn *websocket.Conn
	mu   sync.Mutex
	id   int
}

// Call sends one DevTools command (method with params) and decodes its result into
// result (when not nil), skipping the events that arrive meanwhile.
func (p *Page) Call(method string, params any, result any) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.id++
	id := p.id
	if params == nil {
		params = map[string]any{}
	}
	req, err := json.Marshal(map[string]any{"id": id, "method": method, "params": params})
	if err != nil {
		return fmt.Errorf("cdp %s: %w", method, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), commandGuard)
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

// Eval evaluates the JavaScript expression expr in the page, awaiting it when it is
// a promise, and decodes its value into out (when not nil). A thrown exception is an
// error.
func (p *Page) Eval(expr string, out any) error {
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
	err := p.Call("Runtime.evaluate", map[string]any{"expression": expr, "awaitPromise": true, "returnByValue": true}, &r)
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

// Close closes the tab (Page.close) and the DevTools connection to it.
func (p *Page) Close() error {
	err := p.Call("Page.close", nil, nil)
	p.conn.CloseNow()
	return err
}

// detach drops the DevTools connection, leaving the tab open.
func (p *Page) detach() { p.conn.CloseNow() }

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	b, _ := json.Marshal(s) // a string always marshals
	return string(b)
}

// toString renders a decoded JavaScript value for a message.
func toString(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
