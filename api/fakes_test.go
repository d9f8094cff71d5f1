package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// Hand-written fakes of every backend. Each records what it was asked, so tests
// can check the API passed the request on as it should.

// t0 is the fakes' "now": the tests' fixed clock.
var t0 = time.Date(2026, 5, 22, 9, 30, 0, 0, time.UTC)

type fakeCalls struct {
	mu     sync.Mutex
	calls  []ActiveCall
	hungup []string // "id:reason"
	err    error

	monitored   []MonitorRequest
	transferred []string // "id:mode:to", "id:complete", "id:cancel"
}

func (f *fakeCalls) ActiveCalls(context.Context) ([]ActiveCall, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]ActiveCall(nil), f.calls...), f.err
}

func (f *fakeCalls) ActiveCall(_ context.Context, id string) (ActiveCall, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.calls {
		if c.ID == id {
			return c, nil
		}
	}
	return ActiveCall{}, fmt.Errorf("call %q: %w", id, ErrNotFound)
}

func (f *fakeCalls) Hangup(_ context.Context, id, reason string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.calls {
		if c.ID == id {
			f.hungup = append(f.hungup, id+":"+reason)
			return nil
		}
	}
	return fmt.Errorf("call %q: %w", id, ErrNotFound)
}

// Monitor implements CallMonitor: a known call is joined (ErrConflict for one
// without an agent: id "queued").
func (f *fakeCalls) Monitor(ctx context.Context, id string, req MonitorRequest) (MonitorStarted, error) {
	if _, err := f.ActiveCall(ctx, id); err != nil {
		return MonitorStarted{}, err
	}
	if id == "queued" {
		return MonitorStarted{}, fmt.Errorf("%w: call %s is not talking to an agent", ErrConflict, id)
	}
	f.mu.Lock()
	f.monitored = append(f.monitored, req)
	f.mu.Unlock()
	return MonitorStarted{CallID: id, Mode: req.Mode, Supervisor: req.Supervisor, Contact: "sip:1009@127.0.0.1:5070"}, nil
}

// Transfer implements CallTransferer: a known call is transferred (ErrConflict for
// one without an agent: id "queued").
func (f *fakeCalls) Transfer(ctx context.Context, id string, req TransferRequest) (TransferStarted, error) {
	if err := f.transfer(ctx, id, req.Mode+":"+req.To); err != nil {
		return TransferStarted{}, err
	}
	return TransferStarted{CallID: id, To: req.To, Mode: req.Mode}, nil
}

// CompleteTransfer implements CallTransferer.
func (f *fakeCalls) CompleteTransfer(ctx context.Context, id string) error {
	return f.transfer(ctx, id, "complete")
}

// CancelTransfer implements CallTransferer.
func (f *fakeCalls) CancelTransfer(ctx context.Context, id string) error {
	return f.transfer(ctx, id, "cancel")
}

func (f *fakeCalls) transfer(ctx context.Context, id, what string) error {
	if _, err := f.ActiveCall(ctx, id); err != nil {
		return err
	}
	if id == "queued" {
		return fmt.Errorf("%w: call %s is not talking to an agent", ErrConflict, id)
	}
	f.mu.Lock()
	f.transferred = append(f.transferred, id+":"+what)
	f.mu.Unlock()
	return nil
}

type fakeOriginator struct {
	mu  sync.Mutex
	got []OriginateRequest
	err error
}

func (f *fakeOriginator) Originate(_ context.Context, req OriginateRequest) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return "", f.err
	}
	if req.Flow != "reminder" {
		return "", fmt.Errorf("flow %q is not loaded: %w", req.Flow, ErrInvalid)
	}
	f.got = append(f.got, req)
	return fmt.Sprintf("out-%d", len(f.got)), nil
}

type fakeRecords struct {
	mu      sync.Mutex
	records []CallRecord
	queries []RecordQuery
	next    string
}

func (f *fakeRecords) SearchRecords(_ context.Context, q RecordQuery) (RecordPage, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.queries = append(f.queries, q)
	if q.Cursor == "bad" {
		return RecordPage{}, fmt.Errorf("cursor: %w", ErrInvalid)
	}
	var out []CallRecord
	for _, r := range f.records {
		if q.Caller == "" || r.Caller == q.Caller || strings.HasSuffix(q.Caller, "*") && strings.HasPrefix(r.Caller, strings.TrimSuffix(q.Caller, "*")) {
			out = append(out, r)
		}
	}
	return RecordPage{Records: out, Next: f.next}, nil
}

func (f *fakeRecords) Record(_ context.Context, id string) (CallRecord, error) {
	for _, r := range f.records {
		if r.ID == id {
			return r, nil
		}
	}
	return CallRecord{}, fmt.Errorf("record %q: %w", id, ErrNotFound)
}

