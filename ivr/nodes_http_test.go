package ivr

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// The http node against a real HTTP server (httptest), in real time: a request
// blocked on the network is not something a synctest bubble can wait out.

const httpFlow = `
name: h
start: call
defaults: {error: failed}
variables: {account: string, balance: number, owner: string, etag: string, items: int}
nodes:
  call:
    http:
      endpoint: svc
      method: POST
      path: /accounts/{{ account }}?full=1
      headers: {X-Env: node, X-Caller: "{{ caller }}"}
      json: {caller: caller, n: limit + 1}
      retries: 2
      response: {balance: body.balance, owner: body.owner.name, etag: 'headers["etag"]', items: len(body.items)}
    next: ok
    on: {timeout: timeout}
  ok: {hangup: {disposition: resolved, reason: ok}}
  timeout: {hangup: {disposition: unresolved, reason: timeout}}
  failed: {hangup: {disposition: error, reason: failed}}
`

// server records requests and answers with respond(n) for the n-th (from 1).
type server struct {
	*httptest.Server
	mu      sync.Mutex
	reqs    []*http.Request
	bodies  []string
	respond func(n int, w http.ResponseWriter, r *http.Request)
}

func newServer(t *testing.T, respond func(n int, w http.ResponseWriter, r *http.Request)) *server {
	s := &server{respond: respond}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.reqs = append(s.reqs, r)
		s.bodies = append(s.bodies, string(b))
		n := len(s.reqs)
		s.mu.Unlock()
		s.respond(n, w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *server) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.reqs)
}

func okAccount(w http.ResponseWriter) {
	w.Header().Set("ETag", `"v7"`)
	w.Header().Set("Content-Type", "application/json")
	io.WriteString(w, `{"balance": 12.25, "owner": {"name": "Ann"}, "items": [1, 2, 3]}`)
}

func runHTTP(t *testing.T, url string, src string, opts ...Option) (*harness, Result) {
	t.Helper()
	env := `
http:
  svc: {url: "` + url + `/api", headers: {X-Api-Key: k1, X-Env: endpoint}, timeout: 300ms}
vars: {limit: 3}
`
	f := loadWithEnv(t, env, map[string]string{"h.yaml": src})["h"]
	h := newHarness(t, opts...)
	defer h.ch.close()
	return h, h.run(t.Context(), f)
}

