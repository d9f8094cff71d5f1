package main

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/hotline-ivr/hotline/acd"
	"github.com/hotline-ivr/hotline/api"
	"github.com/hotline-ivr/hotline/sip/auth"
)

// newTestACDAPI builds a real ACD from acd/testdata/acd.yaml (queues billing,
// complaints, general; alice available, bob and carol offline) and its adapter.
func newTestACDAPI(t *testing.T) (acdAPI, *acd.Engine) {
	t.Helper()
	cfg, err := acd.LoadConfig(filepath.Join("..", "..", "acd", "testdata", "acd.yaml"))
	if err != nil {
		t.Fatalf("load acd config: %v", err)
	}
	e, err := acd.NewEngine(acd.WithConfig(cfg))
	if err != nil {
		t.Fatalf("new acd engine: %v", err)
	}
	t.Cleanup(func() {
		if err := e.Close(); err != nil {
			t.Errorf("close acd engine: %v", err)
		}
	})
	return newACDAPI(e, cfg), e
}

func agentByID(t *testing.T, a acdAPI, id string) api.AgentStatus {
	t.Helper()
	list, err := a.Agents(t.Context())
	if err != nil {
		t.Fatalf("Agents: %v", err)
	}
	for _, s := range list {
		if s.ID == id {
			return s
		}
	}
	t.Fatalf("agent %q not listed in %+v", id, list)
	return api.AgentStatus{}
}

func TestACDAPIQueueNamesInConfigOrder(t *testing.T) {
	a, _ := newTestACDAPI(t)
	names, err := a.QueueNames(t.Context())
	if err != nil {
		t.Fatalf("QueueNames: %v", err)
	}
	if want := []string{"billing", "complaints", "general"}; !slices.Equal(names, want) {
		t.Fatalf("QueueNames = %v, want %v (the YAML's order)", names, want)
	}
	// The caller may not change the adapter's order through the returned slice.
	names[0] = "changed"
	again, _ := a.QueueNames(t.Context())
	if again[0] != "billing" {
		t.Fatalf("QueueNames shares its slice: %v", again)
	}
}

func TestACDAPIQueueStatusEmptyQueue(t *testing.T) {
	a, e := newTestACDAPI(t)
	st, err := a.QueueStatus(t.Context(), "billing")
	if err != nil {
		t.Fatalf("QueueStatus(billing): %v", err)
	}
	if st.Queue != "billing" || st.Waiting != 0 || st.Callbacks != 0 || st.LongestWait != 0 {
		t.Fatalf("QueueStatus(billing) = %+v, want an empty queue", st)
	}
	// alice (billing 5) is available, but no phone of hers is registered: the ACD
	// cannot ring her, so she is not staffed and no wait can be estimated.
	if st.AgentsStaffed != 0 || st.AgentsAvailable != 0 || st.EstimatedWait != nil {
		t.Fatalf("QueueStatus(billing) without endpoints = %+v, want nobody staffed", st)
	}
	e.SetEndpoint("alice", acdapiPhone{})
	st, err = a.QueueStatus(t.Context(), "billing")
	if err != nil {
		t.Fatalf("QueueStatus(billing): %v", err)
	}
	if st.AgentsStaffed != 1 || st.AgentsAvailable != 1 || st.EstimatedWait == nil {
		t.Fatalf("QueueStatus(billing) with alice registered = %+v, want 1 staffed, 1 available, an estimate", st)
	}

	// complaints needs support 3: bob and carol qualify, both offline.
	st, err = a.QueueStatus(t.Context(), "complaints")
	if err != nil {
		t.Fatalf("QueueStatus(complaints): %v", err)
	}
	if st.AgentsStaffed != 0 || st.AgentsAvailable != 0 || st.EstimatedWait != nil {
		t.Fatalf("QueueStatus(complaints) = %+v, want nobody staffed and no estimate", st)
	}
}

