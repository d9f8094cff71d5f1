//go:build linux

package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/hotline-ivr/hotline/internal/chromium"
)

// The live wallboard (/wallboard) in headless Chromium against the real engine: a
// SIPp caller waits in the care queue, the page shows it without reloading (the
// server-sent events of /api/v1/events/wallboard), and a screenshot of the page is
// kept for CI. Issue 8, item 5.

const (
	// wallboardTick is the engine's api.wallboard_interval in this test: short, so
	// that the page follows the call quickly.
	wallboardTick = 200 * time.Millisecond
	// wallboardCallerPause is how long the SIPp caller stays on the line after the
	// answer: long enough to be seen waiting and photographed on a loaded 2-core box.
	wallboardCallerPause = 10 * time.Second
	// wallboardState is the page's state, shown when a wait fails.
	wallboardState = `JSON.stringify({url: location.href, status: document.getElementById("status")?.textContent,
		ivr: document.getElementById("in-ivr")?.textContent, waiting: document.getElementById("waiting")?.textContent,
		agents: document.getElementById("with-agents")?.textContent, rows: document.getElementById("queue-rows")?.innerText,
		chart: document.getElementById("chart-desc")?.textContent, updates: document.body?.dataset.updates,
		connects: document.body?.dataset.connects, error: document.getElementById("login-error")?.textContent})`
	// careRow is the care queue's row of the queue table.
	careRow = `document.querySelector('#queue-rows tr[data-queue="care"]')`
)

// wallboardShows is a JavaScript condition: the page is live and shows n calls
// waiting, in total and in the care queue.
func wallboardShows(n string) string {
	return `document.getElementById("status").dataset.state === "live" &&
		document.getElementById("waiting").textContent === "` + n + `" &&
		!!` + careRow + ` && ` + careRow + `.querySelector("td.waiting").textContent === "` + n + `"`
}

// TestWallboardInChromium: headless Chromium opens /wallboard, gets the login form,
// logs in with an API token (the form's cookie), and the page goes live showing
// nobody waiting. A SIPp caller then waits in the care queue: without a reload, the
// page shows one call waiting in total and in the care row (with a longest wait, the
// service level and abandonment targets, the agents by state); a screenshot is
// written as a PNG (to $HOTLINE_ARTIFACTS when set, for CI to keep) and checked to
// be a real picture. When the caller hangs up, the page goes back to nobody waiting
// and the hour's chart shows the caller's minute, still without a reload.
func TestWallboardInChromium(t *testing.T) {
	te := startEngine(t, engineOptions{flow: "queue", configure: func(c *Config) {
		c.API.WallboardInterval = &Duration{wallboardTick}
	}})
	t.Parallel()

	_, page := chromium.Start(t, te.httpURL("/wallboard"), "")
	page.Diagnostic = wallboardState
	if err := page.Call("Emulation.setDeviceMetricsOverride",
		map[string]any{"width": 1280, "height": 1000, "deviceScaleFactor": 1, "mobile": false}, nil); err != nil {
		t.Fatalf("sizing the page for the screenshot: %v", err)
	}

	// Without the cookie the page is the login form; log in through it.
	page.Wait(t, "the login form", `!!document.getElementById("token") && !document.getElementById("waiting")`)
	page.MustEval(t, `(() => { document.getElementById("token").value = `+jsQuote(testAPIToken)+`;
		document.querySelector('form[action="/wallboard/login"]').submit(); return true; })()`, nil)
	// The form posts, the engine sets the cookie and redirects to /wallboard: the
	// page navigates, and an evaluation may land in the old document meanwhile.
	wallboardWaitNavigated(t, page)
	page.Wait(t, "the wallboard live with nobody waiting", wallboardShows("0"))
	// A mark that a reload would erase: every later update must come over the stream.
	page.MustEval(t, `window.wallboardTestMark = "kept"`, nil)

	done := make(chan struct{})
	go func() {
		defer close(done)
		if res, err := execSipp(t, te.sipTarget(""), freeSippPorts(t), sippCall{scenario: "uac_hangup.xml", pause: wallboardCallerPause}); err != nil {
			t.Errorf("the queued caller's call failed: %v\n%s", err, tail(res.messages, 6000))
		}
	}()
	t.Cleanup(func() { <-done }) // sipp ends by itself after its pause, even if the test failed

	page.Wait(t, "the wallboard showing one caller waiting in care", wallboardShows("1"))
	var now struct {
		InIVR, WithAgents, Longest, SLTarget, AbandonTarget, Answered, Mark string
		States                                                              map[string]string
	}
	page.MustEval(t, `(() => {
		const row = `+careRow+`, text = (sel) => row.querySelector(sel).textContent;
		const states = {};
		for (const li of document.querySelectorAll("#agent-states li")) states[li.dataset.state] = li.querySelector("strong").textContent;
		return {InIVR: document.getElementById("in-ivr").textContent, WithAgents: document.getElementById("with-agents").textContent,
			Longest: text("td.longest"), SLTarget: text("td.sl .target"), AbandonTarget: text("td.abandon .target"),
			Answered: text("td.answered"), Mark: window.wallboardTestMark || "", States: states};
	})()`, &now)
	if now.InIVR != "0" || now.WithAgents != "0" {
		t.Errorf("wallboard tiles in IVR %q, with agents %q while the only caller waits in a queue, want 0 and 0", now.InIVR, now.WithAgents)
	}
	if !regexp.MustCompile(`^\d+:\d\d$`).MatchString(now.Longest) {
		t.Errorf("care's longest wait %q while a caller waits, want m:ss", now.Longest)
	}
	if now.SLTarget != "target ≥ 80% in 20 s" || now.AbandonTarget != "target ≤ 5.0%" {
		t.Errorf("care's targets %q and %q, want the defaults: target ≥ 80%% in 20 s, target ≤ 5.0%%", now.SLTarget, now.AbandonTarget)
	}
	if now.Answered != "0" {
		t.Errorf("care's answered today %q with no agent, want 0", now.Answered)
	}
	if len(now.States) < 7 || now.States["available"] != "0" || now.States["on_call"] != "0" {
		t.Errorf("agents by state %v with no agent configured, want every state listed at 0", now.States)
	}
	if now.Mark != "kept" {
		t.Errorf("the page reloaded to show the waiting caller; want the update over server-sent events")
	}

	wallboardScreenshot(t, page)

	<-done
	page.Wait(t, "the wallboard back to nobody waiting after the caller hung up", wallboardShows("0"))
	// The chart's minute holds the waiting caller (a bar of the queue's colour). Its
	// peak is not checked to be 1: the history keeps each stage's peak apart, so a
	// call that went from the IVR to the queue within a minute counts in both.
	page.Wait(t, "the chart showing the waiting caller", `!!document.querySelector("#chart rect.b-queue") &&
		document.getElementById("chart-desc").textContent.startsWith("Peak ")`)
	var after struct{ Mark, Updates, Connects, Abandon string }
	page.MustEval(t, `({Mark: window.wallboardTestMark || "", Updates: document.body.dataset.updates,
		Connects: document.body.dataset.connects, Abandon: `+careRow+`.querySelector("td.abandon .value").textContent})`, &after)
	if after.Mark != "kept" {
		t.Errorf("the page reloaded to show the caller gone; want the update over server-sent events")
	}
	t.Logf("wallboard after the hang-up: %s updates over %s stream connection(s), care abandonment %q", after.Updates, after.Connects, after.Abandon)
}

