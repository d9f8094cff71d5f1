package flowtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/hotline-ivr/hotline/flows"
)

// Mock is a made-up answer to one request, declared in a test file's http_mocks.
type Mock struct {
	Status  int               // default 200
	Body    any               // sent as JSON; a string is sent as text
	Headers map[string]string // response headers
	// Timeout makes the request time out instead (the http node's timeout outcome);
	// Error makes it fail without a response, with this message (its error outcome).
	Timeout bool
	Error   string
	Pos     flows.Pos // where the test file declares it
}

// mockTransport answers the http requests of a test case in process, without the
// network: from the mocks of the test file, by endpoint, then from the mock billing
// service. It never reaches a real server, so tests run the same anywhere.
type mockTransport struct {
	bases   map[string]string           // endpoint (or URL) to its base URL
	mocks   map[string]map[string]*Mock // endpoint to "METHOD /path" to mock
	billing http.Handler
}

// newMockTransport resolves the endpoint names of mocks through env.
func newMockTransport(env *flows.Env, mocks map[string]map[string]*Mock, billing http.Handler) *mockTransport {
	t := &mockTransport{bases: map[string]string{}, mocks: mocks, billing: billing}
	for name := range mocks {
		base := name
		if env != nil && env.HTTP[name] != nil {
			base = env.HTTP[name].URL
		}
		t.bases[name] = strings.TrimRight(base, "/")
	}
	return t
}

func (t *mockTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if m, key := t.find(r); m != nil {
		return m.respond(r, "mock "+key)
	}
	rec := httptest.NewRecorder()
	t.billing.ServeHTTP(rec, r)
	resp := rec.Result()
	resp.Header.Set(sourceHeader, "mock billing service")
	resp.Request = r
	return resp, nil
}

// find returns the mock answering r and its key: an exact "METHOD /path" first,
// then the longest "METHOD /prefix*".
func (t *mockTransport) find(r *http.Request) (*Mock, string) {
	u := r.URL.Scheme + "://" + r.URL.Host + r.URL.Path
	for _, name := range sortedKeys(t.mocks) {
		base := t.bases[name]
		if !strings.HasPrefix(u, base) {
			continue
		}
		path := strings.TrimPrefix(u, base)
		if path == "" {
			path = "/"
		}
		if !strings.HasPrefix(path, "/") {
			continue // a longer host or path segment that merely starts alike
		}
		key := r.Method + " " + path
		if m := t.mocks[name][key]; m != nil {
			return m, key
		}
		var best *Mock
		bestKey := ""
		for k, m := range t.mocks[name] {
			if p, ok := strings.CutSuffix(k, "*"); ok && strings.HasPrefix(key, p) && len(k) > len(bestKey) {
				best, bestKey = m, k
			}
		}
		if best != nil {
			return best, bestKey
		}
	}
	return nil, ""
}

// errMockTimeout is the failure of a mock declared with timeout: true; it wraps
// context.DeadlineExceeded, which the runtime takes for the attempt's timeout.
var errMockTimeout = fmt.Errorf("flowtest: mock timed out: %w", context.DeadlineExceeded)

// respond makes the mock's answer to r.
func (m *Mock) respond(r *http.Request, source string) (*http.Response, error) {
	switch {
	case m.Timeout:
		return nil, errMockTimeout
	case m.Error != "":
		return nil, errors.New(m.Error)
	}
	rec := httptest.NewRecorder()
	for k, v := range m.Headers {
		rec.Header().Set(k, v)
	}
	var body []byte
	switch b := m.Body.(type) {
	case nil:
	case string:
		body = []byte(b)
		if rec.Header().Get("Content-Type") == "" {
			rec.Header().Set("Content-Type", "text/plain; charset=utf-8")
		}
	default:
		var err error
		if body, err = json.Marshal(b); err != nil {
			return nil, fmt.Errorf("flowtest: mock at %s: encode body: %w", m.Pos, err)
		}
		if rec.Header().Get("Content-Type") == "" {
			rec.Header().Set("Content-Type", "application/json")
		}
	}
	status := m.Status
	if status == 0 {
		status = http.StatusOK
	}
	rec.WriteHeader(status)
	_, _ = rec.Write(body)
	resp := rec.Result()
	resp.Header.Set(sourceHeader, source)
	resp.Request = r
	return resp, nil
}