func TestACDAPIUnknownQueueNotFound(t *testing.T) {
	a, _ := newTestACDAPI(t)
	_, err := a.QueueStatus(t.Context(), "nope")
	if !errors.Is(err, api.ErrNotFound) {
		t.Fatalf("QueueStatus(nope) = %v, want api.ErrNotFound", err)
	}
	if want := `queue "nope": not found`; err.Error() != want {
		t.Fatalf("message %q, want %q (sent to the client)", err, want)
	}
}

func TestACDAPIFiguresAndTargets(t *testing.T) {
	a, _ := newTestACDAPI(t)
	f, err := a.QueueToday(t.Context(), "billing")
	if err != nil {
		t.Fatalf("QueueToday: %v", err)
	}
	if f.Queue != "billing" || f.Offered != 0 || f.Answered != 0 {
		t.Fatalf("QueueToday(billing) = %+v, want no calls", f)
	}
	if f.ServiceLevel != nil || f.AnswerRate != nil || f.AbandonRate != nil || f.ASA != nil || f.AHT != nil {
		t.Fatalf("ratios of no calls must be nil: %+v", f)
	}
	if f.From.IsZero() || !f.To.After(f.From) {
		t.Fatalf("span [%v, %v) is not today", f.From, f.To)
	}
	want := api.Targets{ServiceLevel: acd.DefaultServiceLevelTarget, ServiceLevelThreshold: api.Duration(acd.DefaultServiceLevel)}
	if f.Targets != want {
		t.Fatalf("Targets = %+v, want %+v (the queue's config)", f.Targets, want)
	}

	// A configured target and threshold come through.
	cfg, err := acd.ParseConfig("test.yaml", []byte("queues:\n  sales: {service_level: 30s, service_level_target: 0.9}\n"))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	b := newACDAPI(nil, cfg)
	if got := b.targets["sales"]; got.ServiceLevel != 0.9 || got.ServiceLevelThreshold.Std() != 30*time.Second {
		t.Fatalf("sales targets = %+v, want 0.9 and 30s", got)
	}

	from := time.Now().Add(-time.Hour)
	all, err := a.QueueFigures(t.Context(), "", from, time.Now())
	if err != nil {
		t.Fatalf("QueueFigures(all): %v", err)
	}
	if all.Queue != "" || !all.From.Equal(from) || all.Targets != (api.Targets{}) {
		t.Fatalf("QueueFigures(all) = %+v, want queue \"\", the span asked and default targets", all)
	}
}

func TestACDAPIAgentsListedWithStates(t *testing.T) {
	a, _ := newTestACDAPI(t)
	list, err := a.Agents(t.Context())
	if err != nil {
		t.Fatalf("Agents: %v", err)
	}
	var ids []string
	for _, s := range list {
		ids = append(ids, s.ID)
	}
	if !slices.Equal(ids, []string{"alice", "bob", "carol"}) {
		t.Fatalf("agents %v, want alice, bob, carol", ids)
	}
	alice := list[0]
	if alice.Name != "Alice Martin" || alice.Extension != "1001" || alice.Skills["billing"] != 5 || alice.Skills["french"] != 3 {
		t.Fatalf("alice's profile = %+v", alice)
	}
	if alice.Presence != api.PresenceAvailable || alice.Activity != "idle" || alice.State != "available" {
		t.Fatalf("alice = %s/%s/%s, want available/idle/available", alice.Presence, alice.Activity, alice.State)
	}
	if bob := list[1]; bob.Presence != api.PresenceOffline || bob.State != "offline" {
		t.Fatalf("bob = %s/%s, want offline", bob.Presence, bob.State)
	}
	// The adapter's skills are a copy: changing them does not reach the ACD.
	alice.Skills["billing"] = 1
	if got := agentByID(t, a, "alice").Skills["billing"]; got != 5 {
		t.Fatalf("alice's billing after mutating a copy = %d, want 5", got)
	}
}

