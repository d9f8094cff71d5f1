package api

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestFileAuditLog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	l, err := OpenAuditFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := newServer(t, WithAuditLog(l))
	do(t, s, "POST", "/api/v1/calls/c1/hangup", supervisorToken, `{"reason":"fraud_suspected"}`)
	do(t, s, "POST", "/api/v1/flows/reload", viewerToken, "")
	do(t, s, "DELETE", "/api/v1/bans/203.0.113.7", "", "")
	do(t, s, "GET", "/api/v1/calls", viewerToken, "") // a read: not audited

	// Concurrent writers each get a whole line.
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			do(t, s, "PUT", "/api/v1/agents/alice/presence", supervisorToken, `{"presence":"available"}`)
		})
	}
	wg.Wait()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := l.Record(t.Context(), AuditEntry{}); err == nil {
		t.Error("Record after Close succeeded")
	}

	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if st, _ := f.Stat(); st.Mode().Perm() != 0o600 {
		t.Errorf("audit file mode %v, want 0600", st.Mode().Perm())
	}
	var entries []AuditEntry
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var e AuditEntry
		dec := json.NewDecoder(strings.NewReader(sc.Text()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&e); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		entries = append(entries, e)
	}
	if len(entries) != 23 {
		t.Fatalf("%d entries, want 23", len(entries))
	}
	want := []AuditEntry{
		{Time: t0, Token: "sup", Role: "supervisor", Action: "call.hangup", Method: "POST", Path: "/api/v1/calls/c1/hangup",
			Target: "c1", Detail: "reason=fraud_suspected", Status: 204, Result: "ok", SourceIP: "192.0.2.1"},
		{Time: t0, Token: "noc", Role: "viewer", Action: "flows.reload", Method: "POST", Path: "/api/v1/flows/reload",
			Status: 403, Result: "forbidden", Error: `token "noc" has role viewer; this needs admin`, SourceIP: "192.0.2.1"},
		{Time: t0, Action: "ban.clear", Method: "DELETE", Path: "/api/v1/bans/203.0.113.7",
			Status: 401, Result: "unauthorized", Error: "missing API token: send Authorization: Bearer <token>", SourceIP: "192.0.2.1"},
	}
	for i, w := range want {
		if g := entries[i]; g != w {
			t.Errorf("entry %d:\n got %+v\nwant %+v", i, g, w)
		}
	}

	// Reopening appends.
	l2, err := OpenAuditFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := l2.Record(t.Context(), AuditEntry{Time: time.Now(), Action: "x"}); err != nil {
		t.Fatal(err)
	}
	l2.Close()
	b, _ := os.ReadFile(path)
	if n := strings.Count(string(b), "\n"); n != 24 {
		t.Errorf("%d lines after reopening, want 24", n)
	}
	if _, err := OpenAuditFile(filepath.Join(t.TempDir(), "no", "such", "dir", "a.jsonl")); err == nil {
		t.Error("opened an audit file in a missing directory")
	}
}

// auditFunc adapts a function to AuditLog.
type auditFunc func(AuditEntry) error

func (f auditFunc) Record(_ context.Context, e AuditEntry) error { return f(e) }

// syncBuf is a log destination safe for the hub's goroutine.
type syncBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func testLogger(w io.Writer) *slog.Logger { return slog.New(slog.NewTextHandler(w, nil)) }

// A failing audit log does not fail the request (the action cannot be undone);
// the failure is logged.
func TestAuditFailureDoesNotFailTheRequest(t *testing.T) {
	var log syncBuf
	s, f := newServer(t, WithAuditLog(auditFunc(func(AuditEntry) error { return errors.New("disk full") })), WithLogger(testLogger(&log)))
	if w := do(t, s, "POST", "/api/v1/calls/c1/hangup", supervisorToken, ""); w.Code != 204 {
		t.Fatalf("%d", w.Code)
	}
	if len(f.calls.hungup) != 1 || !strings.Contains(log.String(), "audit entry not written") || !strings.Contains(log.String(), "disk full") {
		t.Errorf("hung up %v; log %q", f.calls.hungup, log.String())
	}
}

func TestDefaultAuditGoesToTheLogger(t *testing.T) {
	var log syncBuf
	f := newFakes(t)
	s, err := New(WithTokens(testTokens(t)), WithCalls(f.calls), WithLogger(testLogger(&log)))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	do(t, s, "POST", "/api/v1/calls/c1/hangup", supervisorToken, "")
	if l := log.String(); !strings.Contains(l, "api audit") || !strings.Contains(l, "action=call.hangup") || !strings.Contains(l, "token=sup") {
		t.Errorf("log %q", l)
	}
}

func TestClip(t *testing.T) {
	if got := clip("héllo", 2); got != "h…" {
		t.Errorf("clip cut a rune: %q", got)
	}
	if got := clip("abc", 3); got != "abc" {
		t.Errorf("clip %q", got)
	}
}
