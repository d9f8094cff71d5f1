package vosk

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// fakeServer speaks the Vosk WebSocket protocol over loopback. It
// "recognises" by answering every audio message with a partial and EOF
// with a scripted result; the path of the URL picks a behaviour:
//
//	/ok        partials, then {"text": script, "result": words} after EOF
//	/segments  also closes a segment mid-stream, as Vosk's endpointing does
//	/unk       answers "[unk]": speech outside the grammar
//	/hang      reads everything, answers nothing
//	/deaf      accepts the connection, then reads nothing until the
//	           test calls release (and then only to notice the close)
//	/close     closes the connection after five audio messages
//	/garbage   answers audio with text that is not JSON
//	/slow      answers EOF after 2 s
//	/closeeof  closes normally instead of answering EOF
type fakeServer struct {
	t      *testing.T
	srv    *httptest.Server
	script string
	ctx    context.Context
	cancel context.CancelFunc

	wg      sync.WaitGroup
	active  atomic.Int32 // connections open now
	total   atomic.Int32
	mu      sync.Mutex
	configs []map[string]any
	audio   []int         // bytes of audio per connection
	deaf    chan struct{} // closed by release
}

func newFakeServer(t *testing.T, script string) *fakeServer {
	f := &fakeServer{t: t, script: script, deaf: make(chan struct{})}
	f.ctx, f.cancel = context.WithCancel(context.Background())
	f.srv = httptest.NewServer(http.HandlerFunc(f.handle))
	t.Cleanup(f.close)
	return f
}

func (f *fakeServer) url(mode string) string {
	return "ws" + strings.TrimPrefix(f.srv.URL, "http") + "/" + mode
}

// release lets the deaf handlers read again. A deaf handler cannot tell
// that the client closed its connection without reading, so the tests
// call release once the client is done: a client that closed its socket
// then ends the handler at once (its reads fail), and one that leaked
// the connection leaves it open, which the tests count (active).
func (f *fakeServer) release() {
	f.mu.Lock()
	close(f.deaf)
	f.deaf = make(chan struct{})
	f.mu.Unlock()
}

// close stops every handler and waits for them.
func (f *fakeServer) close() {
	f.cancel()
	f.srv.Close()
	f.wg.Wait()
}

func (f *fakeServer) handle(w http.ResponseWriter, r *http.Request) {
	conn, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	f.wg.Add(1)
	defer f.wg.Done()
	f.active.Add(1)
	f.total.Add(1)
	defer f.active.Add(-1)
	defer conn.CloseNow()
	ctx := f.ctx
	mode := strings.TrimPrefix(r.URL.Path, "/")
	if mode == "deaf" {
		f.mu.Lock()
		deaf := f.deaf
		f.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-deaf:
		}
		for {
			if _, _, err := conn.Read(ctx); err != nil {
				return
			}
		}
	}
	f.mu.Lock()
	f.audio = append(f.audio, 0)
	f.mu.Unlock()
	send := func(v any) bool {
		b, _ := json.Marshal(v)
		return conn.Write(ctx, websocket.MessageText, b) == nil
	}
	chunks := 0
	for {
		typ, data, err := conn.Read(ctx)
		if err != nil {
			return
		}
		if typ == websocket.MessageText {
			if string(data) == eofMessage {
				switch mode {
				case "hang":
					continue
				case "slow":
					select {
					case <-time.After(2 * time.Second):
					case <-ctx.Done():
						return
					}
				case "closeeof":
					conn.Close(websocket.StatusNormalClosure, "")
					return
				}
				text := f.script
				if mode == "unk" {
					text = unknownWord
				}
				send(f.result(text))
				conn.Close(websocket.StatusNormalClosure, "")
				return
			}
			var cfg map[string]any
			if err := json.Unmarshal(data, &cfg); err != nil {
				f.t.Errorf("server: bad config %q", data)
				return
			}
			f.mu.Lock()
			f.configs = append(f.configs, cfg)
			f.mu.Unlock()
			continue
		}
		chunks++
		f.mu.Lock()
		f.audio[len(f.audio)-1] += len(data)
		f.mu.Unlock()
		switch {
		case mode == "hang":
			continue
		case mode == "close" && chunks == 5:
			return
		case mode == "garbage":
			conn.Write(ctx, websocket.MessageText, []byte("<html>502 Bad Gateway</html>"))
			continue
		case mode == "segments" && chunks == 3:
			send(f.result("please"))
			continue
		}
		words := strings.Fields(f.script)
		send(map[string]string{"partial": strings.Join(words[:min(len(words), chunks/3)], " ")})
	}
}

// result is a Vosk final result for text, one word per 300 ms.
func (f *fakeServer) result(text string) map[string]any {
	var words []map[string]any
	for i, w := range strings.Fields(text) {
		words = append(words, map[string]any{"word": w, "start": 0.3 * float64(i), "end": 0.3*float64(i) + 0.25, "conf": 0.9})
	}
	return map[string]any{"text": text, "result": words}
}

// deafListener accepts TCP connections and never answers the handshake.
func deafListener(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	var mu sync.Mutex
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			// Read the handshake and never answer it; when the client
			// gives up and closes its socket, close ours, so a socket
			// still open at the end of a test is the client's leak.
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, _ = io.Copy(io.Discard, c)
				c.Close()
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return fmt.Sprintf("ws://%s/", ln.Addr())
}