func (f *fakeRecords) Timeline(_ context.Context, id string) ([]TimelineEvent, error) {
	if id != "c1" {
		return nil, nil
	}
	return []TimelineEvent{
		{At: t0, Kind: "sip", Name: "INVITE", Detail: "from +8613800000001"},
		{At: t0.Add(time.Second), Kind: "node", Name: "welcome", Detail: "say", Data: json.RawMessage(`{"ok":true}`)},
		{At: t0.Add(30 * time.Second), Kind: "queue", Name: "CONNECT", Detail: "queue billing, agent alice, waited 12.5s"},
	}, nil
}

type fakeQueues struct {
	mu    sync.Mutex
	spans [][2]time.Time
	err   error
}

var queueNames = []string{"billing", "complaints"}

func (f *fakeQueues) QueueNames(context.Context) ([]string, error) { return queueNames, f.err }

func (f *fakeQueues) QueueStatus(_ context.Context, q string) (QueueStatus, error) {
	switch q {
	case "billing":
		est := Duration(45 * time.Second)
		return QueueStatus{Queue: q, Waiting: 3, LongestWait: Duration(83 * time.Second), AgentsStaffed: 5, AgentsAvailable: 1, EstimatedWait: &est}, nil
	case "complaints":
		return QueueStatus{Queue: q, Waiting: 1, LongestWait: Duration(7 * time.Second), AgentsStaffed: 2}, nil
	}
	return QueueStatus{}, fmt.Errorf("queue %q: %w", q, ErrNotFound)
}

func (f *fakeQueues) figures(q string, from, to time.Time) QueueFigures {
	switch q {
	case "billing":
		// 17 of 20 answered within T_sl, none abandoned: SL 85 %.
		return QueueFigures{Queue: q, From: from, To: to, Offered: 21, Answered: 20, AnsweredInSL: 17, ShortAbandoned: 1,
			ServiceLevel: Ratio(0.85, true), AnswerRate: Ratio(1, true), AbandonRate: Ratio(0, true),
			ASA: DurationOf(12*time.Second, true), AHT: DurationOf(200*time.Second, true), Occupancy: Ratio(0.7, true)}
	case "complaints":
		// 6 of 10 in SL, 2 abandoned: SL 6/(8+2) = 60 %, abandonment 2/10 = 20 %.
		return QueueFigures{Queue: q, From: from, To: to, Offered: 10, Answered: 8, AnsweredInSL: 6, Abandoned: 2,
			ServiceLevel: Ratio(0.6, true), AnswerRate: Ratio(0.8, true), AbandonRate: Ratio(0.2, true),
			ASA:     DurationOf(31500*time.Millisecond, true),
			Targets: Targets{ServiceLevel: 0.9, ServiceLevelThreshold: Duration(30 * time.Second), AbandonRate: 0.03}}
	}
	return QueueFigures{Queue: q, From: from, To: to}
}

func (f *fakeQueues) QueueFigures(_ context.Context, q string, from, to time.Time) (QueueFigures, error) {
	f.mu.Lock()
	f.spans = append(f.spans, [2]time.Time{from, to})
	f.mu.Unlock()
	return f.figures(q, from, to), nil
}

func (f *fakeQueues) QueueToday(_ context.Context, q string) (QueueFigures, error) {
	return f.figures(q, t0.Truncate(24*time.Hour), t0), nil
}

type fakeAgents struct {
	mu       sync.Mutex
	agents   []AgentStatus
	presence []string // "id:presence:reason"
	ready    []string
}

func (f *fakeAgents) Agents(context.Context) ([]AgentStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]AgentStatus(nil), f.agents...), nil
}

func (f *fakeAgents) find(id string) int {
	for i, a := range f.agents {
		if a.ID == id {
			return i
		}
	}
	return -1
}

func (f *fakeAgents) SetPresence(_ context.Context, id string, p Presence, reason string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.find(id) < 0 {
		return fmt.Errorf("agent %q: %w", id, ErrNotFound)
	}
	f.presence = append(f.presence, id+":"+string(p)+":"+reason)
	return nil
}

func (f *fakeAgents) Ready(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	i := f.find(id)
	if i < 0 {
		return fmt.Errorf("agent %q: %w", id, ErrNotFound)
	}
	if f.agents[i].Activity != "wrap_up" {
		return fmt.Errorf("agent %q is not in wrap-up: %w", id, ErrConflict)
	}
	f.ready = append(f.ready, id)
	return nil
}

type fakeFlows struct {
	mu      sync.Mutex
	refuse  bool
	reloads int
}

func (f *fakeFlows) list() []FlowInfo {
	return []FlowInfo{{Name: "hotline", Version: "sha256:ab12", File: "flows/hotline.yaml", LoadedAt: t0, Default: true}}
}

