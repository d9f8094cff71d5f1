package api

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

// routeCase is one route as the tests see it, written independently of
// routes.go: the least role it should need (RoleUnknown with public), a request
// that succeeds with that role, and the status of that success.
type routeCase struct {
	method, pattern string
	target          string // the concrete URL
	body            string // JSON, or a form when form is set
	form            bool
	public          bool
	role            Role
	want            int
}

func routeCases() []routeCase {
	const (
		v = RoleViewer
		s = RoleSupervisor
		a = RoleAdmin
	)
	return []routeCase{
		{method: "GET", pattern: "/healthz", target: "/healthz", public: true, want: 200},
		{method: "GET", pattern: "/readyz", target: "/readyz", public: true, want: 200},
		{method: "GET", pattern: "/api/v1/openapi.yaml", target: "/api/v1/openapi.yaml", public: true, want: 200},

		{method: "GET", pattern: "/api/v1/calls", target: "/api/v1/calls", role: v, want: 200},
		{method: "GET", pattern: "/api/v1/calls/{id}", target: "/api/v1/calls/c1", role: v, want: 200},
		{method: "POST", pattern: "/api/v1/calls/{id}/hangup", target: "/api/v1/calls/c1/hangup", role: s, want: 204},
		{method: "POST", pattern: "/api/v1/calls/{id}/monitor", target: "/api/v1/calls/c1/monitor", body: `{"mode":"listen","supervisor":"1009"}`, role: s, want: 202},
		{method: "POST", pattern: "/api/v1/calls/{id}/transfer", target: "/api/v1/calls/c1/transfer", body: `{"to":"bob","mode":"attended"}`, role: s, want: 202},
		{method: "POST", pattern: "/api/v1/calls/{id}/transfer/complete", target: "/api/v1/calls/c1/transfer/complete", role: s, want: 204},
		{method: "POST", pattern: "/api/v1/calls/{id}/transfer/cancel", target: "/api/v1/calls/c1/transfer/cancel", role: s, want: 204},
		{method: "POST", pattern: "/api/v1/calls", target: "/api/v1/calls", body: `{"to":"+8613800000003","flow":"reminder","vars":{"due":"2026-06-01"}}`, role: a, want: 202},

		{method: "GET", pattern: "/api/v1/records", target: "/api/v1/records?caller=%2B86138*&limit=10", role: v, want: 200},
		{method: "GET", pattern: "/api/v1/records/{id}", target: "/api/v1/records/c1", role: v, want: 200},
		{method: "GET", pattern: "/api/v1/recordings/{name...}", target: "/api/v1/recordings/2026/05/22/c1.wav", role: v, want: 200},

		{method: "GET", pattern: "/api/v1/queues", target: "/api/v1/queues", role: v, want: 200},
		{method: "GET", pattern: "/api/v1/queues/{queue}", target: "/api/v1/queues/billing", role: v, want: 200},
		{method: "GET", pattern: "/api/v1/queues/{queue}/figures", target: "/api/v1/queues/billing/figures?from=2026-05-21&to=2026-05-22", role: v, want: 200},
		{method: "GET", pattern: "/api/v1/figures", target: "/api/v1/figures", role: v, want: 200},
		{method: "GET", pattern: "/api/v1/agents", target: "/api/v1/agents", role: v, want: 200},
		{method: "GET", pattern: "/api/v1/agents/{id}", target: "/api/v1/agents/alice", role: v, want: 200},
		{method: "PUT", pattern: "/api/v1/agents/{id}/presence", target: "/api/v1/agents/alice/presence", body: `{"presence":"break","reason":"lunch"}`, role: s, want: 204},
		{method: "POST", pattern: "/api/v1/agents/{id}/ready", target: "/api/v1/agents/bob/ready", role: s, want: 204},
		{method: "POST", pattern: "/api/v1/agents", target: "/api/v1/agents", body: `{"id":"dave","name":"Dave","extension":"2004","skills":{"billing":3},"password":"s3cret-2004"}`, role: a, want: 201},
		{method: "PUT", pattern: "/api/v1/agents/{id}", target: "/api/v1/agents/bob", body: `{"name":"Bob B.","extension":"2002","skills":{"billing":2}}`, role: a, want: 200},
		{method: "DELETE", pattern: "/api/v1/agents/{id}", target: "/api/v1/agents/carol", role: a, want: 204},
		{method: "PUT", pattern: "/api/v1/agents/{id}/skills", target: "/api/v1/agents/bob/skills", body: `{"skills":{"billing":4,"french":2}}`, role: s, want: 200},

		{method: "GET", pattern: "/api/v1/flows", target: "/api/v1/flows", role: v, want: 200},
		{method: "POST", pattern: "/api/v1/flows/reload", target: "/api/v1/flows/reload", role: a, want: 200},

		{method: "GET", pattern: "/api/v1/tickets", target: "/api/v1/tickets?status=open", role: v, want: 200},
		{method: "GET", pattern: "/api/v1/tickets/{id}", target: "/api/v1/tickets/TK-260522-7K3M9QX2AB", role: v, want: 200},
		{method: "PATCH", pattern: "/api/v1/tickets/{id}", target: "/api/v1/tickets/TK-260522-7K3M9QX2AB", body: `{"status":"resolved"}`, role: s, want: 200},
		{method: "GET", pattern: "/api/v1/surveys", target: "/api/v1/surveys?from=2026-05-01", role: v, want: 200},

		{method: "GET", pattern: "/api/v1/bans", target: "/api/v1/bans", role: v, want: 200},
		{method: "DELETE", pattern: "/api/v1/bans/{key}", target: "/api/v1/bans/203.0.113.7", role: a, want: 204},
		{method: "DELETE", pattern: "/api/v1/bans", target: "/api/v1/bans", role: a, want: 200},

		{method: "GET", pattern: "/wallboard", target: "/wallboard", role: v, want: 200},
		{method: "GET", pattern: "/api/v1/wallboard", target: "/api/v1/wallboard", role: v, want: 200},
		{method: "GET", pattern: "/api/v1/events/wallboard", target: "/api/v1/events/wallboard", role: v, want: 200},
		{method: "GET", pattern: "/wallboard/assets/{file}", target: "/wallboard/assets/wallboard.js", public: true, want: 200},
		{method: "POST", pattern: "/wallboard/login", target: "/wallboard/login", body: "token=" + url.QueryEscape(viewerToken), form: true, public: true, want: 303},
		{method: "POST", pattern: "/wallboard/logout", target: "/wallboard/logout", public: true, want: 303},
	}
}