func TestHTTPNode(t *testing.T) {
	t.Run("request and response mapping", func(t *testing.T) {
		s := newServer(t, func(_ int, w http.ResponseWriter, _ *http.Request) { okAccount(w) })
		h, res := runHTTP(t, s.URL, httpFlow)
		if res.Reason != "ok" {
			t.Fatalf("reason %q (err %v)", res.Reason, res.Err)
		}
		r := s.reqs[0]
		if r.Method != "POST" || r.URL.Path != "/api/accounts/" || r.URL.RawQuery != "full=1" ||
			r.Header.Get("X-Api-Key") != "k1" || r.Header.Get("X-Env") != "node" || r.Header.Get("X-Caller") != "+15551230000" ||
			r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("request %s %s %v", r.Method, r.URL, r.Header)
		}
		var body map[string]any
		if err := json.Unmarshal([]byte(s.bodies[0]), &body); err != nil || body["caller"] != "+15551230000" || body["n"] != 4.0 {
			t.Errorf("body %s (%v)", s.bodies[0], err)
		}
		if res.Vars["balance"] != 12.25 || res.Vars["owner"] != "Ann" || res.Vars["etag"] != `"v7"` || res.Vars["items"] != 3 || res.Vars["http_status"] != 200 {
			t.Errorf("vars %v", res.Vars)
		}
		checkSeries(t, h.reg, `hotline_flow_http_requests_total{flow="h",outcome="ok"} 1
hotline_flow_http_seconds{flow="h"} 1`, "hotline_flow_http_requests_total", "hotline_flow_http_seconds")
	})
	t.Run("5xx is retried with backoff", func(t *testing.T) {
		s := newServer(t, func(n int, w http.ResponseWriter, _ *http.Request) {
			if n < 3 {
				w.WriteHeader(http.StatusBadGateway)
				return
			}
			okAccount(w)
		})
		start := time.Now()
		h, res := runHTTP(t, s.URL, httpFlow)
		if res.Reason != "ok" || s.count() != 3 || res.Vars["http_status"] != 200 {
			t.Errorf("reason %q after %d requests", res.Reason, s.count())
		}
		if d := time.Since(start); d < 750*time.Millisecond {
			t.Errorf("three attempts in %v: want the 250 ms and 500 ms backoffs between them", d)
		}
		checkSeries(t, h.reg, `hotline_flow_http_requests_total{flow="h",outcome="ok"} 1
hotline_flow_http_requests_total{flow="h",outcome="error"} 2`, "hotline_flow_http_requests_total")
	})
	t.Run("4xx is an error, not retried", func(t *testing.T) {
		s := newServer(t, func(_ int, w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) })
		_, res := runHTTP(t, s.URL, httpFlow)
		if res.Reason != "failed" || s.count() != 1 || res.Vars["http_status"] != 404 || res.Vars["balance"] != 0.0 {
			t.Errorf("reason %q after %d requests, vars %v", res.Reason, s.count(), res.Vars)
		}
	})
	t.Run("timeouts are retried, then the timeout outcome", func(t *testing.T) {
		s := newServer(t, func(_ int, w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		})
		start := time.Now()
		h, res := runHTTP(t, s.URL, httpFlow)
		d := time.Since(start)
		if res.Reason != "timeout" || s.count() != 3 || res.Vars["http_status"] != 0 {
			t.Errorf("reason %q after %d requests, http_status %v", res.Reason, s.count(), res.Vars["http_status"])
		}
		// 3 × 300 ms + 250 ms + 500 ms of backoff.
		if d < 1650*time.Millisecond || d > 4*time.Second {
			t.Errorf("took %v, want about 1.65 s", d)
		}
		checkSeries(t, h.reg, `hotline_flow_http_requests_total{flow="h",outcome="timeout"} 3`, "hotline_flow_http_requests_total")
	})
	t.Run("no response is an error", func(t *testing.T) {
		s := newServer(t, nil)
		url := s.URL
		s.Close()
		_, res := runHTTP(t, url, httpFlow)
		if res.Reason != "failed" || res.Vars["http_status"] != 0 {
			t.Errorf("reason %q http_status %v", res.Reason, res.Vars["http_status"])
		}
	})
	t.Run("a mapping that does not convert sets nothing", func(t *testing.T) {
		s := newServer(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
			io.WriteString(w, `{"balance": "lots", "owner": {"name": "Ann"}, "items": []}`)
		})
		_, res := runHTTP(t, s.URL, httpFlow)
		if res.Reason != "failed" || res.Vars["owner"] != "" || res.Vars["http_status"] != 200 {
			t.Errorf("reason %q vars %v", res.Reason, res.Vars)
		}
	})
	t.Run("url and text body", func(t *testing.T) {
		s := newServer(t, func(_ int, w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "accepted") })
		src := `
name: h
start: call
defaults: {error: failed}
variables: {answer: string}
nodes:
  call:
    http: {url: "` + s.URL + `/hook/{{ call_id }}", method: PUT, body: "caller={{ caller }}", response: {answer: body}}
    next: ok
    on: {timeout: failed}
  ok: {hangup: {disposition: resolved, reason: ok}}
  failed: {hangup: {disposition: error, reason: failed}}
`
		_, res := runHTTP(t, s.URL, src)
		r := s.reqs[0]
		if res.Reason != "ok" || r.Method != "PUT" || r.URL.Path != "/hook/call-1" || s.bodies[0] != "caller=+15551230000" ||
			r.Header.Get("Content-Type") != "text/plain; charset=utf-8" || res.Vars["answer"] != "accepted" {
			t.Errorf("reason %q, request %s %s %q %v, vars %v", res.Reason, r.Method, r.URL, s.bodies[0], r.Header, res.Vars)
		}
	})
	t.Run("hang-up cancels the request", func(t *testing.T) {
		s := newServer(t, func(_ int, w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
		env := `
http:
  svc: {url: "` + s.URL + `", timeout: 30s}
vars: {limit: 3}
`
		f := loadWithEnv(t, env, map[string]string{"h.yaml": httpFlow})["h"]
		h := newHarness(t)
		defer h.ch.close()
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(200*time.Millisecond, cancel)
		start := time.Now()
		res := h.run(ctx, f)
		if d := time.Since(start); res.Disposition != DispositionAbandoned || d > 2*time.Second || s.count() != 1 {
			t.Errorf("disposition %q after %v and %d requests", res.Disposition, d, s.count())
		}
	})
}
