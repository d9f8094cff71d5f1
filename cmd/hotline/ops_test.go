package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestDrainOnSIGTERM: the first SIGTERM turns /readyz to 503 and refuses new calls
// with 503 and Retry-After (and a call record), while the call in progress goes on until its caller hangs
// up; then the engine stops by itself, long before the drain timeout.
func TestDrainOnSIGTERM(t *testing.T) {
	te := startEngine(t, engineOptions{flow: "wait", drain: 2 * time.Minute})
	t.Parallel()

	live := make(chan sippResult, 1)
	go func() {
		res, err := execSipp(t, te.sipTarget(""), freeSippPorts(t), sippCall{scenario: "uac_hangup.xml", pause: 6 * time.Second})
		if err != nil {
			t.Errorf("the call in progress during the drain failed: %v\n%s", err, tail(res.messages, 6000))
		}
		live <- res
	}()
	var id string
	waitFor(t, 10*time.Second, "the call in the live call list", func() bool {
		code, body := apiGet(t, te.httpURL("/api/v1/calls"), testAPIToken)
		var list struct {
			Calls []struct {
				ID, Stage, Flow, Node, Caller string
			}
		}
		if code != 200 || json.Unmarshal([]byte(body), &list) != nil || len(list.Calls) != 1 {
			return false
		}
		c := list.Calls[0]
		id = c.ID
		return c.Stage == "ivr" && c.Flow == "wait" && c.Node == "wait" && c.Caller == "+15551230000"
	})

	te.signals <- syscall.SIGTERM
	te.waitLog(t, 5*time.Second, "draining: refusing new calls, waiting for the calls in progress", "calls", "1")
	if code, body := apiGet(t, te.httpURL("/readyz"), ""); code != 503 || !strings.Contains(body, "draining") {
		t.Errorf("/readyz while draining = %d %s, want 503 draining", code, body)
	}
	res := runSipp(t, te, freeSippPorts(t), sippCall{scenario: "uac_refused.xml"})
	if !strings.Contains(res.messages, "Retry-After: 5") {
		t.Errorf("503 without Retry-After:\n%s", tail(res.messages, 3000))
	}
	if code, _ := apiGet(t, te.httpURL("/api/v1/calls/"+id), testAPIToken); code != 200 {
		t.Errorf("the call in progress is gone from the API while draining (%d)", code)
	}
	// The refused call has its durable record too.
	waitFor(t, 10*time.Second, "the refused call's record", func() bool {
		code, body := apiGet(t, te.httpURL("/api/v1/records?disposition=rejected"), testAPIToken)
		return code == 200 && strings.Contains(body, `"hangup_cause":"draining"`)
	})
	<-live
	select {
	case err := <-te.done:
		if err != nil {
			t.Errorf("serve after the drain: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the engine did not stop after its last call ended")
	}
	te.waitLog(t, time.Second, "drained: no calls left")
}

// TestReloadOnSIGHUP: SIGHUP loads the flow files again; a broken file is refused
// with its file:line and the old flows keep answering.
func TestReloadOnSIGHUP(t *testing.T) {
	dir := t.TempDir()
	src, err := os.ReadFile(filepath.Join(testFlowsDir, "short.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "short.yaml")
	if err := os.WriteFile(file, src, 0o644); err != nil {
		t.Fatal(err)
	}
	te := startEngine(t, engineOptions{flow: "short", configure: func(c *Config) { c.Flows.Dir = dir }})
	t.Parallel()
	version := func() string {
		code, body := apiGet(t, te.httpURL("/api/v1/flows"), testAPIToken)
		var list struct {
			Flows []struct{ Name, Version string }
		}
		if code != 200 || json.Unmarshal([]byte(body), &list) != nil || len(list.Flows) != 1 {
			t.Fatalf("GET /api/v1/flows = %d %s", code, body)
		}
		return list.Flows[0].Version
	}
	v1 := version()

	changed := strings.Replace(string(src), "description:", "description: changed;", 1)
	if changed == string(src) {
		t.Fatal("short.yaml has no description to change")
	}
	if err := os.WriteFile(file, []byte(changed), 0o644); err != nil {
		t.Fatal(err)
	}
	te.signals <- syscall.SIGHUP
	te.waitLog(t, 5*time.Second, "flows reloaded")
	v2 := version()
	if v2 == v1 {
		t.Errorf("flow version %s unchanged after the reload", v1)
	}

	if err := os.WriteFile(file, []byte(changed+"\n  bogus_node:\n    no_such_action: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	te.signals <- syscall.SIGHUP
	rec := te.waitLog(t, 5*time.Second, "flow reload refused; the old flows keep serving")
	if !strings.Contains(rec.str("error"), "short.yaml:") {
		t.Errorf("the refusal does not name the file and line: %v", rec)
	}
	if v := version(); v != v2 {
		t.Errorf("flow version %s after a refused reload, want %s still", v, v2)
	}
	// The flow still answers calls.
	runSipp(t, te, freeSippPorts(t), sippCall{scenario: "uac_hangup.xml", pause: 500 * time.Millisecond})
}

// waitFor polls cond until it holds or d passes.
func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(d); !cond(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
	}
}

// TestLoopbackBurstNotBanned: a burst of calls from loopback (the load generator, a
// local proxy) far above the flood guard's per-source INVITE rate is served in full
// and bans nobody: loopback is trusted by default.
func TestLoopbackBurstNotBanned(t *testing.T) {
	te := startEngine(t, engineOptions{flow: "short"})
	t.Parallel()
	runSipp(t, te, freeSippPorts(t), sippCall{scenario: "uac_hangup.xml", pause: 200 * time.Millisecond,
		calls: 40, limit: 40, rate: 200}) // 40 INVITEs in 0.2 s: twice the default burst of 20
	code, body := apiGet(t, te.httpURL("/api/v1/bans"), testAPIToken)
	if code != 200 || strings.Contains(body, `"key"`) {
		t.Errorf("GET /api/v1/bans after a loopback burst = %d %s, want none", code, body)
	}
}
