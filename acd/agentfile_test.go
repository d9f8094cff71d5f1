package acd

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"testing/synctest"
	"time"
)

// TestAgentFileSurvivesReopen: records put in the file come back when it is opened
// again, deletions included, and the file is readable by its owner only (it may
// hold digest HA1 values).
func TestAgentFileSurvivesReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "agents.json")
	f, err := OpenAgentFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Records()) != 0 {
		t.Fatalf("a missing file has records: %+v", f.Records())
	}
	dave := AgentRecord{Agent: Agent{ID: "dave", Name: "Dave", Extension: "1004", Skills: Skills{"billing": 4}},
		Credentials: map[string]string{"MD5": "0123"}}
	if err := f.Put(dave); err != nil {
		t.Fatal(err)
	}
	if err := f.Put(AgentRecord{Agent: Agent{ID: "bob"}, Deleted: true}); err != nil {
		t.Fatal(err)
	}
	if err := f.Put(AgentRecord{}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("Put without an id = %v, want ErrInvalid", err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		t.Errorf("agents file mode %v, want no access for group and others", st.Mode().Perm())
	}
	g, err := OpenAgentFile(path)
	if err != nil {
		t.Fatal(err)
	}
	recs := g.Records()
	if len(recs) != 2 || recs[0].ID != "bob" || !recs[0].Deleted || recs[1].ID != "dave" ||
		recs[1].Skills["billing"] != 4 || recs[1].Credentials["MD5"] != "0123" || recs[1].Extension != "1004" {
		t.Fatalf("records after reopen: %+v", recs)
	}
	if r, ok := g.Get("dave"); !ok || r.Name != "Dave" {
		t.Fatalf("Get(dave) = %+v, %v", r, ok)
	}

	// A write that fails leaves the record as before.
	if err := os.Chmod(filepath.Dir(path), 0o500); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Chmod(filepath.Dir(path), 0o700) })
	if os.Geteuid() != 0 {
		if err := g.Put(AgentRecord{Agent: Agent{ID: "dave", Name: "Changed"}}); err == nil {
			t.Fatal("Put into a read-only directory succeeded")
		}
		if r, _ := g.Get("dave"); r.Name != "Dave" {
			t.Errorf("after a failed Put dave is %+v, want unchanged", r)
		}
	}
}

// TestAgentFileRejectsBadRecords: a record with an invalid skill level is refused
// when the file is opened, not loaded half-valid into the ACD.
func TestAgentFileRejectsBadRecords(t *testing.T) {
	path := filepath.Join(t.TempDir(), "agents.json")
	if err := os.WriteFile(path, []byte(`[{"id":"x","skills":{"billing":9}}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenAgentFile(path); err == nil {
		t.Fatal("a level 9 skill was accepted")
	}
	if err := os.WriteFile(path, []byte(`[{"name":"no id"}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenAgentFile(path); err == nil {
		t.Fatal("a record without an id was accepted")
	}
}

// TestEnableCallbacksAfterStart: an engine started without a dialer offers no
// callbacks; EnableCallbacks, given the file store a previous process left a
// pending callback in, puts it back in its queue and dials it.
func TestEnableCallbacksAfterStart(t *testing.T) {
	dir := t.TempDir()
	synctest.Test(t, func(t *testing.T) {
		path := filepath.Join(dir, "callbacks.json")
		store, err := OpenFileCallbacks(path)
		if err != nil {
			t.Fatal(err)
		}
		h := newHarness(t, cbConfig, nil, WithCallbackStore(store))
		h.e.SetPresence(context.Background(), "a", PresenceOffline, "")
		r := <-h.call("c", Request{Queue: "q", Callback: true, CallbackNumber: "+33100"}, &fakeCaller{key: '1', keyAt: 3 * time.Second}, 0)
		if r.res.Outcome != OutcomeCallback {
			t.Fatalf("%+v", r.res)
		}
		h.close()

		store2, err := OpenFileCallbacks(path)
		if err != nil {
			t.Fatal(err)
		}
		h2 := newHarness(t, cbConfig, nil, WithDialer(nil))
		defer h2.close()
		// The agent is away while the callback comes back, so it stays pending
		// until they return (an available agent would take it at once).
		h2.e.SetPresence(context.Background(), "a", PresenceOffline, "")
		if err := h2.e.EnableCallbacks(store2, nil); !errors.Is(err, ErrInvalid) {
			t.Fatalf("EnableCallbacks without a dialer = %v, want ErrInvalid", err)
		}
		if err := h2.e.EnableCallbacks(store2, h2.dialer); err != nil {
			t.Fatal(err)
		}
		if st, _ := h2.e.Status(context.Background(), "q"); st.Callbacks != 1 {
			t.Errorf("status after EnableCallbacks: %+v, want the pending callback", st)
		}
		h2.e.SetPresence(context.Background(), "a", PresenceAvailable, "")
		time.Sleep(2 * time.Minute)
		synctest.Wait()
		if got := h2.dialer.calls(); !slices.Equal(got, []string{"cb-c"}) {
			t.Fatalf("dialled after EnableCallbacks: %v", got)
		}
		if cbs, _ := store2.Load(context.Background()); len(cbs) != 0 {
			t.Errorf("callback still pending: %+v", cbs)
		}
	})
}
