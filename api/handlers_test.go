package api

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// Behaviour of each route beyond the auth matrix: what reaches the backend, the
// answers' content, and the error statuses.

func TestCalls(t *testing.T) {
	s, f := newServer(t)
	w := do(t, s, "GET", "/api/v1/calls", viewerToken, "")
	m := decode(t, w)
	calls := m["calls"].([]any)
	if len(calls) != 2 {
		t.Fatalf("%d calls, want 2", len(calls))
	}
	first := calls[0].(map[string]any)
	if first["id"] != "c1" || first["duration_seconds"] != 90.0 || first["stage"] != "ivr" {
		t.Errorf("first call (oldest first) = %v", first)
	}
	if _, ok := calls[1].(map[string]any)["answered_at"]; ok {
		t.Error("unanswered call has answered_at")
	}

	if w := do(t, s, "GET", "/api/v1/calls/nope", viewerToken, ""); w.Code != 404 {
		t.Errorf("unknown call: %d", w.Code)
	}
	if w := do(t, s, "GET", "/api/v1/calls?stage=ivr", viewerToken, ""); w.Code != 400 {
		t.Errorf("unknown parameter: %d, want 400", w.Code)
	}

	// Hang-up: default reason, a given reason, a bad reason, an unknown call.
	if w := do(t, s, "POST", "/api/v1/calls/c1/hangup", supervisorToken, ""); w.Code != 204 {
		t.Fatalf("hangup: %d %s", w.Code, w.Body.String())
	}
	if w := do(t, s, "POST", "/api/v1/calls/c2/hangup", supervisorToken, `{"reason":"supervisor_ended"}`); w.Code != 204 {
		t.Fatalf("hangup with reason: %d %s", w.Code, w.Body.String())
	}
	for _, body := range []string{`{"reason":"Bad Reason!"}`, `{"cause":"x"}`, `{"reason":"a"} {}`, `[1]`} {
		if w := do(t, s, "POST", "/api/v1/calls/c1/hangup", supervisorToken, body); w.Code != 400 {
			t.Errorf("hangup body %s: %d, want 400", body, w.Code)
		}
	}
	if w := do(t, s, "POST", "/api/v1/calls/zz/hangup", supervisorToken, ""); w.Code != 404 {
		t.Errorf("hangup unknown: %d", w.Code)
	}
	if want := []string{"c1:api_hangup", "c2:supervisor_ended"}; !slices.Equal(f.calls.hungup, want) {
		t.Errorf("hung up %v, want %v", f.calls.hungup, want)
	}
	audit := f.audit.all()
	if e := audit[1]; e.Target != "c2" || e.Detail != "reason=supervisor_ended" || e.Token != "sup" || e.Role != "supervisor" {
		t.Errorf("audit entry %+v", e)
	}
	if e := audit[len(audit)-1]; e.Status != 404 || e.Result != "rejected" || !strings.Contains(e.Error, "not found") {
		t.Errorf("failed hang-up audited as %+v", e)
	}
}

