package store_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/hotline-ivr/hotline/store"
	"github.com/hotline-ivr/hotline/store/internal/pgtest"
	_ "github.com/hotline-ivr/hotline/store/postgres"
	_ "github.com/hotline-ivr/hotline/store/sqlite"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if err := pgtest.StopShared(); err != nil {
		fmt.Fprintln(os.Stderr, "stop the test PostgreSQL:", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

// newDSN makes a fresh, empty database for one test, per backend. A backend that
// registers without an entry here fails every table test: it must be tested.
var newDSN = map[string]func(t testing.TB) string{
	"sqlite": func(t testing.TB) string { return filepath.Join(t.TempDir(), "hotline.db") },
	"postgres": func(t testing.TB) string {
		srv, err := pgtest.Shared()
		if err != nil {
			t.Fatal(err)
		}
		dsn, err := srv.NewDatabase(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return dsn
	},
}

// db is one backend's fresh database in a test.
type db struct {
	driver, dsn string
}

// open opens the database as engine node node; the store is closed at cleanup.
func (d db) open(t testing.TB, node string) store.Store {
	t.Helper()
	s, err := store.Open(context.Background(), store.Config{Driver: d.driver, DSN: d.dsn, Node: node}, nil)
	if err != nil {
		t.Fatalf("open %s: %v", d.driver, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// forEachBackend runs fn as a parallel subtest per registered backend, each with a
// fresh database.
func forEachBackend(t *testing.T, fn func(t *testing.T, d db)) {
	t.Helper()
	drivers := store.Drivers()
	if len(drivers) < 2 {
		t.Fatalf("registered drivers %v: want sqlite and postgres", drivers)
	}
	for _, name := range drivers {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			mk := newDSN[name]
			if mk == nil {
				t.Fatalf("driver %s has no test database: add it to newDSN", name)
			}
			fn(t, db{driver: name, dsn: mk(t)})
		})
	}
}

var ctx = context.Background()

// t0 is the tests' epoch: microsecond-aligned, as stored.
var t0 = time.Date(2026, 5, 22, 9, 30, 0, 0, time.UTC)

func at(d time.Duration) time.Time { return t0.Add(d) }

// fullRecord is a finished record with every field set.
func fullRecord(id string, start time.Time) store.CallRecord {
	return store.CallRecord{
		ID: id, Node: "node-a", State: store.StateEnded,
		StartedAt: start, AnsweredAt: start.Add(250 * time.Millisecond), EndedAt: start.Add(125*time.Second + 500*time.Microsecond),
		Direction: store.DirectionInbound, Caller: "+8613800138000", Called: "10086",
		Trunk: "carrier-a", Transport: "udp", Codec: "PCMU",
		Flow: "telecom", FlowVersion: "3f2a9c1d", Language: "zh",
		NodePath:         []string{"welcome", "menu", "billing", "sub:check", "queue_billing", "survey"},
		Intent:           "billing_inquiry",
		IntentConfidence: 0.92, Sentiment: -0.4,
		Disposition: store.DispositionTransferred, Contained: true,
		Queue: "billing", Agent: "alice",
		Wait: 12500 * time.Millisecond, Talk: 60 * time.Second, Hold: 5 * time.Second, WrapUp: 10 * time.Second,
		Recordings:   []string{"/var/lib/hotline/rec/" + id + ".wav", "/var/lib/hotline/vm/" + id + ".wav"},
		SurveyScores: []int{4, 5},
		TicketIDs:    []string{"TK-260522-AAAA", "TK-260522-BBBB"},
		HangupCause:  "normal_clearing", HangupSide: store.HangupCaller,
		Quality: store.Quality{PacketsSent: 6250, PacketsReceived: 6243, PacketsLost: 7, LossPercent: 0.112,
			JitterMs: 3.25, RTTMs: 41.5, MOS: 4.31},
		Vars: json.RawMessage(`{"account": "123-456", "digits": "1", "amount": 42.5, "vip": true, "nested": {"a": [1, 2]}}`),
	}
}

// startRecord is what is known when a call arrives.
func startRecord(id string, start time.Time) store.CallRecord {
	return store.CallRecord{ID: id, StartedAt: start, Direction: store.DirectionInbound,
		Caller: "+15550100", Called: "+15550199", Transport: "udp", Codec: "PCMU"}
}

func write(t testing.TB, s store.Store, ops ...store.Op) {
	t.Helper()
	if err := s.Write(ctx, ops...); err != nil {
		t.Fatalf("write: %v", err)
	}
}

func getCall(t testing.TB, s store.Store, id string) store.CallRecord {
	t.Helper()
	r, err := s.Call(ctx, id)
	if err != nil {
		t.Fatalf("call %s: %v", id, err)
	}
	return r
}

// diff lists the fields where got and want differ, JSON fields compared by
// meaning (PostgreSQL's jsonb rewrites spacing and key order).
func diff(got, want any) []string {
	var out []string
	gv, wv := reflect.ValueOf(got), reflect.ValueOf(want)
	for i := range gv.NumField() {
		name := gv.Type().Field(i).Name
		g, w := gv.Field(i).Interface(), wv.Field(i).Interface()
		if gr, ok := g.(json.RawMessage); ok {
			if !sameJSON(gr, w.(json.RawMessage)) {
				out = append(out, fmt.Sprintf("%s: got %s, want %s", name, gr, w))
			}
			continue
		}
		if !reflect.DeepEqual(g, w) {
			out = append(out, fmt.Sprintf("%s: got %#v, want %#v", name, g, w))
		}
	}
	return out
}

func sameJSON(a, b json.RawMessage) bool {
	if len(a) == 0 || len(b) == 0 {
		return len(a) == len(b)
	}
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return bytes.Equal(a, b)
	}
	return reflect.DeepEqual(x, y)
}

func checkSame(t testing.TB, what string, got, want any) {
	t.Helper()
	for _, d := range diff(got, want) {
		t.Errorf("%s: %s", what, d)
	}
}

// ids lists the records' ids in order.
func ids(recs []store.CallRecord) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.ID
	}
	return out
}
