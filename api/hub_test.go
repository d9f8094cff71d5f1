package api

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestHistoryKeepsPeaksOfTheLastHour(t *testing.T) {
	var h history
	base := time.Date(2026, 5, 22, 9, 0, 0, 0, time.UTC)
	h.add(base.Add(-30*time.Minute), CallCounts{InIVR: 99}) // more than an hour before the end
	h.add(base.Add(10*time.Second), CallCounts{InIVR: 2, Waiting: 1})
	h.add(base.Add(40*time.Second), CallCounts{InIVR: 1, Waiting: 5, WithAgents: 3})
	h.add(base.Add(5*time.Minute), CallCounts{WithAgents: 7})
	end := base.Add(35 * time.Minute)
	h.add(end, CallCounts{InIVR: 4})
	got := h.points(end)
	want := []HistoryPoint{
		{T: base, InIVR: 1, Waiting: 5, WithAgents: 3}, // the busiest sample, whole
		{T: base.Add(5 * time.Minute), WithAgents: 7},
		{T: end.Truncate(time.Minute), InIVR: 4},
	}
	if len(got) != len(want) {
		t.Fatalf("points %+v", got)
	}
	for i := range want {
		if !got[i].T.Equal(want[i].T) || got[i].InIVR != want[i].InIVR || got[i].Waiting != want[i].Waiting || got[i].WithAgents != want[i].WithAgents {
			t.Errorf("point %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	// An hour later the bucket of the first minute is reused, not summed.
	h.add(base.Add(time.Hour+time.Second), CallCounts{InIVR: 1})
	got = h.points(base.Add(time.Hour + time.Second))
	if last := got[len(got)-1]; last.InIVR != 1 || last.Waiting != 0 || !last.T.Equal(base.Add(time.Hour)) {
		t.Errorf("reused bucket %+v", last)
	}
	for _, p := range got {
		if p.T.Before(base.Add(time.Minute)) {
			t.Errorf("point older than an hour: %+v", p)
		}
	}
}

func TestOfferKeepsTheLatest(t *testing.T) {
	ch := make(chan []byte, 1)
	for _, s := range []string{"a", "b", "c"} {
		offer(ch, []byte(s)) // never blocks, however slow the reader
	}
	if got := string(<-ch); got != "c" {
		t.Errorf("mailbox holds %q, want the latest", got)
	}
}

// sseReader reads server-sent events.
type sseReader struct{ r *bufio.Reader }

// next returns the next event's name and data, skipping comments and fields
// other than event and data.
func (s sseReader) next() (event, data string, err error) {
	for {
		line, err := s.r.ReadString('\n')
		if err != nil {
			return "", "", err
		}
		line = strings.TrimRight(line, "\n")
		switch {
		case line == "":
			if event != "" || data != "" {
				return event, data, nil
			}
		case strings.HasPrefix(line, "event: "):
			event = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			data += strings.TrimPrefix(line, "data: ")
		case strings.HasPrefix(line, "retry: "):
			event = "retry"
		}
	}
}

// checkNoLeak fails if goroutines started during the test outlive it.
func checkNoLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if n := runtime.NumGoroutine(); n > before {
			buf := make([]byte, 1<<16)
			t.Errorf("%d goroutines leaked:\n%s", n-before, buf[:runtime.Stack(buf, true)])
		}
	})
}