func TestACDAPISetPresenceBreakAndBack(t *testing.T) {
	a, _ := newTestACDAPI(t)
	ctx := t.Context()
	if err := a.SetPresence(ctx, "alice", api.PresenceBreak, "lunch"); err != nil {
		t.Fatalf("SetPresence(break): %v", err)
	}
	s := agentByID(t, a, "alice")
	if s.Presence != api.PresenceBreak || s.Reason != "lunch" || s.State != "break" {
		t.Fatalf("after break: %s reason %q state %s, want break, lunch", s.Presence, s.Reason, s.State)
	}
	if err := a.SetPresence(ctx, "alice", api.PresenceAvailable, ""); err != nil {
		t.Fatalf("SetPresence(available): %v", err)
	}
	s = agentByID(t, a, "alice")
	if s.Presence != api.PresenceAvailable || s.Reason != "" || s.State != "available" {
		t.Fatalf("after available: %s reason %q state %s", s.Presence, s.Reason, s.State)
	}
	if err := a.SetPresence(ctx, "carol", api.PresenceOffline, ""); err != nil {
		t.Fatalf("SetPresence(offline): %v", err)
	}

	err := a.SetPresence(ctx, "nobody", api.PresenceAvailable, "")
	if !errors.Is(err, api.ErrNotFound) {
		t.Fatalf("SetPresence(nobody) = %v, want api.ErrNotFound", err)
	}
	for _, p := range []api.Presence{api.PresenceUnknown, "unknown", "busy"} {
		if err := a.SetPresence(ctx, "alice", p, ""); !errors.Is(err, api.ErrInvalid) {
			t.Fatalf("SetPresence(%q) = %v, want api.ErrInvalid", p, err)
		}
	}
}

func TestACDAPIReadyNothingToEndConflict(t *testing.T) {
	a, _ := newTestACDAPI(t)
	err := a.Ready(t.Context(), "alice")
	if !errors.Is(err, api.ErrConflict) {
		t.Fatalf("Ready(idle alice) = %v, want api.ErrConflict", err)
	}
	if err := a.Ready(t.Context(), "nobody"); !errors.Is(err, api.ErrNotFound) {
		t.Fatalf("Ready(nobody) = %v, want api.ErrNotFound", err)
	}
}

func TestACDAPIWallboardCounts(t *testing.T) {
	a, _ := newTestACDAPI(t)
	ctx := t.Context()
	rows, counts, err := a.wallboard(ctx)
	if err != nil {
		t.Fatalf("wallboard: %v", err)
	}
	var names []string
	for _, r := range rows {
		names = append(names, r.Queue)
		if r.Today.Queue != r.Queue {
			t.Fatalf("row %q has today's figures of %q", r.Queue, r.Today.Queue)
		}
		if r.Today.Targets.ServiceLevel != acd.DefaultServiceLevelTarget {
			t.Fatalf("row %q targets = %+v", r.Queue, r.Today.Targets)
		}
	}
	if !slices.Equal(names, []string{"billing", "complaints", "general"}) {
		t.Fatalf("wallboard queues %v", names)
	}
	if want := map[string]int{"available": 1, "offline": 2}; !equalCounts(counts, want) {
		t.Fatalf("agent counts %v, want %v", counts, want)
	}

	if err := a.SetPresence(ctx, "bob", api.PresenceBreak, "training"); err != nil {
		t.Fatalf("SetPresence(bob): %v", err)
	}
	if err := a.SetPresence(ctx, "carol", api.PresenceAvailable, ""); err != nil {
		t.Fatalf("SetPresence(carol): %v", err)
	}
	_, counts, err = a.wallboard(ctx)
	if err != nil {
		t.Fatalf("wallboard: %v", err)
	}
	if want := map[string]int{"available": 2, "break": 1}; !equalCounts(counts, want) {
		t.Fatalf("agent counts %v, want %v", counts, want)
	}
}