// TestRouteCasesCoverEveryRoute keeps the matrix honest: a new route needs a
// case (and so a decision about its role) before the tests pass.
func TestRouteCasesCoverEveryRoute(t *testing.T) {
	s, _ := newServer(t)
	var have []string
	for _, c := range routeCases() {
		have = append(have, c.method+" "+c.pattern)
	}
	for _, rt := range s.Routes() {
		key := rt.Method + " " + rt.Path
		if !slices.Contains(have, key) {
			t.Errorf("route %s has no case in routeCases", key)
		}
		i := slices.Index(have, key)
		if i < 0 {
			continue
		}
		c := routeCases()[i]
		if c.public != rt.Public || (!rt.Public && c.role != rt.Role) {
			t.Errorf("route %s: registered public=%v role=%s; the tests expect public=%v role=%s", key, rt.Public, rt.Role, c.public, c.role)
		}
	}
	if len(have) != len(s.Routes()) {
		t.Errorf("%d cases for %d routes", len(have), len(s.Routes()))
	}
}

// send runs a case's request with a credential: "" none, otherwise a bearer token.
// Streams are cut after a moment so the matrix can read them.
func (c routeCase) send(t *testing.T, h http.Handler, token string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(c.method, c.target, strings.NewReader(c.body))
	switch {
	case c.form:
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", "http://example.com")
	case c.body != "":
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	ctx, cancel := context.WithTimeout(req.Context(), 500*time.Millisecond)
	defer cancel()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req.WithContext(ctx))
	return w
}

