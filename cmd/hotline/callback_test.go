//go:build linux

package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hotline-ivr/hotline/sip"
)

// TestCallbackThroughTrunk is a queue's callback end to end: a SIPp caller waits
// in care with agent alice (baresip, registered as 1001) on a break, presses 1 to
// take the callback offer and is hung up on, keeping their place; the queue counts
// the pending callback. Alice becomes available: her phone rings with the callback
// and answers; the engine dials the caller's number through the carrier trunk to a
// SIPp callee that answers and echoes RTP back; alice and the customer are bridged
// and alice's speech comes back to her phone through the customer (audio both
// ways). Alice hangs up, the customer's call ends, and care's figures count the
// callback flowed out and the call handled.
func TestCallbackThroughTrunk(t *testing.T) {
	requireAgentTool(t, "baresip", "baresip-core")
	requireAgentTool(t, "sox", "sox")
	requireAgentTool(t, "sipp", "sip-tester")
	dir := callbackFlows(t)
	customer := freeSippPorts(t)
	te := startEngine(t, engineOptions{flow: "callback", configure: callbackConfig(dir, "", customer)})
	t.Parallel()
	exclusiveAudio(t)
	te.waitLog(t, 5*time.Second, "acd: callbacks on", "trunk", "carrier")

	ph := startAgentPhone(t, te.udpAddr)
	waitFor(t, 15*time.Second, "the agent's phone registered", func() bool {
		return len(te.logs.find("telephony: agent phone", "agent", "alice", "online", "true")) > 0
	})
	setPresence(t, te, "alice", "break")

	// The caller presses 1 three seconds after the answer (music on hold by then)
	// and waits for the engine's BYE.
	runSipp(t, te, freeSippPorts(t), sippCall{scenario: "uac_dtmf.xml", pause: 3 * time.Second})
	te.waitLog(t, 10*time.Second, "telephony: left queue", "outcome", "callback")
	waitFor(t, 10*time.Second, "care holds one pending callback", func() bool {
		code, body := apiGet(t, te.httpURL("/api/v1/queues/care"), testAPIToken)
		return code == 200 && strings.Contains(body, `"callbacks":1`)
	})

	uasDone, out := startSippCallee(t, customer, "-rtp_echo")
	setPresence(t, te, "alice", "available")
	te.waitLog(t, 20*time.Second, "callback: customer answered")
	te.waitLog(t, 10*time.Second, "callback: bridged")
	waitFor(t, 5*time.Second, "alice on the callback in GET /api/v1/agents", func() bool {
		code, body := apiGet(t, te.httpURL("/api/v1/agents/alice"), testAPIToken)
		var a struct{ State string }
		return code == 200 && json.Unmarshal([]byte(body), &a) == nil && a.State == "on_call"
	})
	time.Sleep(4 * time.Second) // alice speaks; the customer echoes it back

	// Alice hangs up (baresip quits, ending its call): the customer's call ends.
	ph.quit()
	select {
	case err := <-uasDone:
		if err != nil {
			t.Fatalf("the customer (sipp) failed: %v\n%s", err, tail(out.String(), 3000))
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("the customer's call was not hung up after the agent left:\n%s", tail(out.String(), 3000))
	}

	// Audio both ways: alice's speech went to the customer and came back.
	heard := ph.heardWAV()
	if heard == "" {
		t.Fatal("baresip wrote no dump of what the agent heard")
	}
	pcm, rate := readMonoWAV(t, heard)
	voiced := 0
	for _, l := range frameLevels(pcm, rate) {
		if l > -35 {
			voiced++
		}
	}
	if voiced < 10 {
		t.Errorf("the agent heard %d voiced frames through the customer's echo, want at least 10", voiced)
	}

	var f struct {
		Offered, Answered, Handled int
		FlowedOut                  int `json:"flowed_out"`
	}
	waitFor(t, 10*time.Second, "care's figures count the callback handled", func() bool {
		code, body := apiGet(t, te.httpURL("/api/v1/queues/care/figures"), testAPIToken)
		return code == 200 && json.Unmarshal([]byte(body), &f) == nil && f.Handled == 1
	})
	if f.Offered != 1 || f.Answered != 0 || f.FlowedOut != 1 {
		t.Errorf("care figures %+v: want 1 offered, flowed out as a callback, 0 answered on the line, 1 handled", f)
	}
	if code, body := apiGet(t, te.httpURL("/api/v1/queues/care"), testAPIToken); code != 200 || !strings.Contains(body, `"callbacks":0`) {
		t.Errorf("care after the callback = %d %s, want no callback pending", code, body)
	}
	if b, err := os.ReadFile(filepath.Join(te.cfg.DataDir, callbacksFile)); err != nil || strings.Contains(string(b), "cb-") {
		t.Errorf("callbacks file after the callback: %q, %v; want no pending callback", b, err)
	}
	// The call to the customer has its own record: outbound, through the trunk,
	// answered, tied to the queue and to the call that asked for it.
	waitFor(t, 10*time.Second, "the callback call's record", func() bool {
		code, body := apiGet(t, te.httpURL("/api/v1/records?queue=care&disposition=resolved"), testAPIToken)
		return code == 200 && strings.Contains(body, `"direction":"outbound"`) && strings.Contains(body, `"trunk":"carrier"`)
	})
	te.waitIdle(t)
}

// TestAgentCreatedThroughAPI: an agent created through the API is listed and
// counted on the wallboard at once, their phone registers as their extension with
// the password the API set (sip.users knows only another phone) and they log in
// and are staffed for care; deleted, they are gone from both.
func TestAgentCreatedThroughAPI(t *testing.T) {
	requireAgentTool(t, "baresip", "baresip-core")
	requireAgentTool(t, "sox", "sox")
	te := startEngine(t, engineOptions{flow: "queue", configure: func(c *Config) {
		c.SIP.Users = map[string]SIPUser{"1999": {Password: "another-phone-1999"}}
	}})
	t.Parallel()

	code, body := apiDo(t, "POST", te.httpURL("/api/v1/agents"), testAPIToken,
		fmt.Sprintf(`{"id":"alice","name":"Alice Martin","extension":%q,"skills":{"billing":3},"password":%q}`, agentExt, agentPass))
	if code != 201 {
		t.Fatalf("POST /api/v1/agents = %d %s", code, body)
	}
	if code, body := apiDo(t, "POST", te.httpURL("/api/v1/agents"), testAPIToken, `{"id":"bad id","skills":{"x":7}}`); code != 400 ||
		!strings.Contains(body, "level 7") {
		t.Errorf("POST a bad agent = %d %s, want 400 naming the level", code, body)
	}
	agentState := func() string {
		code, body := apiGet(t, te.httpURL("/api/v1/agents/alice"), testAPIToken)
		var a struct{ State string }
		if code != 200 || json.Unmarshal([]byte(body), &a) != nil {
			return fmt.Sprint(code)
		}
		return a.State
	}
	if s := agentState(); s != "offline" {
		t.Fatalf("the new agent is %s, want offline", s)
	}
	wallboard := func() map[string]int {
		code, body := apiGet(t, te.httpURL("/api/v1/wallboard"), testAPIToken)
		var w struct{ Agents map[string]int }
		if code != 200 || json.Unmarshal([]byte(body), &w) != nil {
			t.Fatalf("GET /api/v1/wallboard = %d %s", code, body)
		}
		return w.Agents
	}
	waitFor(t, 5*time.Second, "the wallboard counts the new agent offline", func() bool { return wallboard()["offline"] == 1 })

	ph := startAgentPhone(t, te.udpAddr)
	waitFor(t, 15*time.Second, "the new agent's phone registered", func() bool {
		return len(te.logs.find("telephony: agent phone", "agent", "alice", "online", "true")) > 0
	})
	setPresence(t, te, "alice", "available")
	waitFor(t, 5*time.Second, "care has the new agent available", func() bool {
		code, body := apiGet(t, te.httpURL("/api/v1/queues/care"), testAPIToken)
		return code == 200 && strings.Contains(body, `"agents_available":1`)
	})
	waitFor(t, 5*time.Second, "the wallboard counts the agent available", func() bool { return wallboard()["available"] == 1 })

	if code, body := apiDo(t, "DELETE", te.httpURL("/api/v1/agents/alice"), testAPIToken, ""); code != 204 {
		t.Fatalf("DELETE /api/v1/agents/alice = %d %s", code, body)
	}
	if s := agentState(); s != "404" {
		t.Errorf("GET the deleted agent: %s, want 404", s)
	}
	waitFor(t, 5*time.Second, "care has nobody staffed", func() bool {
		code, body := apiGet(t, te.httpURL("/api/v1/queues/care"), testAPIToken)
		return code == 200 && strings.Contains(body, `"agents_staffed":0`)
	})
	waitFor(t, 5*time.Second, "the wallboard counts no agent", func() bool { return len(wallboard()) == 0 })
	ph.quit()
}

// callbackFlows writes the callback test flow (care, with the callback offer) and
// the environment binding care into a new directory.
func callbackFlows(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	flow := `name: callback
description: Queue every caller in care, offering a callback.
voice: en-us
start: care
defaults:
  error: hangup_error
nodes:
  care:
    queue:
      name: care
      callback: true
    on: {completed: end, full: end, timeout: end, closed: end, callback: end}
  end:
    hangup: resolved
  hangup_error:
    hangup: error
`
	if err := os.WriteFile(filepath.Join(dir, "callback.yaml"), []byte(flow), 0o644); err != nil {
		t.Fatal(err)
	}
	env, err := os.ReadFile(filepath.Join(testFlowsDir, "env.yaml")) // binds care
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "env.yaml"), env, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// callbackConfig configures the callback tests' engine: the flows in flowsDir,
// alice of agents.yaml with her phone's credentials, and the carrier trunk to the
// customer's SIPp; dataDir, when set, is kept across engines.
func callbackConfig(flowsDir, dataDir string, customer sippPorts) func(*Config) {
	return func(c *Config) {
		c.Flows.Dir = flowsDir
		if dataDir != "" {
			c.DataDir = dataDir
		}
		c.SIP.Users = map[string]SIPUser{agentExt: {Password: agentPass}}
		c.ACD.File = agentACDFile
		c.SIP.Trunks = []sip.TrunkConfig{{Name: "carrier", Host: "127.0.0.1", Port: customer.sip, Allow: []string{"+."}}}
		c.ACD.CallbackTrunk = "carrier"
	}
}

// TestCallbackSurvivesRestart: a callback taken while alice's phone is not
// registered is saved in data_dir; the engine stops and a new one starts on the
// same data_dir; it still holds the callback and, once alice's phone registers,
// dials the customer through the trunk and connects them.
func TestCallbackSurvivesRestart(t *testing.T) {
	requireAgentTool(t, "baresip", "baresip-core")
	requireAgentTool(t, "sox", "sox")
	requireAgentTool(t, "sipp", "sip-tester")
	flows, data := callbackFlows(t), t.TempDir()
	customer := freeSippPorts(t)
	te := startEngine(t, engineOptions{flow: "callback", configure: callbackConfig(flows, data, customer)})
	t.Parallel()

	// alice is available (agents.yaml) but has no phone: the caller waits and
	// takes the callback.
	runSipp(t, te, freeSippPorts(t), sippCall{scenario: "uac_dtmf.xml", pause: 3 * time.Second})
	te.waitLog(t, 10*time.Second, "telephony: left queue", "outcome", "callback")
	if b, err := os.ReadFile(filepath.Join(data, callbacksFile)); err != nil || !strings.Contains(string(b), `"number": "+15551230000"`) {
		t.Fatalf("callbacks file before the restart: %s, %v; want the caller's callback", b, err)
	}
	te.stop()
	if err := <-te.done; err != nil {
		t.Fatalf("the first engine's serve: %v", err)
	}

	te2 := startEngine(t, engineOptions{flow: "callback", configure: callbackConfig(flows, data, customer)})
	code, body := apiGet(t, te2.httpURL("/api/v1/queues/care"), testAPIToken)
	if code != 200 || !strings.Contains(body, `"callbacks":1`) {
		t.Fatalf("care after the restart = %d %s, want the callback pending", code, body)
	}
	uasDone, out := startSippCallee(t, customer, "-rtp_echo")
	ph := startAgentPhone(t, te2.udpAddr)
	te2.waitLog(t, 30*time.Second, "callback: customer answered")
	te2.waitLog(t, 10*time.Second, "callback: bridged")
	ph.quit()
	select {
	case err := <-uasDone:
		if err != nil {
			t.Fatalf("the customer (sipp) failed: %v\n%s", err, tail(out.String(), 3000))
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("the customer's call was not hung up after the agent left:\n%s", tail(out.String(), 3000))
	}
	waitFor(t, 10*time.Second, "no callback pending after it connected", func() bool {
		b, err := os.ReadFile(filepath.Join(data, callbacksFile))
		return err == nil && !strings.Contains(string(b), "cb-")
	})
	te2.waitIdle(t)
}
