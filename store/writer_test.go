package store_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hotline-ivr/hotline/store"
)

// callOps are the writes of one short call: start, two timeline events, finish.
func callOps(id string, start time.Time) []store.Op {
	end := fullRecord(id, start)
	return []store.Op{
		store.StartCall{Record: startRecord(id, start)},
		store.CallEvent{CallID: id, At: start, Kind: store.KindSIP, Name: "INVITE"},
		store.CallEvent{CallID: id, At: start.Add(time.Second), Kind: store.KindNode, Name: "welcome"},
		store.FinishCall{Record: end},
	}
}

// TestWriterUnderLoad: 1,000 calls submitted by 20 goroutines at once through
// one Writer with a queue smaller than the burst; after Close every record and
// event is in the database. (Throughput is BenchmarkWriter's business.)
func TestWriterUnderLoad(t *testing.T) {
	forEachBackend(t, func(t *testing.T, d db) {
		s := d.open(t, "")
		w, err := store.NewWriter(s, store.WithQueueSize(512), store.WithBatchSize(256))
		if err != nil {
			t.Fatal(err)
		}
		const callers, perCaller = 20, 50
		var wg sync.WaitGroup
		for c := range callers {
			wg.Go(func() {
				for i := range perCaller {
					id := fmt.Sprintf("L%02d-%03d", c, i)
					if err := w.Submit(callOps(id, at(time.Duration(c*perCaller+i)*time.Millisecond))...); err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		st := w.Stats()
		const ops = callers * perCaller * 4
		if st.Submitted != ops || st.Written != ops || st.Failed != 0 || st.Pending != 0 {
			t.Fatalf("stats %+v, want %d written", st, ops)
		}
		t.Logf("%s: %d ops in %d transactions, %d overflows", d.driver, st.Written, st.Batches, st.Overflows)
		if got := len(searchAll(t, s, store.SearchFilter{Limit: store.MaxLimit})); got != callers*perCaller {
			t.Fatalf("%d records, want %d", got, callers*perCaller)
		}
		if tl, err := s.Timeline(ctx, "L19-049"); err != nil || len(tl) != 2 {
			t.Errorf("last call's timeline: %d events, %v", len(tl), err)
		}
	})
}

// TestWriterCloseFlushes: Close right after a burst of Submits writes them all,
// Flush waits for what was submitted, and CreateTicket's id is the stored one.
func TestWriterCloseFlushes(t *testing.T) {
	forEachBackend(t, func(t *testing.T, d db) {
		s := d.open(t, "")
		w, err := store.NewWriter(s, store.WithClock(func() time.Time { return t0 }))
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Submit(callOps("first", t0)...); err != nil {
			t.Fatal(err)
		}
		if err := w.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		if r := getCall(t, s, "first"); r.State != store.StateEnded {
			t.Fatalf("after Flush: state %s", r.State)
		}
		id, err := w.CreateTicket(store.Ticket{CallID: "first", Category: "outage", Summary: "no signal"})
		if err != nil || !strings.HasPrefix(id, "TK-260522-") || len(id) != 20 {
			t.Fatalf("ticket id %q, %v", id, err)
		}
		for i := range 500 {
			if err := w.Submit(callOps(fmt.Sprintf("burst-%03d", i), at(time.Duration(i)*time.Second))...); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
		if got := len(searchAll(t, s, store.SearchFilter{Limit: store.MaxLimit})); got != 501 {
			t.Errorf("%d records after Close, want 501", got)
		}
		tk, err := s.Ticket(ctx, id)
		if err != nil || tk.Status != store.TicketOpen || !tk.CreatedAt.Equal(t0) || !tk.UpdatedAt.Equal(t0) {
			t.Errorf("ticket %+v, %v", tk, err)
		}
		if err := w.Submit(callOps("late", t0)...); !errors.Is(err, store.ErrClosed) {
			t.Errorf("Submit after Close: %v, want ErrClosed", err)
		}
	})
}

// TestWriterRefusedOp: an op the database refuses fails alone, logged with its
// content; the rest of its batch is written.
func TestWriterRefusedOp(t *testing.T) {
	forEachBackend(t, func(t *testing.T, d db) {
		s := d.open(t, "")
		var logBuf syncBuffer
		w, err := store.NewWriter(s, store.WithWriterLogger(slog.New(slog.NewJSONHandler(&logBuf, nil))))
		if err != nil {
			t.Fatal(err)
		}
		ops := callOps("good-1", t0)
		ops = append(ops, store.CallEvent{CallID: "ghost", At: t0, Kind: store.KindNote, Detail: "orphan event"})
		ops = append(ops, callOps("good-2", t0)...)
		if err := w.Submit(ops...); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if st := w.Stats(); st.Written != 8 || st.Failed != 1 {
			t.Errorf("stats %+v, want 8 written and 1 failed", st)
		}
		for _, id := range []string{"good-1", "good-2"} {
			getCall(t, s, id)
		}
		if log := logBuf.String(); !strings.Contains(log, "op not stored") || !strings.Contains(log, "orphan event") {
			t.Errorf("the refused op is not in the log:\n%s", log)
		}
	})
}

// fakeStore is a Store whose Write the test controls; the Writer calls nothing
// else.
type fakeStore struct {
	store.Store
	mu      sync.Mutex
	written []string // keys of the ops written, in order
	gate    chan struct{}
	entered chan struct{}     // if non-nil, closed when the first Write starts
	fail    func(n int) error // the n-th Write call (from 1) fails with this, if non-nil
	calls   int
	once    sync.Once
}

func (f *fakeStore) Write(ctx context.Context, ops ...store.Op) error {
	if f.entered != nil {
		f.once.Do(func() { close(f.entered) })
	}
	if f.gate != nil {
		select {
		case <-f.gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.fail != nil {
		if err := f.fail(f.calls); err != nil {
			return err
		}
	}
	for _, op := range ops {
		f.written = append(f.written, op.(store.CallEvent).Name)
	}
	return nil
}

func (f *fakeStore) keys() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.written...)
}

func note(i int) store.Op {
	return store.CallEvent{CallID: "c", At: t0, Kind: store.KindNote, Name: fmt.Sprint(i)}
}

// TestWriterOverflow: with the database stalled, Submit waits OverflowWait once,
// then queues past the queue size without waiting; nothing is dropped and the
// order is kept when the database comes back.
func TestWriterOverflow(t *testing.T) {
	f := &fakeStore{gate: make(chan struct{}), entered: make(chan struct{})}
	reg := prometheus.NewRegistry()
	m, err := store.NewWriterMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	var logBuf syncBuffer
	w, err := store.NewWriter(f, store.WithQueueSize(10), store.WithBatchSize(4),
		store.WithOverflowWait(50*time.Millisecond), store.WithMetrics(m),
		store.WithWriterLogger(slog.New(slog.NewTextHandler(&logBuf, nil))))
	if err != nil {
		t.Fatal(err)
	}
	const n = 100
	// The writer takes a first batch of 4 and blocks in the stalled database.
	if err := w.Submit(note(0), note(1), note(2), note(3)); err != nil {
		t.Fatal(err)
	}
	<-f.entered
	// Then 10 fit in the queue, the 15th waits 50 ms and overflows, the rest
	// overflow at once.
	start := time.Now()
	for i := 4; i < n; i++ {
		if err := w.Submit(note(i)); err != nil {
			t.Fatal(err)
		}
	}
	if el := time.Since(start); el < 50*time.Millisecond {
		t.Errorf("the Submits took %v: want one wait of at least 50ms", el)
	}
	st := w.Stats()
	if st.Overflows != n-14 || st.Pending != n {
		t.Errorf("stats %+v, want %d overflows and %d pending", st, n-14, n)
	}
	if got := metric(t, reg, "hotline_store_overflows_total", ""); got != n-14 {
		t.Errorf("overflow metric %v", got)
	}
	if !strings.Contains(logBuf.String(), "write queue full") {
		t.Errorf("no overflow warning in the log")
	}
	close(f.gate)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	keys := f.keys()
	if len(keys) != n {
		t.Fatalf("%d written, want %d", len(keys), n)
	}
	for i, k := range keys {
		if k != fmt.Sprint(i) {
			t.Fatalf("op %d written as %s: order lost", i, k)
		}
	}
	if got := metric(t, reg, "hotline_store_ops_total", "written"); got != n {
		t.Errorf("written metric %v", got)
	}
}

// TestWriterRetries: transient failures are retried until the write succeeds,
// keeping the order.
func TestWriterRetries(t *testing.T) {
	f := &fakeStore{fail: func(n int) error {
		if n <= 3 {
			return errors.New("connection refused")
		}
		return nil
	}}
	w, err := store.NewWriter(f)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		w.Submit(note(i))
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if st := w.Stats(); st.Written != 10 || st.Retries != 3 || st.Failed != 0 {
		t.Errorf("stats %+v: want 10 written after 3 retries", st)
	}
}

// TestWriterCloseLimit: a database that stays down does not hang Close forever:
// after the close limit the ops are logged and counted, and Close says so.
func TestWriterCloseLimit(t *testing.T) {
	f := &fakeStore{fail: func(int) error { return errors.New("connection refused") }}
	var logBuf syncBuffer
	w, err := store.NewWriter(f, store.WithCloseLimit(200*time.Millisecond), store.WithBatchSize(3),
		store.WithWriterLogger(slog.New(slog.NewTextHandler(&logBuf, nil))))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		w.Submit(note(i))
	}
	err = w.Close() // returns (the test's timeout would catch a hang) despite the dead database
	if err == nil || !strings.Contains(err.Error(), "10 ops unwritten") {
		t.Errorf("Close: %v, want 10 ops unwritten", err)
	}
	if st := w.Stats(); st.Failed != 10 || st.Written != 0 {
		t.Errorf("stats %+v", st)
	}
	if c := strings.Count(logBuf.String(), "op not stored"); c != 10 {
		t.Errorf("%d ops logged, want 10", c)
	}
}

// TestWriterRefusesInvalid: Submit validates, so a bad op is the caller's error,
// not a failed batch later.
func TestWriterRefusesInvalid(t *testing.T) {
	f := &fakeStore{}
	w, err := store.NewWriter(f)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := w.Submit(note(1), store.CallEvent{CallID: "c"}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("invalid op: %v", err)
	}
	if err := w.Submit(nil); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("nil op: %v", err)
	}
	if st := w.Stats(); st.Submitted != 0 {
		t.Errorf("an invalid Submit queued %d ops", st.Submitted)
	}
	for _, opt := range []store.WriterOption{store.WithQueueSize(0), store.WithBatchSize(0), store.WithOverflowWait(-1)} {
		if _, err := store.NewWriter(f, opt); err == nil {
			t.Errorf("NewWriter accepted a bad option")
		}
	}
	if _, err := store.NewWriter(nil); err == nil {
		t.Errorf("NewWriter accepted a nil Store")
	}
}

// syncBuffer is a bytes.Buffer safe for the writer goroutine's logging.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// metric reads a counter from reg: name, with the one label value given (or none).
func metric(t *testing.T, reg *prometheus.Registry, name, label string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if label == "" || (len(m.GetLabel()) == 1 && m.GetLabel()[0].GetValue() == label) {
				return m.GetCounter().GetValue()
			}
		}
	}
	t.Fatalf("metric %s{%s} not found", name, label)
	return 0
}

// TestWriterSnapshots: Submit queues a copy, so the call goroutine may change the
// record it submitted (its lists, its vars buffer) while the op waits; what is
// stored is what was submitted. Under -race this also proves no memory is shared.
func TestWriterSnapshots(t *testing.T) {
	s := db{driver: "sqlite", dsn: newDSN["sqlite"](t)}.open(t, "")
	w, err := store.NewWriter(s)
	if err != nil {
		t.Fatal(err)
	}
	rec := fullRecord("snap", t0)
	vars := []byte(`{"step":1}`)
	rec.Vars = vars
	tk := store.Ticket{ID: "TK-SNAP", CallID: "snap", CreatedAt: t0, Transcript: []string{"first"}}
	ev := store.CallEvent{CallID: "snap", At: t0, Kind: store.KindNote, Data: []byte(`{"a":1}`)}
	if err := w.Submit(store.FinishCall{Record: rec}, store.PutTicket{Ticket: tk}, ev); err != nil {
		t.Fatal(err)
	}
	rec.NodePath[0], rec.Recordings[0], rec.SurveyScores[0], rec.TicketIDs[0] = "changed", "changed", 1, "changed"
	copy(vars, `{"step":2}`)
	tk.Transcript[0] = "changed"
	copy(ev.Data, `{"a":2}`)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	want := fullRecord("snap", t0)
	want.Vars = []byte(`{"step":1}`)
	checkSame(t, "record", getCall(t, s, "snap"), want)
	if got, err := s.Ticket(ctx, "TK-SNAP"); err != nil || got.Transcript[0] != "first" {
		t.Errorf("ticket %+v, %v", got, err)
	}
	if tl, err := s.Timeline(ctx, "snap"); err != nil || len(tl) != 1 || string(tl[0].Data) != `{"a":1}` {
		t.Errorf("timeline %+v, %v", tl, err)
	}
}

// TestWriterCommitInterval: while writes keep coming, WithCommitInterval lets them
// gather: 100 writes 1 ms apart take a handful of transactions instead of about
// 100, in order; a write after a quiet spell is written at once, and Close does not
// wait out the interval.
func TestWriterCommitInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeStore{}
		w, err := store.NewWriter(f, store.WithCommitInterval(25*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		const n = 100
		for i := range n {
			if err := w.Submit(note(i)); err != nil {
				t.Fatal(err)
			}
			time.Sleep(time.Millisecond)
		}
		time.Sleep(time.Second) // quiet
		synctest.Wait()
		f.mu.Lock()
		calls := f.calls
		f.mu.Unlock()
		// One transaction per started 25 ms of the 100 ms of writes, and the first
		// write, which came after no transaction at all.
		if calls > 6 {
			t.Errorf("%d transactions for %d writes 1 ms apart, want at most 6", calls, n)
		}
		if got := f.keys(); len(got) != n || got[0] != "0" || got[n-1] != fmt.Sprint(n-1) {
			t.Fatalf("written %d ops (%v…), want %d in order", len(got), got[:min(3, len(got))], n)
		}

		start := time.Now()
		if err := w.Submit(note(n)); err != nil {
			t.Fatal(err)
		}
		synctest.Wait() // the writer is idle again: nothing is waiting on the clock
		if got := f.keys(); len(got) != n+1 || time.Since(start) != 0 {
			t.Errorf("a write after a quiet spell was not written at once: %d ops after %v", len(got), time.Since(start))
		}

		if err := w.Submit(note(n + 1)); err != nil {
			t.Fatal(err)
		}
		if err := w.Submit(note(n + 2)); err != nil {
			t.Fatal(err)
		}
		start = time.Now()
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d != 0 {
			t.Errorf("Close waited %v for the commit interval", d)
		}
		if got := f.keys(); len(got) != n+3 {
			t.Errorf("%d ops written at Close, want %d", len(got), n+3)
		}
	})
}

