package guard

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hotline-ivr/hotline/sip/auth"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newTest(t *testing.T, cfg Config) (*Guard, *clock) {
	t.Helper()
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	g, err := New(cfg, WithClock(c.now), WithRegistry(prometheus.NewRegistry()))
	if err != nil {
		t.Fatal(err)
	}
	return g, c
}

var (
	a = netip.MustParseAddr("192.0.2.1")
	b = netip.MustParseAddr("192.0.2.2")
)

func TestRateBansOnlyTheFlooderAndExpires(t *testing.T) {
	g, c := newTest(t, Config{Invite: Rate{Rate: 2, Burst: 4}, BanTime: time.Minute})
	for i := range 4 {
		if !g.Request(a, "INVITE") {
			t.Fatalf("request %d within the burst dropped", i)
		}
	}
	if g.Request(a, "INVITE") || !g.Banned(a) {
		t.Fatal("request over the burst not dropped and banned")
	}
	if !g.Request(b, "INVITE") || g.Banned(b) {
		t.Fatal("another source suffers from the ban")
	}
	if g.Request(a, "OPTIONS") {
		t.Fatal("banned source served")
	}
	c.t = c.t.Add(time.Minute)
	if g.Banned(a) || !g.Request(a, "INVITE") {
		t.Fatal("ban did not expire")
	}
}

func TestRefillKeepsSteadyCallerServed(t *testing.T) {
	g, c := newTest(t, Config{Invite: Rate{Rate: 2, Burst: 2}})
	for i := range 100 {
		c.t = c.t.Add(500 * time.Millisecond)
		if !g.Request(a, "INVITE") {
			t.Fatalf("request %d at the allowed rate dropped", i)
		}
	}
}

func TestExemptNeverBanned(t *testing.T) {
	g, _ := newTest(t, Config{Invite: Rate{Rate: 1, Burst: 1}, Exempt: []string{"192.0.2.0/24"}, BlockScanners: true})
	for range 10 {
		if !g.Request(a, "INVITE") {
			t.Fatal("exempt source dropped")
		}
	}
	g.AuthFailed(a, auth.ReasonBadResponse, 100)
	if g.Scanner(a, "friendly-scanner") || g.Banned(a) {
		t.Fatal("exempt source banned")
	}
}

func TestAuthFailuresAndScannersBan(t *testing.T) {
	g, _ := newTest(t, Config{MaxAuthFailures: 3, BlockScanners: true})
	g.AuthFailed(a, auth.ReasonUnknownUser, 2)
	if g.Banned(a) {
		t.Fatal("banned below the limit")
	}
	g.AuthFailed(a, auth.ReasonUnknownUser, 3)
	if !g.Banned(a) {
		t.Fatal("not banned at the limit")
	}
	if g.Scanner(b, "Linphone/5.0") || !g.Scanner(b, "friendly-scanner") || !g.Banned(b) {
		t.Fatal("scanner User-Agent not banned (or a phone was)")
	}
	bans, _ := g.Bans(context.Background())
	if len(bans) != 2 || bans[0].Reason != ReasonAuth || bans[1].Reason != ReasonScanner {
		t.Fatalf("bans = %+v", bans)
	}
	if n, _ := g.UnbanAll(context.Background()); n != 2 || g.Banned(a) {
		t.Fatalf("UnbanAll = %d", n)
	}
}

// fakeAdmitter admits up to room calls.
type fakeAdmitter struct{ room int }

func (f *fakeAdmitter) AdmitCall() (func(), time.Duration, bool) {
	if f.room == 0 {
		return nil, 5 * time.Second, false
	}
	f.room--
	return func() { f.room++ }, 0, true
}

// TestAdmitCallAsksTheAdmitter: the guard judges no load of its own; without an
// Admitter every call is admitted, with one its answer is the guard's.
func TestAdmitCallAsksTheAdmitter(t *testing.T) {
	g, _ := newTest(t, Config{})
	for range 100 {
		release, _, ok := g.AdmitCall()
		if !ok || release == nil {
			t.Fatal("a guard without an Admitter refused a call")
		}
	}
	f := &fakeAdmitter{room: 1}
	g2, err := New(Config{}, WithAdmitter(f), WithRegistry(prometheus.NewRegistry()))
	if err != nil {
		t.Fatal(err)
	}
	release, _, ok := g2.AdmitCall()
	if !ok {
		t.Fatal("first call refused with room for one")
	}
	if _, retry, ok := g2.AdmitCall(); ok || retry != 5*time.Second {
		t.Errorf("second call: ok %v, Retry-After %v; want refused with the Admitter's 5s", ok, retry)
	}
	release()
	if _, _, ok := g2.AdmitCall(); !ok {
		t.Error("refused after the first call released its room")
	}
}

func TestSourceTableBounded(t *testing.T) {
	g, _ := newTest(t, Config{MaxSources: 100})
	for i := range 1000 {
		g.Request(netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}), "OPTIONS")
	}
	if len(g.sources) > 100 {
		t.Fatalf("%d sources tracked, limit 100", len(g.sources))
	}
}