func equalCounts(got, want map[string]int) bool {
	if len(got) != len(want) {
		return false
	}
	for k, v := range want {
		if got[k] != v {
			return false
		}
	}
	return true
}

// TestACDAPICallWrapUpReady runs one call through the real ACD: alice answers at
// once, hangs up, and is in wrap-up (billing's 15 s); Ready ends it, and today's
// figures count the call.
func TestACDAPICallWrapUpReady(t *testing.T) {
	a, e := newTestACDAPI(t)
	ctx := t.Context()
	e.SetEndpoint("alice", acdapiPhone{})

	res, err := e.Enqueue(ctx, acd.Call{ID: "call-1", Caller: "+15550100", Called: "100"},
		acd.Request{Queue: "billing"}, acdapiCaller{})
	if err != nil || res.Outcome != acd.OutcomeCompleted || res.Agent != "alice" {
		t.Fatalf("Enqueue = %+v, %v; want completed by alice", res, err)
	}

	s := agentByID(t, a, "alice")
	if s.State != "wrap_up" || s.Activity != "wrap_up" || s.Calls != 1 {
		t.Fatalf("alice after the call: state %s activity %s calls %d, want wrap_up and 1 call", s.State, s.Activity, s.Calls)
	}
	if _, counts, err := a.wallboard(ctx); err != nil || counts["wrap_up"] != 1 {
		t.Fatalf("wallboard counts %v, %v; want wrap_up 1", counts, err)
	}

	if err := a.Ready(ctx, "alice"); err != nil {
		t.Fatalf("Ready(alice in wrap-up): %v", err)
	}
	if s := agentByID(t, a, "alice"); s.State != "available" {
		t.Fatalf("alice after Ready: %s, want available", s.State)
	}
	if err := a.Ready(ctx, "alice"); !errors.Is(err, api.ErrConflict) {
		t.Fatalf("second Ready = %v, want api.ErrConflict", err)
	}

	f, err := a.QueueToday(ctx, "billing")
	if err != nil {
		t.Fatalf("QueueToday: %v", err)
	}
	if f.Offered != 1 || f.Answered != 1 || f.AnsweredInSL != 1 || f.Abandoned != 0 || f.Handled != 1 {
		t.Fatalf("today = %+v, want 1 offered, answered in SL and handled", f)
	}
	if f.ServiceLevel == nil || *f.ServiceLevel != 1 || f.AnswerRate == nil || *f.AnswerRate != 1 ||
		f.AbandonRate == nil || *f.AbandonRate != 0 || f.ASA == nil || f.AHT == nil {
		t.Fatalf("today's ratios: SL %v answer %v abandon %v ASA %v AHT %v", f.ServiceLevel, f.AnswerRate, f.AbandonRate, f.ASA, f.AHT)
	}
	if all, _ := a.QueueToday(ctx, ""); all.Offered != 1 {
		t.Fatalf("all queues today offered %d, want 1", all.Offered)
	}
}

// acdapiPhone answers every offer at once.
type acdapiPhone struct{}

func (acdapiPhone) Offer(context.Context, acd.Offer) (acd.Leg, acd.OfferResult, error) {
	return &acdapiLeg{}, acd.OfferAnswered, nil
}

// acdapiLeg is the agent's answered leg.
type acdapiLeg struct{}

func (*acdapiLeg) Whisper(context.Context, string) error { return nil }
func (*acdapiLeg) Hangup(context.Context) error          { return nil }

// acdapiCaller holds until the engine bridges, and the agent ends the call at once.
type acdapiCaller struct{}

func (acdapiCaller) Hold(ctx context.Context) (byte, error) {
	<-ctx.Done()
	return 0, nil
}

func (acdapiCaller) Announce(context.Context, acd.Announcement) (byte, error) { return 0, nil }

func (acdapiCaller) Bridge(context.Context, acd.Leg) (acd.BridgeResult, error) {
	return acd.BridgeResult{End: acd.EndAgent}, nil
}