func TestOriginate(t *testing.T) {
	s, f := newServer(t)
	w := do(t, s, "POST", "/api/v1/calls", adminToken, `{"to":"+8613800000003","from":"10086","flow":"reminder","vars":{"due":"2026-06-01"},"ring_timeout_seconds":30}`)
	if w.Code != 202 || w.Header().Get("Location") != "/api/v1/calls/out-1" || decode(t, w)["call_id"] != "out-1" {
		t.Fatalf("originate: %d %v %s", w.Code, w.Header(), w.Body.String())
	}
	got := f.originator.got[0]
	if got.To != "+8613800000003" || got.From != "10086" || got.Vars["due"] != "2026-06-01" || got.RingTimeout.Std() != 30*time.Second {
		t.Errorf("backend got %+v", got)
	}
	e := f.audit.all()[0]
	if e.Action != "call.originate" || e.Target != "out-1" || e.Detail != "to=+8613800000003 flow=reminder" {
		t.Errorf("audit %+v", e)
	}
	for body, want := range map[string]string{
		`{"flow":"reminder"}`:                                                             "to",
		`{"to":"1 2","flow":"reminder"}`:                                                  "to",
		`{"to":"123"}`:                                                                    "flow",
		`{"to":"123","flow":"reminder","vars":{"1x":"a"}}`:                                "not a variable name",
		`{"to":"123","flow":"reminder","ring_timeout_seconds":9999}`:                      "ring_timeout_seconds",
		`{"to":"123","flow":"reminder","ring_timeout_seconds":"x"}`:                       "body",
		`{"to":"123","flow":"reminder","unknown":1}`:                                      "unknown field",
		`{"to":"123","flow":"nope"}`:                                                      "not loaded",
		`{"to":"123","flow":"reminder","from":"<sip:evil>"}`:                              "from",
		`{"to":"123","flow":"reminder","vars":{"a":"` + strings.Repeat("x", 2000) + `"}}`: "vars.a",
	} {
		w := do(t, s, "POST", "/api/v1/calls", adminToken, body)
		if msg, _ := decode(t, w)["error"].(string); w.Code != 400 || !strings.Contains(msg, want) {
			t.Errorf("body %.60s: %d %q, want 400 mentioning %q", body, w.Code, msg, want)
		}
	}
	// Several problems are reported together.
	w = do(t, s, "POST", "/api/v1/calls", adminToken, `{"to":"","flow":""}`)
	if msg := decode(t, w)["error"].(string); !strings.Contains(msg, "to") || !strings.Contains(msg, "flow") {
		t.Errorf("both problems not reported: %q", msg)
	}
	// Wrong content type, oversized body.
	req := do(t, s, "POST", "/api/v1/calls", adminToken, "")
	if req.Code != http.StatusUnsupportedMediaType {
		t.Errorf("no body: %d, want 415", req.Code)
	}
	if w := do(t, s, "POST", "/api/v1/calls", adminToken, `{"to":"`+strings.Repeat("1", 70000)+`"}`); w.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("huge body: %d, want 413", w.Code)
	}
	f.originator.err = fmt.Errorf("at capacity: %w", ErrUnavailable)
	if w := do(t, s, "POST", "/api/v1/calls", adminToken, `{"to":"123","flow":"reminder"}`); w.Code != 503 || w.Header().Get("Retry-After") == "" {
		t.Errorf("over capacity: %d %v", w.Code, w.Header())
	}
}

func TestRecords(t *testing.T) {
	s, f := newServer(t)
	f.records.next = "cur-2"
	w := do(t, s, "GET", "/api/v1/records?caller=%2B86138*&state=ended&from=2026-05-01&to=2026-05-23T00:00:00%2B08:00&limit=10", viewerToken, "")
	if w.Code != 200 {
		t.Fatalf("%d %s", w.Code, w.Body.String())
	}
	q := f.records.queries[0]
	if q.Caller != "+86138*" || q.State != "ended" || q.Limit != 10 || !q.From.Equal(time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)) ||
		!q.To.Equal(time.Date(2026, 5, 22, 16, 0, 0, 0, time.UTC)) {
		t.Errorf("backend query %+v", q)
	}
	m := decode(t, w)
	recs := m["records"].([]any)
	if len(recs) != 1 || recs[0].(map[string]any)["duration_seconds"] != 180.0 || recs[0].(map[string]any)["wait_seconds"] != 12.5 {
		t.Errorf("records %v", recs)
	}
	next, _ := m["next_url"].(string)
	if !strings.Contains(next, "cursor=cur-2") || !strings.Contains(next, "caller=%2B86138%2A") {
		t.Errorf("next_url %q", next)
	}
	// The next page's URL reads back to the same filter.
	if w := do(t, s, "GET", next, viewerToken, ""); w.Code != 200 {
		t.Errorf("next page: %d", w.Code)
	} else if q2 := f.records.queries[1]; q2.Cursor != "cur-2" || q2.Caller != q.Caller || !q2.To.Equal(q.To) {
		t.Errorf("next page query %+v", q2)
	}
	for _, bad := range []string{"?queu=billing", "?limit=0", "?limit=5000", "?from=yesterday", "?caller=1*2",
		"?state=gone", "?from=2026-05-02&to=2026-05-01", "?queue=a&queue=b", "?cursor=bad", "?queue="} {
		w := do(t, s, "GET", "/api/v1/records"+bad, viewerToken, "")
		if w.Code != 400 {
			t.Errorf("%s: %d, want 400", bad, w.Code)
		}
		checkShape(t, "GET", "/api/v1/records", w.Code, w.Body.Bytes())
	}

	w = do(t, s, "GET", "/api/v1/records/c1", viewerToken, "")
	m = decode(t, w)
	if tl := m["timeline"].([]any); len(tl) != 3 || m["vars"].(map[string]any)["account"] != "123" {
		t.Errorf("record detail %v", m)
	}
	if w := do(t, s, "GET", "/api/v1/records/missing", viewerToken, ""); w.Code != 404 {
		t.Errorf("missing record: %d", w.Code)
	}
}

