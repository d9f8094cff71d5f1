package record

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hotline-ivr/hotline/media/audio"
)

// crashEnv makes the test binary run as the child that records until it is
// killed (the standard re-exec pattern: the parent runs os.Args[0]).
const crashEnv = "HOTLINE_RECORD_CRASH_CHILD"

const (
	crashRate     = 8000
	crashInterval = 250 * time.Millisecond
	crashFrame    = crashRate / 50
)

// TestSIGKILLLeavesPlayableFile records in a child process on a real 20 ms
// clock, kills it with SIGKILL at several points between two header
// rewrites, and checks that the file left behind is a valid WAV for our
// reader and for sox, covering at least the audio the child reported
// flushed at its last header rewrite, with every sample in place.
func TestSIGKILLLeavesPlayableFile(t *testing.T) {
	if path := os.Getenv(crashEnv); path != "" {
		crashChild(path)
		return
	}
	for _, tool := range []string{"sox", "soxi"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not found (install Debian package sox): %v", tool, err)
		}
	}
	// Kill at several phases of the 250 ms header interval.
	for _, after := range []time.Duration{0, 90 * time.Millisecond, 180 * time.Millisecond} {
		t.Run(fmt.Sprintf("kill+%v", after), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "2026", "01", "02", "crash.wav")
			lastCheckpoint, fed, elapsed := runAndKill(t, path, after)
			checkCrashFile(t, path, lastCheckpoint, fed, elapsed)
		})
	}
}

// runAndKill starts the child, waits for its third header rewrite, waits
// after, kills it with SIGKILL and returns the data size of the last
// rewrite it reported, the frames it had fed and how long it ran.
func runAndKill(t *testing.T, path string, after time.Duration) (lastCheckpoint int64, fed int, ran time.Duration) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestSIGKILLLeavesPlayableFile$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashEnv+"="+path)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	started := time.Now()
	type report struct {
		kind string
		n    int64
	}
	reports := make(chan report, 1024)
	go func() {
		defer close(reports)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			kind, num, ok := strings.Cut(sc.Text(), " ")
			if n, err := strconv.ParseInt(num, 10, 64); ok && err == nil {
				reports <- report{kind, n}
			}
		}
	}()
	take := func(r report) {
		switch r.kind {
		case "checkpoint":
			lastCheckpoint = r.n
		case "fed":
			fed = int(r.n)
		}
	}
	checkpoints := 0
	timeout := time.After(20 * time.Second)
	for checkpoints < 3 {
		select {
		case r, ok := <-reports:
			if !ok {
				_ = cmd.Wait()
				t.Fatalf("child exited before its third header rewrite: %s", stderr.String())
			}
			take(r)
			if r.kind == "checkpoint" {
				checkpoints++
			}
		case <-timeout:
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			t.Fatalf("no header rewrite from the child in 20 s: %s", stderr.String())
		}
	}
	time.Sleep(after)
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	ran = time.Since(started)
	for r := range reports { // what the child wrote before it died
		take(r)
	}
	err = cmd.Wait()
	ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("child ended with %v, want death by SIGKILL: %s", err, stderr.String())
	}
	return lastCheckpoint, fed, ran
}

// checkCrashFile validates what the killed child left behind.
func checkCrashFile(t *testing.T, path string, lastCheckpoint int64, fed int, ran time.Duration) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	w := parseWAV(t, b)
	if w.rate != crashRate || w.channels != 2 {
		t.Fatalf("header: %d Hz, %d channels", w.rate, w.channels)
	}
	if int64(w.dataSize) < lastCheckpoint {
		t.Fatalf("header covers %d bytes, less than the %d flushed at the last reported rewrite", w.dataSize, lastCheckpoint)
	}
	frames := int(w.dataSize) / 4
	left, right := channel(w.samples, 2, 0), channel(w.samples, 2, 1)
	wantL, wantR := make([]int16, frames), make([]int16, frames)
	pattern(wantL, 0, 0)
	pattern(wantR, 0, 1)
	silent := 0
	for f := 0; f*crashFrame < frames; f++ {
		lo, hi := f*crashFrame, min((f+1)*crashFrame, frames)
		if slices0(left[lo:hi]) && slices0(right[lo:hi]) {
			silent++ // a frame dropped by a slow disk: silence in its place
			continue
		}
		for i := lo; i < hi; i++ {
			if left[i] != wantL[i] || right[i] != wantR[i] {
				t.Fatalf("sample %d is %d/%d, want %d/%d", i, left[i], right[i], wantL[i], wantR[i])
			}
		}
	}

	pcm, rate, err := audio.ReadWAV(bytes.NewReader(b))
	if err != nil || rate != crashRate || len(pcm) != frames {
		t.Fatalf("audio.ReadWAV: %d samples at %d Hz, %v; want %d at %d", len(pcm), rate, err, frames, crashRate)
	}
	if c, r, s := soxInfo(t, path); c != 2 || r != crashRate || s != frames {
		t.Fatalf("soxi: %d channels, %d Hz, %d samples; want 2, %d, %d", c, r, s, crashRate, frames)
	}
	// sox must also decode the whole file, not just read its header.
	if out, err := exec.Command("sox", path, "-n", "stat").CombinedOutput(); err != nil {
		t.Fatalf("sox %s -n stat: %v\n%s", path, err, out)
	}
	info, _ := exec.Command("sox", "--i", path).CombinedOutput()

	covered := time.Duration(frames) * time.Second / crashRate
	fedDur := time.Duration(fed) * 20 * time.Millisecond
	t.Logf("killed after %v: child fed %v, last reported rewrite %v, header covers %v (%d bytes more in the file), %d silent frames; lost %v\n%s",
		ran.Round(time.Millisecond), fedDur, time.Duration(lastCheckpoint/4)*time.Second/crashRate, covered,
		w.trailing, silent, fedDur-covered, info)
	if fedDur-covered > crashInterval+200*time.Millisecond {
		t.Errorf("lost %v of audio, more than one header interval (%v) plus the write batch", fedDur-covered, crashInterval)
	}
}

func slices0(s []int16) bool {
	for _, v := range s {
		if v != 0 {
			return false
		}
	}
	return true
}

// crashChild records the pattern at 8 kHz stereo on a real 20 ms clock,
// reporting every header rewrite and every frame fed on stdout, until the
// parent kills it.
func crashChild(path string) {
	report := func(kind string, n int64) {
		// One write per line: the parent must see all a dead child wrote.
		_, _ = os.Stdout.WriteString(kind + " " + strconv.FormatInt(n, 10) + "\n")
	}
	hook := func(c *config) { c.onCheckpoint = func(n int64) { report("checkpoint", n) } }
	r, err := Create(path, crashRate, WithHeaderInterval(crashInterval), hook)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	caller, engine := make([]int16, crashFrame), make([]int16, crashFrame)
	start := time.Now()
	tick := time.NewTicker(20 * time.Millisecond)
	for sent := 0; time.Since(start) < 30*time.Second; <-tick.C {
		for due := int(time.Since(start) / (20 * time.Millisecond)); sent < due; sent++ {
			pattern(caller, sent*crashFrame, 0)
			pattern(engine, sent*crashFrame, 1)
			r.WriteStereo(caller, engine)
			report("fed", int64(sent+1))
		}
	}
	fmt.Fprintln(os.Stderr, "child was not killed within 30 s")
	os.Exit(3)
}
