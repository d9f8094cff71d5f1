package main

import (
	"bytes"
	"runtime/trace"
	"strings"
	"sync"
	"testing"
	"time"
)

// worker is started as a goroutine of its own so the trace names its kind.
func worker(wg *sync.WaitGroup, ch <-chan struct{}) {
	defer wg.Done()
	for range ch {
		busy(200 * time.Microsecond)
	}
}

func busy(d time.Duration) {
	for start := time.Now(); time.Since(start) < d; {
	}
}

// TestAnalyze traces this process while a worker goroutine wakes up and runs ten times,
// and checks that the summary names the worker by its start function with a run and a
// wait for each wake-up.
func TestAnalyze(t *testing.T) {
	var buf bytes.Buffer
	if err := trace.Start(&buf); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	ch := make(chan struct{})
	wg.Add(1)
	go worker(&wg, ch)
	for range 10 {
		ch <- struct{}{}
		time.Sleep(time.Millisecond)
	}
	close(ch)
	wg.Wait()
	trace.Stop()

	s, err := analyze(&buf)
	if err != nil {
		t.Fatal(err)
	}
	var k *kind
	for _, x := range s.kinds {
		if strings.HasSuffix(x.name, "schedtrace.worker") {
			k = x
		}
	}
	if k == nil {
		var names []string
		for _, x := range s.kinds {
			names = append(names, x.name)
		}
		t.Fatalf("no goroutine kind for the worker among %q", names)
	}
	if len(k.goroutines) != 1 || len(k.runs) < 10 || len(k.waits) < 10 {
		t.Errorf("worker: %d goroutines, %d runs, %d waits; want 1 and at least 10 of each",
			len(k.goroutines), len(k.runs), len(k.waits))
	}
	if sum(k.runs) < 10*200*time.Microsecond {
		t.Errorf("worker ran %v in all, less than its ten busy loops", sum(k.runs))
	}
	var out bytes.Buffer
	s.print(&out, 5)
	if !strings.Contains(out.String(), "schedtrace.worker") {
		t.Errorf("printed summary lacks the worker:\n%s", out.String())
	}
	if _, err := analyze(strings.NewReader("not a trace")); err == nil {
		t.Error("garbage read as a trace")
	}
}