func TestQueues(t *testing.T) {
	s, f := newServer(t)
	m := decode(t, do(t, s, "GET", "/api/v1/queues", viewerToken, ""))
	qs := m["queues"].([]any)
	if len(qs) != 2 {
		t.Fatalf("queues %v", qs)
	}
	billing := qs[0].(map[string]any)
	today := billing["today"].(map[string]any)
	if billing["waiting"] != 3.0 || billing["longest_wait_seconds"] != 83.0 || today["service_level"] != 0.85 || today["asa_seconds"] != 12.0 {
		t.Errorf("billing %v", billing)
	}
	// Default targets fill in; a queue's own targets are kept.
	if tg := today["targets"].(map[string]any); tg["service_level"] != 0.8 || tg["service_level_threshold_seconds"] != 20.0 || tg["abandon_rate"] != 0.05 {
		t.Errorf("default targets %v", tg)
	}
	ctg := qs[1].(map[string]any)["today"].(map[string]any)["targets"].(map[string]any)
	if ctg["service_level"] != 0.9 || ctg["abandon_rate"] != 0.03 || ctg["answer_rate"] != 0.95 {
		t.Errorf("complaints targets %v", ctg)
	}
	if qs[1].(map[string]any)["estimated_wait_seconds"] != nil {
		t.Error("unknown estimate is not null")
	}

	if w := do(t, s, "GET", "/api/v1/queues/nope", viewerToken, ""); w.Code != 404 {
		t.Errorf("unknown queue: %d", w.Code)
	}
	if w := do(t, s, "GET", "/api/v1/queues/nope/figures", viewerToken, ""); w.Code != 404 {
		t.Errorf("figures of an unknown queue: %d", w.Code)
	}
	w := do(t, s, "GET", "/api/v1/queues/billing/figures?from=2026-05-21T00:00:00Z&to=2026-05-22T00:00:00Z", viewerToken, "")
	if w.Code != 200 || len(f.queues.spans) != 1 || !f.queues.spans[0][0].Equal(time.Date(2026, 5, 21, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("span figures: %d %v", w.Code, f.queues.spans)
	}
	// from alone runs to now; to alone is an error; neither is today.
	do(t, s, "GET", "/api/v1/figures?from=2026-05-22", viewerToken, "")
	if sp := f.queues.spans[1]; !sp[1].Equal(t0) {
		t.Errorf("from alone: to = %v, want now", sp[1])
	}
	if w := do(t, s, "GET", "/api/v1/figures?to=2026-05-22", viewerToken, ""); w.Code != 400 {
		t.Errorf("to alone: %d", w.Code)
	}
	m = decode(t, do(t, s, "GET", "/api/v1/figures", viewerToken, ""))
	if m["queue"] != "" || m["service_level"] != nil || len(f.queues.spans) != 2 {
		t.Errorf("today, all queues: %v (spans %d)", m, len(f.queues.spans))
	}
}

func TestAgents(t *testing.T) {
	s, f := newServer(t)
	m := decode(t, do(t, s, "GET", "/api/v1/agents/carol", viewerToken, ""))
	if m["state"] != "break" || m["reason"] != "lunch" {
		t.Errorf("carol %v", m)
	}
	if w := do(t, s, "GET", "/api/v1/agents/zed", viewerToken, ""); w.Code != 404 {
		t.Errorf("unknown agent: %d", w.Code)
	}
	for _, tc := range []struct {
		body string
		want int
	}{
		{`{"presence":"available"}`, 204},
		{`{"presence":"break","reason":"training"}`, 204},
		{`{"presence":"offline"}`, 204},
		{`{"presence":"on_call"}`, 400},
		{`{"presence":"available","reason":"x"}`, 400},
		{`{"presence":"break","reason":"a\u0000b"}`, 400},
		{`{}`, 400},
	} {
		if w := do(t, s, "PUT", "/api/v1/agents/alice/presence", supervisorToken, tc.body); w.Code != tc.want {
			t.Errorf("presence %s: %d, want %d", tc.body, w.Code, tc.want)
		}
	}
	if w := do(t, s, "PUT", "/api/v1/agents/zed/presence", supervisorToken, `{"presence":"offline"}`); w.Code != 404 {
		t.Errorf("unknown agent presence: %d", w.Code)
	}
	want := []string{"alice:available:", "alice:break:training", "alice:offline:"}
	if !slices.Equal(f.agents.presence, want) {
		t.Errorf("presence calls %v, want %v", f.agents.presence, want)
	}
	if w := do(t, s, "POST", "/api/v1/agents/alice/ready", supervisorToken, ""); w.Code != 409 {
		t.Errorf("ready while on call: %d, want 409", w.Code)
	}
	audit := f.audit.all()
	if e := audit[1]; e.Detail != "presence=break reason=training" || e.Target != "alice" {
		t.Errorf("audit %+v", e)
	}
}

func TestFlowsReload(t *testing.T) {
	s, f := newServer(t)
	if w := do(t, s, "POST", "/api/v1/flows/reload", adminToken, ""); w.Code != 200 {
		t.Fatalf("reload: %d", w.Code)
	}
	f.flows.refuse = true
	w := do(t, s, "POST", "/api/v1/flows/reload", adminToken, "")
	if w.Code != http.StatusUnprocessableEntity {
		t.Fatalf("refused reload: %d", w.Code)
	}
	checkShape(t, "POST", "/api/v1/flows/reload", w.Code, w.Body.Bytes())
	m := decode(t, w)
	probs := m["problems"].([]any)
	if len(probs) != 2 || probs[0].(map[string]any)["line"] != 12.0 || !strings.Contains(m["error"].(string), "keep serving") {
		t.Errorf("refusal %v", m)
	}
	e := f.audit.all()[1]
	if e.Action != "flows.reload" || e.Status != 422 || e.Result != "rejected" {
		t.Errorf("audit %+v", e)
	}
	if (&ValidationError{Problems: []Problem{{File: "f.yaml", Line: 3, Col: 4, Message: "bad"}, {Message: "worse"}}}).Error() !=
		"flows refused: 2 problem(s)\nf.yaml:3:4: bad\nworse" {
		t.Error("ValidationError.Error format")
	}
}

func TestTicketsAndSurveys(t *testing.T) {
	s, f := newServer(t)
	m := decode(t, do(t, s, "GET", "/api/v1/tickets?status=open&caller=%2B8613800000001&limit=5", viewerToken, ""))
	if q := f.tickets.queries[0]; q.Status != TicketOpen || q.Caller != "+8613800000001" || q.Limit != 5 {
		t.Errorf("ticket query %+v", q)
	}
	if next := m["next_url"].(string); !strings.Contains(next, "cursor=cur2") || !strings.Contains(next, "status=open") {
		t.Errorf("next_url %q", next)
	}
	if w := do(t, s, "GET", "/api/v1/tickets?status=lost", viewerToken, ""); w.Code != 400 {
		t.Errorf("bad status filter: %d", w.Code)
	}
	if w := do(t, s, "PATCH", "/api/v1/tickets/TK-260522-7K3M9QX2AB", supervisorToken, `{"status":"done"}`); w.Code != 400 {
		t.Errorf("bad status: %d", w.Code)
	}
	m = decode(t, do(t, s, "PATCH", "/api/v1/tickets/TK-260522-7K3M9QX2AB", supervisorToken, `{"status":"in_progress"}`))
	if m["status"] != "in_progress" {
		t.Errorf("updated ticket %v", m)
	}
	if w := do(t, s, "PATCH", "/api/v1/tickets/TK-X", supervisorToken, `{"status":"closed"}`); w.Code != 404 {
		t.Errorf("unknown ticket: %d", w.Code)
	}
	if w := do(t, s, "GET", "/api/v1/tickets/TK-X", viewerToken, ""); w.Code != 404 {
		t.Errorf("unknown ticket: %d", w.Code)
	}

	m = decode(t, do(t, s, "GET", "/api/v1/surveys?call_id=c1&limit=3", viewerToken, ""))
	sum := m["summary"].(map[string]any)
	if sum["count"] != 3.0 || fmt.Sprintf("%.4f", sum["mean"]) != "3.6667" || fmt.Sprint(sum["by_score"]) != "[0 1 0 1 1]" || m["truncated"] != true {
		t.Errorf("survey answer %v", m)
	}
	if q := f.surveys.queries[0]; q.CallID != "c1" || q.Limit != 3 {
		t.Errorf("survey query %+v", q)
	}
	if summarize(nil).Mean != nil {
		t.Error("mean of nothing is not null")
	}
}

func TestBans(t *testing.T) {
	s, f := newServer(t)
	if w := do(t, s, "DELETE", "/api/v1/bans/%2B15550001111", adminToken, ""); w.Code != 204 {
		t.Fatalf("unban escaped key: %d %s", w.Code, w.Body.String())
	}
	if w := do(t, s, "DELETE", "/api/v1/bans/198.51.100.1", adminToken, ""); w.Code != 404 {
		t.Errorf("unknown ban: %d", w.Code)
	}
	m := decode(t, do(t, s, "DELETE", "/api/v1/bans", adminToken, ""))
	if m["cleared"] != 1.0 || len(f.bans.bans) != 0 {
		t.Errorf("clear all %v, left %v", m, f.bans.bans)
	}
	e := f.audit.all()
	if e[0].Target != "+15550001111" || e[2].Detail != "cleared=1" {
		t.Errorf("audit %+v", e)
	}
}

func TestHealth(t *testing.T) {
	s, f := newServer(t)
	if m := decode(t, do(t, s, "GET", "/healthz", "", "")); m["status"] != "alive" {
		t.Errorf("healthz %v", m)
	}
	if w := do(t, s, "HEAD", "/readyz", "", ""); w.Code != 200 {
		t.Errorf("HEAD readyz: %d", w.Code)
	}
	f.ready.set(errors.New("draining"))
	w := do(t, s, "GET", "/readyz", "", "")
	if w.Code != 503 || w.Header().Get("Retry-After") == "" || decode(t, w)["error"] != "not ready: draining" {
		t.Errorf("draining: %d %s", w.Code, w.Body.String())
	}
	checkShape(t, "GET", "/readyz", w.Code, w.Body.Bytes())
	if m := decode(t, do(t, s, "GET", "/healthz", "", "")); m["status"] != "alive" {
		t.Errorf("draining engine is still alive: %v", m)
	}
	// Without a Readiness, ready whenever alive.
	bare, err := New()
	if err != nil {
		t.Fatal(err)
	}
	defer bare.Close()
	if w := do(t, bare, "GET", "/readyz", "", ""); w.Code != 200 {
		t.Errorf("no readiness: %d", w.Code)
	}
}

func TestErrorsAreJSON(t *testing.T) {
	s, f := newServer(t)
	for _, tc := range []struct {
		method, target string
		status         int
	}{
		{"GET", "/nothing", 404},
		{"GET", "/api/v1/nothing", 404},
		{"DELETE", "/api/v1/calls", 405},
		{"PUT", "/api/v1/flows/reload", 405},
	} {
		w := do(t, s, tc.method, tc.target, adminToken, "")
		if w.Code != tc.status || !jsonAnswer(w.Header()) || decode(t, w)["error"] == "" {
			t.Errorf("%s %s: %d %q %s", tc.method, tc.target, w.Code, w.Header().Get("Content-Type"), w.Body.String())
		}
	}
	if w := do(t, s, "DELETE", "/api/v1/calls", adminToken, ""); !strings.Contains(w.Header().Get("Allow"), "POST") {
		t.Errorf("405 without Allow: %v", w.Header())
	}
	// A backend failure without a sentinel is a 500 that hides its detail.
	f.calls.mu.Lock() // the wallboard sampler reads it too
	f.calls.err = errors.New("sqlite: disk I/O error at /var/lib/hotline/secret.db")
	f.calls.mu.Unlock()
	w := do(t, s, "GET", "/api/v1/calls", viewerToken, "")
	if w.Code != 500 || strings.Contains(w.Body.String(), "secret.db") {
		t.Errorf("internal error: %d %s", w.Code, w.Body.String())
	}
	checkShape(t, "GET", "/api/v1/calls", w.Code, w.Body.Bytes())
	// Path values must be text.
	if w := do(t, s, "GET", "/api/v1/agents/a%00b", viewerToken, ""); w.Code != 400 {
		t.Errorf("NUL in id: %d", w.Code)
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	if _, err := New(WithWallboardInterval(0), WithClock(nil)); err == nil ||
		!strings.Contains(err.Error(), "interval") || !strings.Contains(err.Error(), "clock") {
		t.Errorf("New with bad options: %v", err)
	}
}

func TestDurationJSON(t *testing.T) {
	for d, want := range map[Duration]string{
		0: "0", Duration(1500 * time.Millisecond): "1.5", Duration(83 * time.Second): "83",
		Duration(1234567 * time.Microsecond): "1.235", Duration(-2 * time.Second): "-2",
	} {
		if b, _ := d.MarshalJSON(); string(b) != want {
			t.Errorf("%v → %s, want %s", d.Std(), b, want)
		}
	}
	var d Duration
	if err := d.UnmarshalJSON([]byte("2.25")); err != nil || d.Std() != 2250*time.Millisecond {
		t.Errorf("2.25 → %v %v", d.Std(), err)
	}
	for _, bad := range []string{`"2s"`, "1e300", "null x"} {
		if err := d.UnmarshalJSON([]byte(bad)); err == nil {
			t.Errorf("%s decoded", bad)
		}
	}
	if Ratio(0.5, false) != nil || *Ratio(0.5, true) != 0.5 || DurationOf(time.Second, false) != nil {
		t.Error("Ratio/DurationOf")
	}
}
