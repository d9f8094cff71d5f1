package api

import (
	"encoding/json"
	"slices"
	"testing"
)

// TestTransferCall: POST /api/v1/calls/{id}/transfer (and /complete, /cancel)
// needs a supervisor, checks the mode and the target, answers 202 with what
// started, 204 for complete and cancel, 404 for an unknown call, 409 for a call
// without agent, and 501 when the call backend cannot transfer.
func TestTransferCall(t *testing.T) {
	f := newFakes(t)
	f.calls.calls = append(f.calls.calls, ActiveCall{ID: "queued"})
	s, err := New(f.options(t)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	id := f.calls.calls[0].ID
	for _, tc := range []struct {
		token, path, body string
		want              int
	}{
		{viewerToken, id + "/transfer", `{"to":"bob","mode":"blind"}`, 403},
		{supervisorToken, id + "/transfer", `{"to":"bob","mode":"warm"}`, 400},
		{supervisorToken, id + "/transfer", `{"to":"","mode":"blind"}`, 400},
		{supervisorToken, id + "/transfer", `{"to":"bob"`, 400},
		{supervisorToken, "nope/transfer", `{"to":"bob","mode":"blind"}`, 404},
		{supervisorToken, "queued/transfer", `{"to":"bob","mode":"blind"}`, 409},
		{supervisorToken, id + "/transfer", `{"to":"bob","mode":"attended"}`, 202},
		{viewerToken, id + "/transfer/complete", ``, 403},
		{supervisorToken, id + "/transfer/complete", ``, 204},
		{supervisorToken, "queued/transfer/cancel", ``, 409},
		{adminToken, id + "/transfer/cancel", ``, 204},
		{supervisorToken, id + "/transfer", `{"to":"sales","mode":"blind"}`, 202},
	} {
		w := do(t, s, "POST", "/api/v1/calls/"+tc.path, tc.token, tc.body)
		if w.Code != tc.want {
			t.Errorf("%s %s: %d %s, want %d", tc.path, tc.body, w.Code, w.Body, tc.want)
			continue
		}
		if w.Code == 202 {
			var got TransferStarted
			if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil || got.CallID != id || got.To == "" || got.Mode == "" {
				t.Errorf("202 body %s (%v)", w.Body, err)
			}
		}
	}
	f.calls.mu.Lock()
	got := slices.Clone(f.calls.transferred)
	f.calls.mu.Unlock()
	want := []string{id + ":attended:bob", id + ":complete", id + ":cancel", id + ":blind:sales"}
	if !slices.Equal(got, want) {
		t.Errorf("backend got %q, want %q", got, want)
	}

	plain, _ := newServer(t, WithCalls(plainCalls{f.calls}))
	for _, p := range []string{"/transfer", "/transfer/complete", "/transfer/cancel"} {
		if w := do(t, plain, "POST", "/api/v1/calls/"+id+p, supervisorToken, `{"to":"bob","mode":"blind"}`); w.Code != 501 {
			t.Errorf("%s without a transferring backend: %d %s, want 501", p, w.Code, w.Body)
		}
	}
}
