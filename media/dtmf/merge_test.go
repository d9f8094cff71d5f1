package dtmf

import (
	"fmt"
	"testing"
	"time"
)

// arrival is one digit handed to a Merger, and whether it must be reported.
type arrival struct {
	digit byte
	route Route
	ms    int
	want  bool
}

const (
	rtpR  = RouteRFC4733
	infoR = RouteSIPInfo
	toneR = RouteInband
)

func TestMerger(t *testing.T) {
	cases := []struct {
		name     string
		window   time.Duration
		arrivals []arrival
	}{
		{"same digit by two routes within the window", 0, []arrival{
			{'5', toneR, 0, true}, {'5', rtpR, 120, false},
		}},
		{"the copy stamped before the original", 0, []arrival{
			{'5', rtpR, 300, true}, {'5', toneR, 40, false},
		}},
		{"exactly at the window's edge", 200 * time.Millisecond, []arrival{
			{'5', toneR, 0, true}, {'5', rtpR, 200, false},
		}},
		{"just beyond the window", 200 * time.Millisecond, []arrival{
			{'5', toneR, 0, true}, {'5', rtpR, 201, true},
		}},
		{"two presses by one route are two digits", 0, []arrival{
			{'5', rtpR, 0, true}, {'5', rtpR, 100, true},
		}},
		{"two presses by two routes, interleaved", 0, []arrival{
			{'5', toneR, 40, true}, {'5', rtpR, 100, false},
			{'5', toneR, 140, true}, {'5', rtpR, 200, false},
		}},
		{"two presses, one route first each time", 0, []arrival{
			{'5', toneR, 40, true}, {'5', toneR, 140, true},
			{'5', rtpR, 100, false}, {'5', rtpR, 200, false},
		}},
		{"a press one route missed is still reported", 0, []arrival{
			{'5', toneR, 40, true}, {'5', rtpR, 100, false}, {'5', rtpR, 300, true},
		}},
		{"the nearest report absorbs the copy", 0, []arrival{
			{'5', toneR, 0, true}, {'5', toneR, 300, true},
			{'5', rtpR, 290, false}, // twin of the press at 300
			{'5', rtpR, 700, true},  // a third press in-band missed
		}},
		{"three routes, one press", 0, []arrival{
			{'#', infoR, 0, true}, {'#', toneR, 60, false}, {'#', rtpR, 150, false},
		}},
		{"different digits are never merged", 0, []arrival{
			{'1', toneR, 0, true}, {'2', rtpR, 10, true}, {'1', infoR, 20, false}, {'2', toneR, 30, false},
		}},
		{"letters in either case", 0, []arrival{
			{'A', toneR, 0, true}, {'a', infoR, 50, false}, {'d', infoR, 60, true},
		}},
		{"not a digit", 0, []arrival{
			{'E', toneR, 0, false}, {0, rtpR, 0, false}, {'5', toneR, 0, true},
		}},
		{"unknown routes are one route", 0, []arrival{
			{'7', RouteUnknown, 0, true}, {'7', Route(200), 10, true}, {'7', rtpR, 20, false},
		}},
		{"default window is 500 ms", 0, []arrival{
			{'9', toneR, 0, true}, {'9', rtpR, 500, false}, {'9', infoR, 501, true},
		}},
	}
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := NewMerger(WithWindow(tc.window))
			for i, a := range tc.arrivals {
				at := t0.Add(time.Duration(a.ms) * time.Millisecond)
				if got := m.Add(a.digit, a.route, at); got != a.want {
					t.Errorf("arrival %d (%q by %v at %d ms): %v, want %v", i, a.digit, a.route, a.ms, got, a.want)
				}
			}
		})
	}
}

func TestMergerZeroValueAndReset(t *testing.T) {
	var m Merger
	t0 := time.Now()
	if !m.Add('1', toneR, t0) || m.Add('1', rtpR, t0.Add(DefaultMergeWindow)) {
		t.Fatal("zero Merger does not merge within DefaultMergeWindow")
	}
	m.Add('2', toneR, t0)
	m.Reset()
	if !m.Add('2', rtpR, t0) {
		t.Error("Reset kept a reported digit")
	}
	w := NewMerger(WithWindow(time.Second))
	w.Add('3', toneR, t0)
	w.Reset()
	w.Add('3', toneR, t0)
	if w.Add('3', rtpR, t0.Add(900*time.Millisecond)) {
		t.Error("Reset lost the window")
	}
}

// TestMergerLongCall feeds many presses, more than the Merger remembers,
// through two routes: each is reported exactly once.
func TestMergerLongCall(t *testing.T) {
	var m Merger
	t0 := time.Now()
	reported := 0
	for i := range 1000 {
		d := keypad[i%len(keypad)]
		at := t0.Add(time.Duration(i) * 150 * time.Millisecond)
		if m.Add(d, toneR, at.Add(40*time.Millisecond)) {
			reported++
		}
		if m.Add(d, rtpR, at.Add(100*time.Millisecond)) {
			reported++
		}
	}
	if reported != 1000 {
		t.Errorf("%d digits reported for 1000 presses", reported)
	}
}

func TestRouteString(t *testing.T) {
	for r, want := range map[Route]string{
		RouteUnknown: "unknown", RouteRFC4733: "rfc4733", RouteSIPInfo: "sip_info",
		RouteInband: "inband", Route(99): "unknown",
	} {
		if got := fmt.Sprint(r); got != want {
			t.Errorf("Route(%d) = %q, want %q", r, got, want)
		}
	}
}

func TestMergerZeroAllocs(t *testing.T) {
	var m Merger
	at := time.Now()
	allocs := testing.AllocsPerRun(100, func() {
		at = at.Add(100 * time.Millisecond)
		m.Add('5', toneR, at)
		m.Add('5', rtpR, at)
	})
	if allocs != 0 {
		t.Errorf("%v allocations per digit", allocs)
	}
}