func (f *fakeFlows) Flows(context.Context) ([]FlowInfo, error) { return f.list(), nil }

func (f *fakeFlows) Reload(context.Context) ([]FlowInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reloads++
	if f.refuse {
		return nil, fmt.Errorf("reload: %w", &ValidationError{Problems: []Problem{
			{File: "flows/hotline.yaml", Line: 12, Col: 5, Message: `unknown node "welcom"`},
			{File: "flows/hotline.yaml", Line: 30, Col: 7, Message: "outcome timeout is not routed"},
		}})
	}
	return f.list(), nil
}

type fakeTickets struct {
	mu      sync.Mutex
	tickets []Ticket
	queries []TicketQuery
}

func (f *fakeTickets) Tickets(_ context.Context, q TicketQuery) (TicketPage, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.queries = append(f.queries, q)
	return TicketPage{Tickets: append([]Ticket(nil), f.tickets...), Next: "cur2"}, nil
}

func (f *fakeTickets) Ticket(_ context.Context, id string) (Ticket, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, t := range f.tickets {
		if t.ID == id {
			return t, nil
		}
	}
	return Ticket{}, fmt.Errorf("ticket %q: %w", id, ErrNotFound)
}

func (f *fakeTickets) SetTicketStatus(_ context.Context, id string, s TicketStatus) (Ticket, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, t := range f.tickets {
		if t.ID == id {
			f.tickets[i].Status, f.tickets[i].UpdatedAt = s, t0
			return f.tickets[i], nil
		}
	}
	return Ticket{}, fmt.Errorf("ticket %q: %w", id, ErrNotFound)
}

type fakeSurveys struct {
	mu      sync.Mutex
	queries []SurveyQuery
}

func (f *fakeSurveys) SurveyResults(_ context.Context, q SurveyQuery) ([]SurveyResult, error) {
	f.mu.Lock()
	f.queries = append(f.queries, q)
	f.mu.Unlock()
	return []SurveyResult{
		{CallID: "c1", At: t0, Node: "survey", Var: "satisfaction", Score: 5},
		{CallID: "c2", At: t0, Node: "survey", Var: "satisfaction", Score: 4},
		{CallID: "c3", At: t0, Node: "survey", Var: "satisfaction", Score: 2},
	}, nil
}

type fakeBans struct {
	mu   sync.Mutex
	bans []Ban
}

func (f *fakeBans) Bans(context.Context) ([]Ban, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Ban(nil), f.bans...), nil
}

func (f *fakeBans) Unban(_ context.Context, key string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, b := range f.bans {
		if b.Key == key {
			f.bans = append(f.bans[:i], f.bans[i+1:]...)
			return nil
		}
	}
	return fmt.Errorf("ban %q: %w", key, ErrNotFound)
}

func (f *fakeBans) UnbanAll(context.Context) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := len(f.bans)
	f.bans = nil
	return n, nil
}

type fakeReadiness struct {
	mu  sync.Mutex
	err error
}

func (f *fakeReadiness) Ready(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.err
}

func (f *fakeReadiness) set(err error) {
	f.mu.Lock()
	f.err = err
	f.mu.Unlock()
}

// memAudit keeps audit entries in memory.
type memAudit struct {
	mu      sync.Mutex
	entries []AuditEntry
}

func (m *memAudit) Record(_ context.Context, e AuditEntry) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.entries = append(m.entries, e)
	return nil
}

func (m *memAudit) all() []AuditEntry {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]AuditEntry(nil), m.entries...)
}

// fakes are one set of fake backends; recordings are real files in a temporary
// directory behind a DirRecordings (recordingsDir).
type fakes struct {
	calls      *fakeCalls
	originator *fakeOriginator
	records    *fakeRecords
	queues     *fakeQueues
	agents     *fakeAgents
	flows      *fakeFlows
	tickets    *fakeTickets
	surveys    *fakeSurveys
	bans       *fakeBans
	ready      *fakeReadiness
	audit      *memAudit
	recDir     string
}

// Test tokens, one per role, long enough for MinTokenLength.
const (
	viewerToken     = "viewer-token-0123456789abcdef"
	supervisorToken = "supervisor-token-0123456789abcdef"
	adminToken      = "admin-token-0123456789abcdef"
)

