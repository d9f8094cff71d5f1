package api

import (
	"encoding/json"
	"testing"
)

// plainCalls is a Calls backend without monitoring.
type plainCalls struct{ Calls }

// TestMonitorCall: POST /api/v1/calls/{id}/monitor needs a supervisor, checks the
// mode and the supervisor, answers 202 with what rings, 404 for an unknown call,
// 409 for a call without agent, and 501 when the call backend cannot monitor.
func TestMonitorCall(t *testing.T) {
	f := newFakes(t)
	f.calls.calls = append(f.calls.calls, ActiveCall{ID: "queued"})
	s, err := New(f.options(t)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	id := f.calls.calls[0].ID
	for _, tc := range []struct {
		token, call, body string
		want              int
	}{
		{viewerToken, id, `{"mode":"listen","supervisor":"1009"}`, 403},
		{supervisorToken, id, `{"mode":"shout","supervisor":"1009"}`, 400},
		{supervisorToken, id, `{"mode":"listen","supervisor":""}`, 400},
		{supervisorToken, id, `{"mode":"listen"`, 400},
		{supervisorToken, "nope", `{"mode":"listen","supervisor":"1009"}`, 404},
		{supervisorToken, "queued", `{"mode":"barge","supervisor":"1009"}`, 409},
		{supervisorToken, id, `{"mode":"whisper","supervisor":"1009"}`, 202},
		{adminToken, id, `{"mode":"barge","supervisor":"maria"}`, 202},
	} {
		w := do(t, s, "POST", "/api/v1/calls/"+tc.call+"/monitor", tc.token, tc.body)
		if w.Code != tc.want {
			t.Errorf("%s %s: %d %s, want %d", tc.call, tc.body, w.Code, w.Body, tc.want)
			continue
		}
		if w.Code == 202 {
			var got MonitorStarted
			if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil || got.CallID != id || got.Contact == "" {
				t.Errorf("202 body %s (%v)", w.Body, err)
			}
		}
	}
	f.calls.mu.Lock()
	got := f.calls.monitored
	f.calls.mu.Unlock()
	if len(got) != 2 || got[0].Mode != "whisper" || got[1].Supervisor != "maria" {
		t.Errorf("backend got %+v", got)
	}

	plain, _ := newServer(t, WithCalls(plainCalls{f.calls}))
	if w := do(t, plain, "POST", "/api/v1/calls/"+id+"/monitor", supervisorToken, `{"mode":"listen","supervisor":"1009"}`); w.Code != 501 {
		t.Errorf("without a monitoring backend: %d %s, want 501", w.Code, w.Body)
	}
}
