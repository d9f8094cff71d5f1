package main

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hotline-ivr/hotline/acd"
)

// staffing runs `hotline staffing args...` and decodes its JSON.
func staffing(t *testing.T, args ...string) acd.Result {
	t.Helper()
	var out bytes.Buffer
	root := newRootCmd()
	root.SetOut(&out)
	root.SetArgs(append([]string{"staffing", "--json"}, args...))
	if err := root.Execute(); err != nil {
		t.Fatalf("hotline staffing %v: %v", args, err)
	}
	var r acd.Result
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatalf("hotline staffing output %q: %v", out.String(), err)
	}
	return r
}

// TestStaffingCommand: the textbook case, 100 calls in 30 minutes at 3 minutes each
// (10 Erlangs) for 80 % within 20 s, needs the fewest agents that reach the target:
// that many reach it, one fewer does not.
func TestStaffingCommand(t *testing.T) {
	r := staffing(t, "--calls", "100", "--interval", "30m", "--aht", "3m", "--sl", "0.8", "--within", "20s")
	if r.Traffic != 10 {
		t.Errorf("traffic %v Erlangs, want 10", r.Traffic)
	}
	if r.SL < 0.8 {
		t.Errorf("%d agents reach %.3f, below the target", r.Agents, r.SL)
	}
	fewer := staffing(t, "--calls", "100", "--interval", "30m", "--aht", "3m", "--within", "20s", "--agents", strconv.Itoa(r.Agents-1))
	if fewer.SL >= 0.8 {
		t.Errorf("%d agents already reach %.3f: %d is not the fewest", r.Agents-1, fewer.SL, r.Agents)
	}
	// METRICS.md's check values.
	if r.Agents != 14 || math.Round(r.SL*1000) != 888 || r.ASA.Round(100*time.Millisecond) != 7800*time.Millisecond {
		t.Errorf("100 calls/30 min, AHT 180 s: %d agents, SL %.3f, ASA %v; METRICS.md says 14, 88.8 %%, 7.8 s", r.Agents, r.SL, r.ASA)
	}
	big := staffing(t, "--calls", "600", "--interval", "30m", "--aht", "4m")
	if big.Agents != 87 || math.Round(big.SL*1000) != 811 {
		t.Errorf("600 calls/30 min, AHT 240 s: %d agents, SL %.3f; METRICS.md says 87, 81.1 %%", big.Agents, big.SL)
	}
	var out bytes.Buffer
	root := newRootCmd()
	root.SetOut(&out)
	root.SetArgs([]string{"staffing", "--calls", "100", "--interval", "30m", "--aht", "3m", "--agents", "9"})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "unstable") {
		t.Errorf("9 agents for 10 Erlangs is not reported unstable:\n%s", out.String())
	}
}
