package chromium

import (
	"testing"
	"time"
)

// Start launches headless Chromium on url with wav as the fake microphone, attaches
// to its tab and waits until the page has loaded, failing the test loudly when
// Chromium is missing or does not come up. The browser ends when the test does; if the test failed, its stderr is
// logged.
func Start(t testing.TB, url, wav string) (*Browser, *Page) {
	t.Helper()
	b, err := Launch(url, Options{FakeMic: wav, UserDataDir: t.TempDir()})
	if err != nil {
		t.Fatalf("headless Chromium for the browser tests: %v", err)
	}
	t.Cleanup(func() {
		b.Close()
		if t.Failed() {
			t.Logf("chromium stderr:\n%s", b.Log())
		}
	})
	p, err := b.Page(url)
	if err != nil {
		t.Fatalf("headless Chromium: %v", err)
	}
	t.Cleanup(p.detach)
	p.Wait(t, "the page loaded", `document.readyState === "complete" && location.href.startsWith(`+jsString(url)+`)`)
	return b, p
}

// MustEval is Eval that fails the test on error.
func (p *Page) MustEval(t testing.TB, expr string, out any) {
	t.Helper()
	if err := p.Eval(expr, out); err != nil {
		t.Fatal(err)
	}
}

// Click clicks the element the CSS selector sel finds, failing the test when there
// is none.
func (p *Page) Click(t testing.TB, sel string) {
	t.Helper()
	var ok bool
	p.MustEval(t, `(() => { const e = document.querySelector(`+jsString(sel)+`); if (!e) return false; e.click(); return true; })()`, &ok)
	if !ok {
		t.Fatalf("the page has no element %s to click", sel)
	}
}

// Wait polls the boolean JavaScript expression expr until it is true, failing the
// test (with the value of p.Diagnostic, when set) if it is not within WaitGuard, a
// hang guard rather than a performance bound. what names the awaited state in the
// failure message.
func (p *Page) Wait(t testing.TB, what, expr string) {
	t.Helper()
	for range int(WaitGuard / waitPoll) {
		var ok bool
		if err := p.Eval(expr, &ok); err != nil {
			t.Fatalf("waiting for %s: %v", what, err)
		}
		if ok {
			return
		}
		time.Sleep(waitPoll)
	}
	state := "(no Diagnostic expression set)"
	if p.Diagnostic != "" {
		var v any
		if err := p.Eval(p.Diagnostic, &v); err != nil {
			state = err.Error()
		} else {
			state = toString(v)
		}
	}
	t.Fatalf("the page never reached %s within %v (page state %s)", what, WaitGuard, state)
}
