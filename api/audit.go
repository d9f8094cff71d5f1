package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"
)

// AuditEntry is one state-changing request: who, what, on what, with which
// result, when and from where. Refused requests (401, 403) are written too: an
// audit log that only shows what succeeded hides the probing before it.
type AuditEntry struct {
	Time     time.Time `json:"time"`
	Token    string    `json:"token"`          // the token's name; "" when unauthenticated
	Role     string    `json:"role,omitempty"` // the token's role
	Action   string    `json:"action"`         // call.hangup, agent.presence, flows.reload…
	Method   string    `json:"method"`
	Path     string    `json:"path"`
	Target   string    `json:"target,omitempty"` // the call, agent, ticket or ban acted on
	Detail   string    `json:"detail,omitempty"` // what was asked: presence=break reason=lunch
	Status   int       `json:"status"`           // the HTTP status answered
	Result   string    `json:"result"`           // ok, unauthorized, forbidden, rejected, failed
	Error    string    `json:"error,omitempty"`  // the error message answered
	SourceIP string    `json:"source_ip"`        // the peer address (X-Forwarded-For is not trusted)
}

// AuditLog keeps audit entries. Record is called after the request was answered;
// an error is logged (the action has happened and cannot be undone).
type AuditLog interface {
	Record(ctx context.Context, e AuditEntry) error
}

// FileAuditLog appends audit entries to a file as JSON lines, one entry per
// line, synced to disk before Record returns: entries are rare (state changes
// only) and must survive a crash right after the action they describe.
type FileAuditLog struct {
	mu     sync.Mutex
	f      *os.File
	closed bool
}

var _ AuditLog = (*FileAuditLog)(nil)

// OpenAuditFile opens (creating it, mode 0600) the audit file for appending.
// Rotation is the system's business (logrotate with copytruncate, or reopen by
// restarting): entries are appended with O_APPEND, so a truncated file is safe.
func OpenAuditFile(path string) (*FileAuditLog, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("api: audit log: %w", err)
	}
	return &FileAuditLog{f: f}, nil
}

// Record appends e as one JSON line and syncs the file.
func (l *FileAuditLog) Record(_ context.Context, e AuditEntry) error {
	b, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("api: audit log: %w", err)
	}
	b = append(b, '\n')
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return errors.New("api: audit log: closed")
	}
	if _, err := l.f.Write(b); err != nil {
		return fmt.Errorf("api: audit log: %w", err)
	}
	if err := l.f.Sync(); err != nil {
		return fmt.Errorf("api: audit log: %w", err)
	}
	return nil
}

// Close closes the file; it is idempotent.
func (l *FileAuditLog) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	return l.f.Close()
}

// slogAudit is the audit log when none is configured: entries go to the logger,
// so state changes are never unrecorded.
type slogAudit struct{ log *slog.Logger }

func (a slogAudit) Record(ctx context.Context, e AuditEntry) error {
	a.log.LogAttrs(ctx, slog.LevelInfo, "api audit",
		slog.String("token", e.Token), slog.String("action", e.Action), slog.String("target", e.Target),
		slog.String("detail", e.Detail), slog.Int("status", e.Status), slog.String("result", e.Result),
		slog.String("error", e.Error), slog.String("source_ip", e.SourceIP))
	return nil
}

// auditRecord collects an entry while the request runs: the handler names the
// target and detail, the writer sees the status and error.
type auditRecord struct {
	target, detail string
}

type auditKey struct{}

// auditTarget names what a state-changing request acts on, and what it asks.
func auditTarget(r *http.Request, target, detail string) {
	if rec, ok := r.Context().Value(auditKey{}).(*auditRecord); ok {
		rec.target, rec.detail = clip(target, 256), clip(detail, 512)
	}
}

// statusWriter remembers the status and error message a handler answered, for the
// audit entry.
type statusWriter struct {
	http.ResponseWriter
	status int
	errMsg string
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// result names an HTTP status for the audit log.
func result(status int) string {
	switch {
	case status < 400:
		return "ok"
	case status == http.StatusUnauthorized:
		return "unauthorized"
	case status == http.StatusForbidden:
		return "forbidden"
	case status < 500:
		return "rejected"
	}
	return "failed"
}

// writeAudit records a state-changing request once it has been answered. It runs
// under context.WithoutCancel: a client that hung up after the action does not
// erase it from the log.
func (s *Server) writeAudit(r *http.Request, rt Route, id Identity, rec *auditRecord, w *statusWriter) {
	status := w.status
	if status == 0 {
		status = http.StatusOK
	}
	e := AuditEntry{
		Time:     s.now().UTC(),
		Token:    id.Name,
		Action:   rt.Action,
		Method:   r.Method,
		Path:     clip(r.URL.EscapedPath(), 512),
		Target:   rec.target,
		Detail:   rec.detail,
		Status:   status,
		Result:   result(status),
		Error:    w.errMsg,
		SourceIP: sourceIP(r),
	}
	if id.Role != RoleUnknown {
		e.Role = id.Role.String()
	}
	if err := s.audit.Record(context.WithoutCancel(r.Context()), e); err != nil {
		s.log.Error("api: audit entry not written", "err", err, "action", e.Action, "token", e.Token, "target", e.Target)
	}
}

// sourceIP is the peer's address. X-Forwarded-For is not read: anyone can send
// it, and a proxy in front should be the one logging client addresses.
func sourceIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// clip shortens s to at most n bytes, on a rune boundary, so an attacker cannot
// fill the audit log through a long path.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}