// TestAuthMatrix sends every route's request with no token, an unknown token
// and each role's token: 401 (with WWW-Authenticate) without a known token, 403
// below the route's role, success from it up. Every JSON answer matches the spec,
// and every state-changing route writes exactly one audit entry per request.
func TestAuthMatrix(t *testing.T) {
	type who struct {
		name, token, tokenName string
		role                   Role
	}
	callers := []who{
		{"none", "", "", RoleUnknown},
		{"unknown", "not-a-token-not-a-token-xx", "", RoleUnknown},
		{"viewer", viewerToken, "noc", RoleViewer},
		{"supervisor", supervisorToken, "sup", RoleSupervisor},
		{"admin", adminToken, "ops", RoleAdmin},
	}
	actions := map[string]string{}
	probe, _ := newServer(t)
	for _, rt := range probe.Routes() {
		actions[rt.Method+" "+rt.Path] = rt.Action
	}
	for _, c := range routeCases() {
		for _, caller := range callers {
			t.Run(c.method+" "+c.pattern+"/"+caller.name, func(t *testing.T) {
				s, f := newServer(t) // fresh fakes: mutations do not leak between callers
				w := c.send(t, s, caller.token)
				want := c.want
				switch {
				case c.public:
				case caller.role == RoleUnknown:
					want = http.StatusUnauthorized
				case caller.role < c.role:
					want = http.StatusForbidden
				}
				if w.Code != want {
					t.Fatalf("status %d, want %d: %s", w.Code, want, clip(w.Body.String(), 400))
				}
				if want == http.StatusUnauthorized {
					wa := w.Header().Get("WWW-Authenticate")
					if !strings.HasPrefix(wa, "Bearer ") {
						t.Errorf("401 without a Bearer challenge: %q", wa)
					}
					if presented := caller.token != ""; presented != strings.Contains(wa, "invalid_token") {
						t.Errorf("WWW-Authenticate %q: invalid_token only when a token was presented", wa)
					}
				}
				if jsonAnswer(w.Header()) {
					checkShape(t, c.method, c.pattern, w.Code, w.Body.Bytes())
				}
				if w.Header().Get("X-Content-Type-Options") != "nosniff" {
					t.Error("no X-Content-Type-Options: nosniff")
				}
				entries := f.audit.all()
				action := actions[c.method+" "+c.pattern]
				if action == "" {
					if len(entries) != 0 {
						t.Errorf("read route wrote audit entries: %+v", entries)
					}
					return
				}
				if len(entries) != 1 {
					t.Fatalf("%d audit entries, want 1: %+v", len(entries), entries)
				}
				e := entries[0]
				wantResult := map[int]string{401: "unauthorized", 403: "forbidden"}[want]
				if wantResult == "" {
					wantResult = "ok"
				}
				wantToken := caller.tokenName
				if c.public {
					wantToken = "" // login: no bearer is read; who logged in is the target
				}
				if e.Action != action || e.Status != want || e.Result != wantResult || e.Token != wantToken ||
					e.Method != c.method || e.SourceIP != "192.0.2.1" || !e.Time.Equal(t0) {
					t.Errorf("audit entry %+v; want action %s status %d result %s token %q", e, action, want, wantResult, wantToken)
				}
				if want < 400 && e.Target == "" {
					t.Errorf("successful %s audited without a target: %+v", action, e)
				}
			})
		}
	}
}

// TestNotImplemented: a server without backends answers 501 on every backed
// route, after authentication, with a message naming what is missing.
func TestNotImplemented(t *testing.T) {
	s, err := New(WithTokens(testTokens(t)), WithAuditLog(&memAudit{}))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, c := range routeCases() {
		if c.public {
			continue
		}
		t.Run(c.method+" "+c.pattern, func(t *testing.T) {
			w := c.send(t, s, adminToken)
			if w.Code != http.StatusNotImplemented {
				t.Fatalf("status %d, want 501: %s", w.Code, w.Body.String())
			}
			msg, _ := decode(t, w)["error"].(string)
			if !strings.Contains(msg, "not implemented") || !strings.Contains(msg, "api.With") {
				t.Errorf("message %q does not say what is missing", msg)
			}
			checkShape(t, c.method, c.pattern, w.Code, w.Body.Bytes())
			if w := c.send(t, s, ""); w.Code != http.StatusUnauthorized {
				t.Errorf("without a token: %d, want 401 before 501", w.Code)
			}
		})
	}
}
