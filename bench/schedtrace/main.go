// Command schedtrace reads a Go execution trace of the engine and says, for each kind
// of goroutine, how long it ran at a stretch and how long it waited for the CPU once
// runnable. It answers what a CPU profile cannot: which work held the engine's one
// core while a media clock shard, due to tick, waited behind it (bench/PROFILE.md).
//
//	curl -o /tmp/engine.trace 'http://127.0.0.1:8080/debug/pprof/trace?seconds=3'
//	go run ./bench/schedtrace /tmp/engine.trace
//
// A goroutine's kind is the function it was started with (the outermost frame of any
// stack the trace recorded for it). A run is a stretch of Go code: from the moment the
// goroutine was scheduled, or came back from a system call, until it blocked, yielded,
// ended or entered a system call. System calls are counted apart, with the longest:
// during one the goroutine keeps its P only until the runtime hands it to other work.
package main

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/exp/trace"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: schedtrace trace.out")
		os.Exit(2)
	}
	f, err := os.Open(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "schedtrace:", err)
		os.Exit(1)
	}
	defer f.Close()
	s, err := analyze(f)
	if err != nil {
		fmt.Fprintln(os.Stderr, "schedtrace:", err)
		os.Exit(1)
	}
	s.print(os.Stdout, 15)
}

// kind is what the trace says of one kind of goroutine.
type kind struct {
	name       string
	goroutines map[trace.GoID]bool
	runs       []time.Duration // each stretch of Go code
	waits      []time.Duration // runnable to running
	syscalls   []time.Duration // each system call
}

type summary struct {
	span  time.Duration
	kinds []*kind
}

func analyze(r io.Reader) (*summary, error) {
	tr, err := trace.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("read trace: %w", err)
	}
	name := map[trace.GoID]string{}
	runStart := map[trace.GoID]trace.Time{}
	readyAt := map[trace.GoID]trace.Time{}
	runs := map[trace.GoID][]time.Duration{}
	waits := map[trace.GoID][]time.Duration{}
	inSyscall := map[trace.GoID]trace.Time{}
	syscalls := map[trace.GoID][]time.Duration{}
	var first, last trace.Time
	for {
		ev, err := tr.ReadEvent()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read trace: %w", err)
		}
		if first == 0 {
			first = ev.Time()
		}
		last = ev.Time()
		if ev.Kind() != trace.EventStateTransition {
			continue
		}
		st := ev.StateTransition()
		if st.Resource.Kind != trace.ResourceGoroutine {
			continue
		}
		g := st.Resource.Goroutine()
		if _, ok := name[g]; !ok {
			if n := outermost(st.Stack); n != "" {
				name[g] = n
			}
		}
		from, to := st.Goroutine()
		t := ev.Time()
		if from == trace.GoRunning && to != trace.GoRunning {
			if at, ok := runStart[g]; ok {
				runs[g] = append(runs[g], t.Sub(at))
				delete(runStart, g)
			}
		}
		if from == trace.GoSyscall && to != trace.GoSyscall {
			if at, ok := inSyscall[g]; ok {
				syscalls[g] = append(syscalls[g], t.Sub(at))
				delete(inSyscall, g)
			}
		}
		switch to {
		case trace.GoRunnable:
			readyAt[g] = t
		case trace.GoRunning:
			if at, ok := readyAt[g]; ok {
				waits[g] = append(waits[g], t.Sub(at))
				delete(readyAt, g)
			}
			runStart[g] = t
		case trace.GoSyscall:
			inSyscall[g] = t
		}
	}
	byName := map[string]*kind{}
	add := func(g trace.GoID) *kind {
		n := cmp.Or(name[g], "(no stack in the trace)")
		k := byName[n]
		if k == nil {
			k = &kind{name: n, goroutines: map[trace.GoID]bool{}}
			byName[n] = k
		}
		k.goroutines[g] = true
		return k
	}
	for g, r := range runs {
		k := add(g)
		k.runs = append(k.runs, r...)
	}
	for g, w := range waits {
		k := add(g)
		k.waits = append(k.waits, w...)
	}
	for g, c := range syscalls {
		k := add(g)
		k.syscalls = append(k.syscalls, c...)
	}
	s := &summary{span: last.Sub(first)}
	for _, k := range byName {
		slices.Sort(k.runs)
		slices.Sort(k.waits)
		slices.Sort(k.syscalls)
		s.kinds = append(s.kinds, k)
	}
	slices.SortFunc(s.kinds, func(a, b *kind) int { return cmp.Compare(sum(b.runs), sum(a.runs)) })
	return s, nil
}

// outermost is the function a goroutine was started with: the last frame of its stack.
func outermost(st trace.Stack) string {
	var out string
	for f := range st.Frames() {
		out = f.Func
	}
	return out
}

func sum(d []time.Duration) time.Duration {
	var t time.Duration
	for _, x := range d {
		t += x
	}
	return t
}

// q is the q-quantile of sorted d (0 for none).
func q(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	return d[min(len(d)-1, int(p*float64(len(d))))]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f", float64(d)/float64(time.Millisecond)) }

func (s *summary) print(w io.Writer, top int) {
	fmt.Fprintf(w, "trace of %.2f s; run = a stretch of Go code, wait = runnable until running, syscall = in a system call (ms)\n\n", s.span.Seconds())
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "goroutines\truns\tGo share\trun p50\trun p99\trun max\twait p50\twait p90\twait p99\twait max\tsyscall share\tsyscall max\t  started with\t")
	for i, k := range s.kinds {
		if i == top {
			break
		}
		fmt.Fprintf(tw, "%d\t%d\t%.1f%%\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%.1f%%\t%s\t  %s\t\n", len(k.goroutines), len(k.runs),
			100*sum(k.runs).Seconds()/s.span.Seconds(), ms(q(k.runs, .5)), ms(q(k.runs, .99)), ms(q(k.runs, 1)),
			ms(q(k.waits, .5)), ms(q(k.waits, .9)), ms(q(k.waits, .99)), ms(q(k.waits, 1)),
			100*sum(k.syscalls).Seconds()/s.span.Seconds(), ms(q(k.syscalls, 1)), short(k.name))
	}
	tw.Flush()
}

// short drops the module path from a function name.
func short(fn string) string {
	return strings.TrimPrefix(fn, "github.com/hotline-ivr/hotline/")
}
