package api

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"strings"
	"testing"
)

// The fake ACD's admin side: it mirrors what the adapter in cmd does with the real
// engine (acdapi_test.go tests that one).

func (f *fakeAgents) CreateAgent(_ context.Context, a AgentSpec) (AgentStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.find(a.ID) >= 0 {
		return AgentStatus{}, fmt.Errorf("agent %q exists: %w", a.ID, ErrConflict)
	}
	st := AgentStatus{ID: a.ID, Name: a.Name, Extension: a.Extension, Skills: maps.Clone(a.Skills),
		Presence: PresenceOffline, Activity: "idle", State: "offline", Since: t0}
	f.agents = append(f.agents, st)
	return st, nil
}

func (f *fakeAgents) UpdateAgent(_ context.Context, a AgentSpec) (AgentStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	i := f.find(a.ID)
	if i < 0 {
		return AgentStatus{}, fmt.Errorf("agent %q: %w", a.ID, ErrNotFound)
	}
	f.agents[i].Name, f.agents[i].Extension, f.agents[i].Skills = a.Name, a.Extension, maps.Clone(a.Skills)
	return f.agents[i], nil
}

func (f *fakeAgents) SetSkills(_ context.Context, id string, skills map[string]int) (AgentStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	i := f.find(id)
	if i < 0 {
		return AgentStatus{}, fmt.Errorf("agent %q: %w", id, ErrNotFound)
	}
	f.agents[i].Skills = maps.Clone(skills)
	return f.agents[i], nil
}

func (f *fakeAgents) DeleteAgent(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	i := f.find(id)
	switch {
	case i < 0:
		return fmt.Errorf("agent %q: %w", id, ErrNotFound)
	case f.agents[i].Activity == "on_call" || f.agents[i].Activity == "ringing":
		return fmt.Errorf("agent %q is %s: %w", id, f.agents[i].Activity, ErrConflict)
	}
	f.agents = append(f.agents[:i], f.agents[i+1:]...)
	return nil
}

var _ AgentAdmin = (*fakeAgents)(nil)

// TestAgentCRUD: an admin creates an agent, who is listed; changes the profile;
// a supervisor changes the skills; the admin deletes the agent, who is gone. The
// audit log names every change and never the password.
func TestAgentCRUD(t *testing.T) {
	s, f := newServer(t)
	w := do(t, s, "POST", "/api/v1/agents", adminToken, `{"id":"dave","name":"Dave","extension":"2004","skills":{"billing":3},"password":"s3cret-2004"}`)
	if w.Code != http.StatusCreated || w.Header().Get("Location") != "/api/v1/agents/dave" {
		t.Fatalf("create = %d %s (Location %q)", w.Code, w.Body, w.Header().Get("Location"))
	}
	if strings.Contains(w.Body.String(), "s3cret") {
		t.Fatalf("the password came back: %s", w.Body)
	}
	if w := do(t, s, "GET", "/api/v1/agents/dave", viewerToken, ""); w.Code != 200 || !strings.Contains(w.Body.String(), `"billing":3`) {
		t.Fatalf("GET dave = %d %s", w.Code, w.Body)
	}
	if w := do(t, s, "POST", "/api/v1/agents", adminToken, `{"id":"dave"}`); w.Code != http.StatusConflict {
		t.Fatalf("create dave again = %d %s, want 409", w.Code, w.Body)
	}
	w = do(t, s, "PUT", "/api/v1/agents/dave", adminToken, `{"name":"David","extension":"2005","skills":{"billing":4}}`)
	if w.Code != 200 || !strings.Contains(w.Body.String(), `"extension":"2005"`) {
		t.Fatalf("update = %d %s", w.Code, w.Body)
	}
	w = do(t, s, "PUT", "/api/v1/agents/dave/skills", supervisorToken, `{"skills":{"billing":5,"french":1}}`)
	if w.Code != 200 || !strings.Contains(w.Body.String(), `"french":1`) || !strings.Contains(w.Body.String(), `"name":"David"`) {
		t.Fatalf("set skills = %d %s", w.Code, w.Body)
	}
	if w := do(t, s, "PUT", "/api/v1/agents/dave", supervisorToken, `{"name":"x"}`); w.Code != http.StatusForbidden {
		t.Fatalf("a supervisor replacing a profile = %d, want 403", w.Code)
	}
	if w := do(t, s, "DELETE", "/api/v1/agents/alice", adminToken, ""); w.Code != http.StatusConflict {
		t.Fatalf("delete alice on a call = %d %s, want 409", w.Code, w.Body)
	}
	if w := do(t, s, "DELETE", "/api/v1/agents/dave", adminToken, ""); w.Code != http.StatusNoContent {
		t.Fatalf("delete = %d %s", w.Code, w.Body)
	}
	if w := do(t, s, "GET", "/api/v1/agents/dave", viewerToken, ""); w.Code != http.StatusNotFound {
		t.Fatalf("GET deleted dave = %d, want 404", w.Code)
	}
	for _, c := range []struct{ method, target string }{{"PUT", "/api/v1/agents/nobody"}, {"PUT", "/api/v1/agents/nobody/skills"}, {"DELETE", "/api/v1/agents/nobody"}} {
		body := `{"skills":{}}`
		if c.method == "DELETE" {
			body = ""
		}
		if w := do(t, s, c.method, c.target, adminToken, body); w.Code != http.StatusNotFound {
			t.Errorf("%s %s = %d %s, want 404", c.method, c.target, w.Code, w.Body)
		}
	}
	var actions []string
	for _, e := range f.audit.all() {
		actions = append(actions, e.Action+":"+e.Target)
		if strings.Contains(e.Detail, "s3cret") {
			t.Errorf("audit entry holds the password: %+v", e)
		}
	}
	want := "agent.create:dave agent.create:dave agent.update:dave agent.skills:dave agent.update: agent.delete:alice agent.delete:dave agent.update:nobody agent.skills:nobody agent.delete:nobody"
	if got := strings.Join(actions, " "); got != want {
		t.Errorf("audit actions\n got %s\nwant %s", got, want)
	}
}

