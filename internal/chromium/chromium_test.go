package chromium

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

const testPage = `<!doctype html><html><body>
<button id="go" onclick="window.clicks = (window.clicks || 0) + 1">Go</button>
<script>window.mic = navigator.mediaDevices.getUserMedia({audio: true}).then(s => s.getAudioTracks()[0].readyState);</script>
</body></html>`

// TestStartEvalClickWait drives a real headless Chromium: open a page, evaluate
// expressions (a promise included), click a button, wait for its effect, and check
// that the fake microphone is granted without a prompt.
func TestStartEvalClickWait(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte(testPage))
	}))
	t.Cleanup(srv.Close)
	b, p := Start(t, srv.URL+"/", "")
	p.Diagnostic = `JSON.stringify({clicks: window.clicks})`

	var sum int
	p.MustEval(t, `1 + 2`, &sum)
	if sum != 3 {
		t.Errorf("1 + 2 = %d", sum)
	}
	var state string
	p.MustEval(t, `window.mic`, &state)
	if state != "live" {
		t.Errorf("the fake microphone track is %q, want live", state)
	}
	p.Click(t, "#go")
	p.Click(t, "#go")
	p.Wait(t, "two clicks", `window.clicks === 2`)

	if err := p.Eval(`nosuchname.x`, nil); err == nil || !strings.Contains(err.Error(), "nosuchname") {
		t.Errorf("a thrown exception: %v, want an error naming it", err)
	}
	if err := p.Call("No.such", nil, nil); err == nil {
		t.Error("an unknown DevTools method: no error")
	}
	if err := p.Close(); err != nil {
		t.Errorf("closing the tab: %v", err)
	}
	b.Close()
	b.Close() // idempotent
}

// TestLaunchMissingBrowser: a missing binary is an error that says how to install it.
func TestLaunchMissingBrowser(t *testing.T) {
	_, err := Launch("about:blank", Options{Path: "/nonexistent/chromium"})
	if err == nil || !strings.Contains(err.Error(), "apt-get install chromium") {
		t.Errorf("Launch without a browser: %v, want the install hint", err)
	}
}