func TestWallboardStream(t *testing.T) {
	checkNoLeak(t)
	f := newFakes(t)
	s, err := New(append(f.options(t), WithWallboardInterval(50*time.Millisecond), WithClock(time.Now))...)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	defer ts.Close()
	defer s.Close()

	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", ts.URL+"/api/v1/events/wallboard", nil)
	req.Header.Set("Authorization", "Bearer "+viewerToken)
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("stream: %d %v", resp.StatusCode, resp.Header)
	}
	sse := sseReader{bufio.NewReader(resp.Body)}
	if ev, _, err := sse.next(); err != nil || ev != "retry" {
		t.Fatalf("first event %q %v, want retry", ev, err)
	}
	ev, data, err := sse.next()
	if err != nil || ev != "wallboard" {
		t.Fatalf("event %q %v", ev, err)
	}
	checkShape(t, "GET", "/api/v1/wallboard", 200, []byte(data))
	var u WallboardUpdate
	if err := json.Unmarshal([]byte(data), &u); err != nil {
		t.Fatal(err)
	}
	if u.Calls != (CallCounts{InIVR: 1, Waiting: 1}) || len(u.Queues) != 2 || u.Queues[0].Waiting != 3 ||
		u.Agents["on_call"] != 1 || u.Agents["break"] != 1 || u.Interval.Std() != 50*time.Millisecond || len(u.History) != 1 {
		t.Errorf("update %+v", u)
	}

	// A change in the engine reaches the viewer within a few intervals.
	f.calls.mu.Lock()
	f.calls.calls = append(f.calls.calls, ActiveCall{ID: "c3", Stage: StageAgent}, ActiveCall{ID: "c4", Stage: StageAgent})
	f.calls.mu.Unlock()
	for {
		_, data, err := sse.next()
		if err != nil {
			t.Fatalf("stream ended: %v", err)
		}
		if err := json.Unmarshal([]byte(data), &u); err != nil {
			t.Fatal(err)
		}
		if u.Calls.WithAgents == 2 {
			break
		}
	}
	if p := u.History[len(u.History)-1]; p.WithAgents != 2 {
		t.Errorf("history did not record the peak: %+v", u.History)
	}

	// Close ends the stream, so http.Server.Shutdown need not wait for it.
	done := make(chan error, 1)
	go func() {
		_, err := io.Copy(io.Discard, resp.Body)
		done <- err
	}()
	s.Close()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("stream ended with %v, want EOF", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("stream still open after Close")
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// flakyWallboard succeeds once, then fails.
type flakyWallboard struct {
	mu    sync.Mutex
	calls int
}

func (w *flakyWallboard) Wallboard(context.Context) (WallboardData, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.calls++
	if w.calls == 1 {
		return WallboardData{Calls: CallCounts{Waiting: 4}}, nil
	}
	return WallboardData{}, errors.New("acd: store unreachable at redis://10.0.0.5")
}

func TestWallboardSampleErrorKeepsTheLastFigures(t *testing.T) {
	var log syncBuf
	h := newHub(&flakyWallboard{}, time.Second, func() time.Time { return t0 }, testLogger(&log))
	good := h.update(t0, WallboardData{Calls: CallCounts{Waiting: 4}}, nil)
	bad := h.update(t0.Add(time.Second), WallboardData{}, errors.New("acd: store unreachable at redis://10.0.0.5"))
	h.update(t0.Add(2*time.Second), WallboardData{}, errors.New("again"))
	var g, b WallboardUpdate
	if err := json.Unmarshal(good, &g); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(bad, &b); err != nil {
		t.Fatal(err)
	}
	if g.Error != "" || b.Calls.Waiting != 4 || b.Error == "" || strings.Contains(b.Error, "redis") {
		t.Errorf("good %+v\nbad %+v", g, b)
	}
	if b.Queues == nil || b.Agents == nil || b.History == nil {
		t.Errorf("nulls in the update: %s", bad)
	}
	if n := strings.Count(log.String(), "wallboard sample failed"); n != 1 {
		t.Errorf("logged %d times, want once (rate-limited): %s", n, log.String())
	}
}

func TestWallboardSnapshotWaitsForTheFirstSample(t *testing.T) {
	block := make(chan struct{})
	src := wallboardFunc(func(ctx context.Context) (WallboardData, error) {
		select {
		case <-block:
		case <-ctx.Done():
			return WallboardData{}, ctx.Err()
		}
		return WallboardData{Calls: CallCounts{InIVR: 2}}, nil
	})
	s, err := New(WithTokens(testTokens(t)), WithWallboard(src), WithWallboardInterval(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	go func() {
		time.Sleep(100 * time.Millisecond)
		close(block)
	}()
	w := do(t, s, "GET", "/api/v1/wallboard", viewerToken, "")
	if w.Code != 200 || !strings.Contains(w.Body.String(), `"in_ivr":2`) {
		t.Errorf("snapshot: %d %s", w.Code, w.Body.String())
	}
}

type wallboardFunc func(context.Context) (WallboardData, error)

func (f wallboardFunc) Wallboard(ctx context.Context) (WallboardData, error) { return f(ctx) }

func TestNewWallboardComposes(t *testing.T) {
	f := newFakes(t)
	d, err := NewWallboard(f.calls, f.queues, f.agents).Wallboard(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if d.Calls != (CallCounts{InIVR: 1, Waiting: 1}) || len(d.Queues) != 2 || d.Agents["wrap_up"] != 1 {
		t.Errorf("%+v", d)
	}
	if d, err := NewWallboard(nil, nil, nil).Wallboard(t.Context()); err != nil || d.Agents == nil {
		t.Errorf("empty wallboard %+v %v", d, err)
	}
	f.calls.mu.Lock() // the server's wallboard sampler reads it too
	f.calls.err = errors.New("boom")
	f.calls.mu.Unlock()
	if _, err := NewWallboard(f.calls, nil, nil).Wallboard(t.Context()); err == nil {
		t.Error("error swallowed")
	}
}
