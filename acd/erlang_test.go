package acd

import (
	"errors"
	"fmt"
	"math"
	"testing"
	"time"
)

// TestStaffingCheckValues checks the values METRICS.md gives.
func TestStaffingCheckValues(t *testing.T) {
	for _, tc := range []struct {
		calls   float64
		aht     time.Duration
		agents  int
		sl      float64 // percent, one decimal
		asa     float64 // seconds, one decimal; 0: not given
		occ, pw float64 // rounded to 3 decimals
		traffic float64
	}{
		{calls: 100, aht: 180 * time.Second, agents: 14, sl: 88.8, asa: 7.8, occ: 0.714, pw: 0.174, traffic: 10},
		{calls: 600, aht: 240 * time.Second, agents: 87, sl: 81.1, asa: 11.6, occ: 0.920, pw: 0.339, traffic: 80},
	} {
		r, err := Staffing(tc.calls, 30*time.Minute, tc.aht, 0.80, 20*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%v calls/30 min, AHT %v, 80/20: %d agents, SL %.1f %%, ASA %.1f s, occupancy %.1f %%, P(wait) %.3f, A %.1f",
			tc.calls, tc.aht, r.Agents, r.SL*100, r.ASA.Seconds(), r.Occupancy*100, r.PWait, r.Traffic)
		if r.Agents != tc.agents {
			t.Errorf("agents = %d, want %d", r.Agents, tc.agents)
		}
		if got := math.Round(r.SL*1000) / 10; got != tc.sl {
			t.Errorf("SL = %.1f %%, want %.1f %%", got, tc.sl)
		}
		if got := math.Round(r.ASA.Seconds()*10) / 10; tc.asa != 0 && got != tc.asa {
			t.Errorf("ASA = %.1f s, want %.1f s", got, tc.asa)
		}
		if got := math.Round(r.Occupancy*1000) / 1000; got != tc.occ {
			t.Errorf("occupancy = %.3f, want %.3f", got, tc.occ)
		}
		if got := math.Round(r.PWait*1000) / 1000; got != tc.pw {
			t.Errorf("P(wait) = %.3f, want %.3f", got, tc.pw)
		}
		if r.Traffic != tc.traffic {
			t.Errorf("traffic = %v, want %v", r.Traffic, tc.traffic)
		}
		// One agent fewer must miss the target: the answer is the fewest.
		if below := ErlangC(r.Agents-1, r.Traffic, tc.aht, 20*time.Second); below.SL >= 0.80 {
			t.Errorf("%d agents already reach SL %.3f", r.Agents-1, below.SL)
		}
	}
}

// TestErlangCLarge checks the recursion stays finite where A^N/N! would overflow.
func TestErlangCLarge(t *testing.T) {
	r, err := Staffing(60000, 30*time.Minute, 300*time.Second, 0.9, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if r.Agents < 10000 || math.IsNaN(r.SL) || r.SL < 0.9 || r.SL > 1 {
		t.Fatalf("large staffing: %+v", r)
	}
	if r := ErlangC(5, 5, time.Minute, 0); r.PWait != 1 || r.SL != 0 {
		t.Fatalf("unstable queue: %+v", r)
	}
}

func TestStaffingBadInput(t *testing.T) {
	for _, tc := range []struct {
		calls    float64
		interval time.Duration
		aht      time.Duration
		sl       float64
	}{
		{-1, time.Hour, time.Minute, 0.8},
		{math.NaN(), time.Hour, time.Minute, 0.8},
		{math.Inf(1), time.Hour, time.Minute, 0.8},
		{10, 0, time.Minute, 0.8},
		{10, time.Hour, 0, 0.8},
		{10, time.Hour, time.Minute, 1},
		{10, time.Hour, time.Minute, 0},
	} {
		if _, err := Staffing(tc.calls, tc.interval, tc.aht, tc.sl, 20*time.Second); err == nil {
			t.Errorf("Staffing(%v, %v, %v, %v) accepted", tc.calls, tc.interval, tc.aht, tc.sl)
		}
	}
	if r, err := Staffing(0, time.Hour, time.Minute, 0.8, 20*time.Second); err != nil || r.Agents != 0 {
		t.Errorf("no calls: %+v, %v", r, err)
	}
	if _, err := Staffing(1e12, time.Second, time.Hour, 0.8, 20*time.Second); !errors.Is(err, ErrUnreachable) {
		t.Errorf("huge load: %v, want ErrUnreachable", err)
	}
}

func ExampleStaffing() {
	r, _ := Staffing(100, 30*time.Minute, 180*time.Second, 0.80, 20*time.Second)
	fmt.Printf("%d agents, SL %.1f %%, ASA %.1f s, occupancy %.1f %%\n", r.Agents, r.SL*100, r.ASA.Seconds(), r.Occupancy*100)
	// Output: 14 agents, SL 88.8 %, ASA 7.8 s, occupancy 71.4 %
}