// TestAgentSpecRefused: bad specs get a 400 listing every problem at once, as the
// YAML loader does, and reach no backend.
func TestAgentSpecRefused(t *testing.T) {
	s, f := newServer(t)
	for _, c := range []struct {
		method, target, body string
		want                 []string
	}{
		{"POST", "/api/v1/agents", `{"id":"","skills":{"billing":0}}`, []string{`id ""`, "skills.billing: level 0 is outside 1 to 5"}},
		{"POST", "/api/v1/agents", `{"id":"-x","extension":"12 34","skills":{" sp":3,"ok":6},"password":"short"}`,
			[]string{`id "-x"`, `extension "12 34"`, `skills: name " sp"`, "skills.ok: level 6", "password: want 8 to 128"}},
		{"POST", "/api/v1/agents", `{"id":"eve","skils":{}}`, []string{"skils"}},
		{"PUT", "/api/v1/agents/bob", `{"id":"robert"}`, []string{`id "robert": the path names agent "bob"`}},
		{"PUT", "/api/v1/agents/bob/skills", `{}`, []string{"skills: required"}},
		{"PUT", "/api/v1/agents/bob/skills", `{"skills":{"billing":9}}`, []string{"skills.billing: level 9 is outside 1 to 5"}},
	} {
		w := do(t, s, c.method, c.target, adminToken, c.body)
		if w.Code != http.StatusBadRequest {
			t.Errorf("%s %s %s = %d %s, want 400", c.method, c.target, c.body, w.Code, w.Body)
			continue
		}
		msg, _ := decode(t, w)["error"].(string)
		for _, m := range c.want {
			if !strings.Contains(msg, m) {
				t.Errorf("%s %s %s: answer %s does not say %q", c.method, c.target, c.body, w.Body, m)
			}
		}
	}
	list, _ := f.agents.Agents(context.Background())
	if len(list) != 3 || list[1].Name != "Bob" || len(list[1].Skills) != 0 {
		t.Errorf("a refused request changed the agents: %+v", list)
	}
}

// TestAgentAdminMissing: an agents backend without AgentAdmin answers 501 for the
// changes, and the reads still work.
func TestAgentAdminMissing(t *testing.T) {
	s, err := New(WithTokens(testTokens(t)), WithAgents(readOnlyAgents{}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if w := do(t, s, "POST", "/api/v1/agents", adminToken, `{"id":"dave"}`); w.Code != http.StatusNotImplemented {
		t.Fatalf("create without AgentAdmin = %d %s, want 501", w.Code, w.Body)
	}
	if w := do(t, s, "GET", "/api/v1/agents", viewerToken, ""); w.Code != 200 {
		t.Fatalf("list = %d %s", w.Code, w.Body)
	}
}

type readOnlyAgents struct{}

func (readOnlyAgents) Agents(context.Context) ([]AgentStatus, error)               { return nil, nil }
func (readOnlyAgents) SetPresence(context.Context, string, Presence, string) error { return nil }
func (readOnlyAgents) Ready(context.Context, string) error                         { return nil }