func testTokens(t testing.TB) *Tokens {
	t.Helper()
	tok, err := NewTokens([]TokenConfig{
		{Name: "noc", Role: "viewer", Token: viewerToken},
		{Name: "sup", Role: "supervisor", Token: supervisorToken},
		{Name: "ops", Role: "admin", SHA256: HashToken(adminToken)},
	})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func newFakes(t testing.TB) *fakes {
	return &fakes{
		calls: &fakeCalls{calls: []ActiveCall{
			{ID: "c2", Direction: "inbound", Caller: "+8613800000002", Called: "10086", StartedAt: t0.Add(-20 * time.Second), Stage: StageQueue, Flow: "hotline", Queue: "billing"},
			{ID: "c1", Direction: "inbound", Caller: "+8613800000001", Called: "10086", Transport: "udp", Codec: "PCMU", Source: "192.0.2.10:5060",
				StartedAt: t0.Add(-90 * time.Second), AnsweredAt: t0.Add(-89 * time.Second), Stage: StageIVR, Flow: "hotline", FlowVersion: "sha256:ab12", Node: "menu"},
		}},
		originator: &fakeOriginator{},
		records: &fakeRecords{records: []CallRecord{{
			ID: "c1", State: "ended", StartedAt: t0.Add(-time.Hour), AnsweredAt: t0.Add(-time.Hour + time.Second),
			EndedAt: t0.Add(-time.Hour + 3*time.Minute), Direction: "inbound", Caller: "+8613800000001", Called: "10086",
			Flow: "hotline", NodePath: []string{"welcome", "menu", "queue"}, Disposition: "resolved", Queue: "billing", Agent: "alice",
			Wait: Duration(12500 * time.Millisecond), Talk: Duration(140 * time.Second), Recordings: []string{"2026/05/22/c1.wav"},
			SurveyScores: []int{5}, HangupCause: "normal_clearing", HangupSide: "caller",
			Quality: Quality{PacketsReceived: 9000, MOS: 4.3}, Vars: json.RawMessage(`{"account":"123"}`),
		}}},
		queues: &fakeQueues{},
		agents: &fakeAgents{agents: []AgentStatus{
			{ID: "alice", Name: "Alice", Extension: "2001", Skills: map[string]int{"billing": 5}, Presence: PresenceAvailable, Activity: "on_call", State: "on_call", Since: t0, CallID: "c9", Queue: "billing", Calls: 12},
			{ID: "bob", Name: "Bob", Extension: "2002", Presence: PresenceAvailable, Activity: "wrap_up", State: "wrap_up", Since: t0},
			{ID: "carol", Name: "Carol", Presence: PresenceBreak, Reason: "lunch", Activity: "idle", State: "break", Since: t0},
		}},
		flows: &fakeFlows{},
		tickets: &fakeTickets{tickets: []Ticket{{ID: "TK-260522-7K3M9QX2AB", CallID: "c1", Category: "outage", Priority: "high",
			Status: TicketOpen, Caller: "+8613800000001", Summary: "no signal", Fields: json.RawMessage(`{"area":"north"}`),
			Transcript: []string{"my phone has no signal"}, CreatedAt: t0, UpdatedAt: t0}}},
		surveys: &fakeSurveys{},
		bans: &fakeBans{bans: []Ban{
			{Key: "203.0.113.7", Kind: "ip", Reason: "INVITE flood", Since: t0, Until: t0.Add(time.Hour), Hits: 420},
			{Key: "+15550001111", Kind: "number", Reason: "robocaller", Since: t0, Hits: 12},
		}},
		ready:  &fakeReadiness{},
		audit:  &memAudit{},
		recDir: recordingsDir(t),
	}
}

// options wires every fake into a Server.
func (f *fakes) options(t testing.TB) []Option {
	rec, err := NewDirRecordings(f.recDir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rec.Close() })
	return []Option{
		WithTokens(testTokens(t)), WithAuditLog(f.audit), WithClock(func() time.Time { return t0 }),
		WithCalls(f.calls), WithOriginator(f.originator), WithRecords(f.records), WithRecordings(rec),
		WithQueues(f.queues), WithAgents(f.agents), WithFlows(f.flows), WithTickets(f.tickets),
		WithSurveys(f.surveys), WithBans(f.bans), WithReadiness(f.ready),
		WithWallboard(NewWallboard(f.calls, f.queues, f.agents)),
	}
}

// newServer builds a Server over fresh fakes and closes it at the end.
func newServer(t testing.TB, extra ...Option) (*Server, *fakes) {
	t.Helper()
	f := newFakes(t)
	s, err := New(append(f.options(t), extra...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, f
}

// do sends one request to h with an optional bearer token and JSON body.
func do(t testing.TB, h http.Handler, method, target, token, body string) *httptest.ResponseRecorder {
	t.Helper()
	var req *http.Request
	if body != "" {
		req = httptest.NewRequest(method, target, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
	} else {
		req = httptest.NewRequest(method, target, nil)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

// decode unmarshals a JSON answer into a generic value.
func decode(t testing.TB, w *httptest.ResponseRecorder) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil {
		t.Fatalf("answer is not a JSON object: %v\n%s", err, w.Body.String())
	}
	return m
}