// TestWriterCommitIntervalFullBatch: a long commit interval never holds back a full
// batch nor makes a Submit wait for room: 40 writes in a burst go out in batches at
// once, without overflows.
func TestWriterCommitIntervalFullBatch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeStore{}
		w, err := store.NewWriter(f, store.WithCommitInterval(time.Hour), store.WithBatchSize(4),
			store.WithQueueSize(6), store.WithOverflowWait(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		for i := range 40 {
			if err := w.Submit(note(i)); err != nil {
				t.Fatal(err)
			}
		}
		synctest.Wait()
		if got := len(f.keys()); got < 36 {
			t.Errorf("%d of 40 writes done, want every full batch written at once", got)
		}
		if st := w.Stats(); st.Overflows != 0 {
			t.Errorf("%d overflows: a Submit waited out its overflow wait behind the interval", st.Overflows)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d >= time.Minute {
			t.Errorf("took %v: something waited out the interval or the overflow wait", d)
		}
		if got := f.keys(); len(got) != 40 {
			t.Errorf("%d ops written, want 40", len(got))
		}
	})
}

// TestWriterFlushCutsInterval: Flush does not wait out the commit interval. A write
// that lands while the writer lets writes gather (one came just before) is written
// as soon as someone flushes, so `hotline calls show` right after a call answers at
// once however long the interval.
func TestWriterFlushCutsInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeStore{}
		w, err := store.NewWriter(f, store.WithCommitInterval(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		if err := w.Submit(note(0)); err != nil {
			t.Fatal(err)
		}
		synctest.Wait() // written at once: nothing came before it
		if err := w.Submit(note(1)); err != nil {
			t.Fatal(err)
		}
		synctest.Wait() // the writer lingers for the rest of the hour
		if got := f.keys(); len(got) != 1 {
			t.Fatalf("%d ops written before the flush, want 1 (the second one gathering)", len(got))
		}
		start := time.Now()
		if err := w.Flush(t.Context()); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d != 0 {
			t.Errorf("Flush waited %v for the commit interval", d)
		}
		if got := f.keys(); len(got) != 2 {
			t.Errorf("%d ops written after Flush, want 2", len(got))
		}
	})
}