// newAdminACDAPI is newTestACDAPI with the agents file in dir.
func newAdminACDAPI(t *testing.T, dir string) (acdAPI, *acd.Engine) {
	t.Helper()
	a, e := newTestACDAPI(t)
	cfg := DefaultConfig()
	cfg.DataDir = dir
	cfg.SIP.Realm = "test-realm"
	admin, err := openAgentAdmin(cfg, e, nil)
	if err != nil {
		t.Fatalf("openAgentAdmin: %v", err)
	}
	a.admin = admin
	return a, e
}

// TestACDAPIAgentAdminPersists: an agent created, changed and one deleted through
// the adapter are live in the engine at once, and a second engine over the same
// agents file (a restart: acd.yaml is the seed again) has the same agents.
func TestACDAPIAgentAdminPersists(t *testing.T) {
	dir := t.TempDir()
	a, e := newAdminACDAPI(t, dir)
	ctx := t.Context()
	st, err := a.CreateAgent(ctx, api.AgentSpec{ID: "dave", Name: "Dave", Extension: "1004", Skills: map[string]int{"billing": 4}, Password: "s3cret-1004"})
	if err != nil {
		t.Fatalf("CreateAgent: %v", err)
	}
	if st.State != "offline" || st.Skills["billing"] != 4 {
		t.Fatalf("created %+v, want offline with billing 4", st)
	}
	if _, err := a.CreateAgent(ctx, api.AgentSpec{ID: "alice"}); !errors.Is(err, api.ErrConflict) {
		t.Fatalf("CreateAgent(alice) = %v, want api.ErrConflict", err)
	}
	// dave logs in and is offered billing calls: billing's staffed count sees him.
	if err := a.SetPresence(ctx, "dave", api.PresenceAvailable, ""); err != nil {
		t.Fatal(err)
	}
	e.SetEndpoint("dave", acdapiPhone{})
	if st, _ := a.QueueStatus(ctx, "billing"); st.AgentsStaffed != 1 {
		t.Fatalf("billing with dave available = %+v, want 1 staffed", st)
	}
	if _, err := a.SetSkills(ctx, "dave", map[string]int{"billing": 2, "french": 1}); err != nil {
		t.Fatalf("SetSkills: %v", err)
	}
	if s := agentByID(t, a, "dave"); s.Skills["billing"] != 2 || s.Name != "Dave" || s.State != "available" {
		t.Fatalf("after SetSkills dave = %+v, want billing 2, name and presence kept", s)
	}
	// A new extension without the password again would leave digests for the old one.
	if _, err := a.UpdateAgent(ctx, api.AgentSpec{ID: "dave", Extension: "1005"}); !errors.Is(err, api.ErrInvalid) {
		t.Fatalf("UpdateAgent(new extension, no password) = %v, want api.ErrInvalid", err)
	}
	if _, err := a.UpdateAgent(ctx, api.AgentSpec{ID: "dave", Name: "David", Extension: "1004", Skills: map[string]int{"billing": 3}}); err != nil {
		t.Fatalf("UpdateAgent: %v", err)
	}
	if _, err := a.UpdateAgent(ctx, api.AgentSpec{ID: "nobody"}); !errors.Is(err, api.ErrNotFound) {
		t.Fatalf("UpdateAgent(nobody) = %v, want api.ErrNotFound", err)
	}
	if err := a.DeleteAgent(ctx, "carol"); err != nil {
		t.Fatalf("DeleteAgent(carol): %v", err)
	}
	if err := a.DeleteAgent(ctx, "carol"); !errors.Is(err, api.ErrNotFound) {
		t.Fatalf("DeleteAgent(carol) again = %v, want api.ErrNotFound", err)
	}

	// The registrar finds dave's password; a wrong realm or user is unknown.
	users := a.admin.registrarUsers(nil)
	c, err := users.Lookup(ctx, "1004", "test-realm", auth.MD5)
	if err != nil || c.HA1 != auth.HA1(auth.MD5, "1004", "test-realm", "s3cret-1004") {
		t.Fatalf("Lookup(1004) = %+v, %v; want dave's MD5 HA1", c, err)
	}
	if _, err := users.Lookup(ctx, "1004", "other", auth.SHA256); !errors.Is(err, auth.ErrUnknownUser) {
		t.Fatalf("Lookup in another realm = %v, want ErrUnknownUser", err)
	}

	// The restart: a new engine from acd.yaml, then the agents file.
	b, _ := newAdminACDAPI(t, dir)
	list, err := b.Agents(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, s := range list {
		ids = append(ids, s.ID)
	}
	if !slices.Equal(ids, []string{"alice", "bob", "dave"}) {
		t.Fatalf("agents after restart %v, want alice, bob, dave (carol deleted)", ids)
	}
	if d := agentByID(t, b, "dave"); d.Name != "David" || d.Skills["billing"] != 3 || d.State != "offline" {
		t.Fatalf("dave after restart = %+v, want David, billing 3, offline", d)
	}
	if c, err := b.admin.registrarUsers(nil).Lookup(ctx, "1004", "test-realm", auth.SHA256); err != nil || c.HA1 == "" {
		t.Fatalf("dave's password after restart: %+v, %v", c, err)
	}
}

// TestACDAPIDeleteAgentOnCall: an agent on a call cannot be deleted (409) and can
// be changed; once the call ends the delete goes through.
func TestACDAPIDeleteAgentOnCall(t *testing.T) {
	a, e := newAdminACDAPI(t, t.TempDir())
	ctx := t.Context()
	talking := make(chan struct{})
	release := make(chan struct{})
	e.SetEndpoint("alice", acdapiPhone{})
	done := make(chan error, 1)
	go func() {
		_, err := e.Enqueue(ctx, acd.Call{ID: "call-1"}, acd.Request{Queue: "billing"}, blockingCaller{talking: talking, release: release})
		done <- err
	}()
	<-talking
	if err := a.DeleteAgent(ctx, "alice"); !errors.Is(err, api.ErrConflict) {
		t.Fatalf("DeleteAgent(alice on a call) = %v, want api.ErrConflict", err)
	}
	if _, err := a.SetSkills(ctx, "alice", map[string]int{"billing": 1}); err != nil {
		t.Fatalf("SetSkills(alice on a call): %v", err)
	}
	if s := agentByID(t, a, "alice"); s.State != "on_call" || s.Skills["billing"] != 1 {
		t.Fatalf("alice = %+v, want on_call with billing 1", s)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := a.DeleteAgent(ctx, "alice"); err != nil {
		t.Fatalf("DeleteAgent(alice after the call): %v", err)
	}
}

// TestACDAPIAgentAdminReadOnly: without an agents file changes are refused with
// api.ErrUnavailable, not applied half-way.
func TestACDAPIAgentAdminReadOnly(t *testing.T) {
	a, _ := newTestACDAPI(t)
	if _, err := a.CreateAgent(t.Context(), api.AgentSpec{ID: "dave"}); !errors.Is(err, api.ErrUnavailable) {
		t.Fatalf("CreateAgent without a file = %v, want api.ErrUnavailable", err)
	}
}

// blockingCaller talks until release is closed.
type blockingCaller struct{ talking, release chan struct{} }

func (blockingCaller) Hold(ctx context.Context) (byte, error) {
	<-ctx.Done()
	return 0, nil
}

func (blockingCaller) Announce(context.Context, acd.Announcement) (byte, error) { return 0, nil }

func (c blockingCaller) Bridge(ctx context.Context, _ acd.Leg) (acd.BridgeResult, error) {
	close(c.talking)
	select {
	case <-c.release:
	case <-ctx.Done():
	}
	return acd.BridgeResult{End: acd.EndAgent}, nil
}