// wallboardWaitNavigated waits, tolerating the evaluation errors of a page in the
// middle of navigating, until the logged-in wallboard has loaded.
func wallboardWaitNavigated(t *testing.T, page *chromium.Page) {
	t.Helper()
	var lastErr error
	for range int(chromium.WaitGuard / (100 * time.Millisecond)) {
		var ok bool
		err := page.Eval(`document.readyState === "complete" && !!document.getElementById("waiting")`, &ok)
		if err == nil && ok {
			return
		}
		if err != nil {
			lastErr = err
		}
		time.Sleep(100 * time.Millisecond)
	}
	var state any
	_ = page.Eval(wallboardState, &state)
	t.Fatalf("the wallboard never loaded after the login within %v (last error %v, page state %v)", chromium.WaitGuard, lastErr, state)
}

// wallboardScreenshot captures the page as a PNG, writes it to $HOTLINE_ARTIFACTS
// (CI uploads that directory) or the test's temporary directory, and checks that it
// is a picture of something: a sensible size and more than one colour.
func wallboardScreenshot(t *testing.T, page *chromium.Page) {
	t.Helper()
	var shot struct{ Data string }
	if err := page.Call("Page.captureScreenshot", map[string]any{"format": "png"}, &shot); err != nil {
		t.Fatalf("screenshot of the wallboard: %v", err)
	}
	b, err := base64.StdEncoding.DecodeString(shot.Data)
	if err != nil {
		t.Fatalf("screenshot of the wallboard: %v", err)
	}
	dir := os.Getenv("HOTLINE_ARTIFACTS")
	if dir == "" {
		dir = t.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("artifacts directory: %v", err)
	}
	path := filepath.Join(dir, "wallboard.png")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatalf("writing the screenshot: %v", err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("the screenshot %s is not a PNG: %v", path, err)
	}
	size := img.Bounds().Size()
	t.Logf("wallboard screenshot (%dx%d, %d bytes): %s", size.X, size.Y, len(b), path)
	if size.X < 640 || size.Y < 400 {
		t.Errorf("the screenshot is %dx%d, want at least 640x400", size.X, size.Y)
	}
	if n, share := imageColours(img); n < 8 || share > 0.98 {
		t.Errorf("the screenshot has %d colours, the commonest covering %.1f%% of it: want a page, not a blank image", n, share*100)
	}
}

// imageColours counts img's distinct colours and the share of pixels the commonest
// one covers.
func imageColours(img image.Image) (int, float64) {
	counts := map[[4]uint32]int{}
	r := img.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			cr, cg, cb, ca := img.At(x, y).RGBA()
			counts[[4]uint32{cr, cg, cb, ca}]++
		}
	}
	top := 0
	for _, n := range counts {
		top = max(top, n)
	}
	total := r.Dx() * r.Dy()
	if total == 0 {
		return 0, 1
	}
	return len(counts), float64(top) / float64(total)
}

// jsQuote quotes s as a JavaScript string literal (JSON's, which Go escapes for
// script).
func jsQuote(s string) string {
	b, _ := json.Marshal(s) // a string always marshals
	return string(b)
}
