package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestOriginateReminder: POST /api/v1/calls places an outbound call into a flow with
// variables set (a reminder naming appointment 42); the customer (a SIPp callee)
// answers, the flow speaks and hangs up, and the call's record says it was outbound,
// resolved, with the variable. An unknown flow is refused with 400.
func TestOriginateReminder(t *testing.T) {
	if _, err := exec.LookPath("sipp"); err != nil {
		t.Fatalf("sipp not found (Debian package sip-tester): %v", err)
	}
	dir := t.TempDir()
	flow := `name: remind
description: Remind a customer of an appointment.
voice: en-us
start: remind
variables: {appointment: int}
defaults:
  error: end
nodes:
  remind:
    say: This is a reminder of your appointment number {{ appointment }}.
    next: end
  end:
    hangup: resolved
`
	if err := os.WriteFile(filepath.Join(dir, "remind.yaml"), []byte(flow), 0o644); err != nil {
		t.Fatal(err)
	}
	te := startEngine(t, engineOptions{flow: "remind", configure: func(c *Config) { c.Flows.Dir = dir }})
	t.Parallel()

	customer := freeSippPorts(t)
	uasDone, out := startSippCallee(t, customer)

	post := func(body string) (int, string) {
		return apiDo(t, "POST", te.httpURL("/api/v1/calls"), testAPIToken, body)
	}
	if code, body := post(`{"to": "sip:cust@127.0.0.1:5", "flow": "nope"}`); code != 400 {
		t.Errorf("originate into an unknown flow = %d %s, want 400", code, body)
	}
	code, body := post(fmt.Sprintf(`{"to": "sip:cust@127.0.0.1:%d", "flow": "remind", "from": "+15550100", "vars": {"appointment": "42"}}`, customer.sip))
	var answer struct {
		CallID string `json:"call_id"`
	}
	if code/100 != 2 || json.Unmarshal([]byte(body), &answer) != nil || answer.CallID == "" {
		t.Fatalf("originate = %d %s", code, body)
	}
	select {
	case err := <-uasDone:
		if err != nil {
			t.Fatalf("the customer (sipp) failed: %v\n%s", err, tail(out.String(), 3000))
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("the customer was not called and hung up on:\n%s", tail(out.String(), 3000))
	}
	var rec struct {
		Direction, Disposition, Flow string
		Vars                         map[string]any
	}
	endedRecord(t, te, answer.CallID, &rec)
	if rec.Direction != "outbound" || rec.Disposition != "resolved" || rec.Flow != "remind" || rec.Vars["appointment"] != float64(42) {
		t.Errorf("record direction %q disposition %q flow %q vars %v", rec.Direction, rec.Disposition, rec.Flow, rec.Vars)
	}
	te.waitLog(t, 5*time.Second, "flow node", "call_id", answer.CallID, "node", "remind")
}
