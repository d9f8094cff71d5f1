package main

import (
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestDrainOnSIGTERM: the first SIGTERM turns /readyz to 503 and refuses new calls
// with 503 and Retry-After (and a call record), while the call in progress goes on until its caller hangs
// up; then the engine stops by itself, long before the drain timeout.
func TestDrainOnSIGTERM(t *testing.T) {
	te := startEngine(t, engineOptions{flow: "wait", drain: 2 * time.Minute})
	t.Parallel()

	live := make(chan sippResult, 1)
	go func() {
		res, err := execSipp(t, te.sipTarget(""), freeSippPorts(t), sippCall{scenario: "uac_hangup.xml", pause: 6 * time.Second})
		if err != nil {
			t.Errorf("the call in progress during the drain failed: %v\n%s", err, tail(res.messages, 6000))
		}
		live <- res
	}()
	var id string
	waitFor(t, 10*time.Second, "the call in the live call list", func() bool {
		code, body := apiGet(t, te.httpURL("/api/v1/calls"), testAPIToken)
		var list struct {
			Calls []struct {
				ID, Stage, Flow, Node, Caller string
			}
		}
		if code != 200 || json.Unmarshal([]byte(body), &list) != nil || len(list.Calls) != 1 {
			return false
		}
		c := list.Calls[0]
		id = c.ID
		return c.Stage == "ivr" && c.Flow == "wait" && c.Node == "wait" && c.Caller == "+15551230000"
	})

	te.signals <- syscall.SIGTERM
	te.waitLog(t, 5*time.Second, "draining: refusing new calls, waiting for the calls in progress", "calls", "1")
	if code, body := apiGet(t, te.httpURL("/readyz"), ""); code != 503 || !strings.Contains(body, "draining") {
		t.Errorf("/readyz while draining = %d %s, want 503 draining", code, body)
	}
	res := runSipp(t, te, freeSippPorts(t), sippCall{scenario: "uac_refused.xml"})
	if !strings.Contains(res.messages, "Retry-After: 5") {
		t.Errorf("503 without Retry-After:\n%s", tail(res.messages, 3000))
	}
	if code, _ := apiGet(t, te.httpURL("/api/v1/calls/"+id), testAPIToken); code != 200 {
		t.Errorf("the call in progress is gone from the API while draining (%d)", code)
	}
	// The refused call has its durable record too.
	waitFor(t, 10*time.Second, "the refused call's record", func() bool {
		code, body := apiGet(t, te.httpURL("/api/v1/records?disposition=rejected"), testAPIToken)
		return code == 200 && strings.Contains(body, `"hangup_cause":"draining"`)
	})
	<-live
	select {
	case err := <-te.done:
		if err != nil {
			t.Errorf("serve after the drain: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the engine did not stop after its last call ended")
	}
	te.waitLog(t, time.Second, "drained: no calls left")
}

// TestReloadOnSIGHUP: SIGHUP loads the flow files again; a broken file is refused
// with its file:line and the old flows keep answering.
func TestReloadOnSIGHUP(t *testing.T) {
	dir := t.TempDir()
	src, err := os.ReadFile(filepath.Join(testFlowsDir, "short.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "short.yaml")
	if err := os.WriteFile(file, src, 0o644); err != nil {
		t.Fatal(err)
	}
	te := startEngine(t, engineOptions{flow: "short", configure: func(c *Config) { c.Flows.Dir = dir }})
	t.Parallel()
	version := func() string {
		code, body := apiGet(t, te.httpURL("/api/v1/flows"), testAPIToken)
		var list struct {
			Flows []struct{ Name, Version string }
		}
		if code != 200 || json.Unmarshal([]byte(body), &list) != nil || len(list.Flows) != 1 {
			t.Fatalf("GET /api/v1/flows = %d %s", code, body)
		}
		return list.Flows[0].Version
	}
	v1 := version()

	changed := strings.Replace(string(src), "description:", "description: changed;", 1)
	if changed == string(src) {
		t.Fatal("short.yaml has no description to change")
	}
	if err := os.WriteFile(file, []byte(changed), 0o644); err != nil {
		t.Fatal(err)
	}
	te.signals <- syscall.SIGHUP
	te.waitLog(t, 5*time.Second, "flows reloaded")
	v2 := version()
	if v2 == v1 {
		t.Errorf("flow version %s unchanged after the reload", v1)
	}

	if err := os.WriteFile(file, []byte(changed+"\n  bogus_node:\n    no_such_action: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	te.signals <- syscall.SIGHUP
	rec := te.waitLog(t, 5*time.Second, "flow reload refused; the old flows keep serving")
	if !strings.Contains(rec.str("error"), "short.yaml:") {
		t.Errorf("the refusal does not name the file and line: %v", rec)
	}
	if v := version(); v != v2 {
		t.Errorf("flow version %s after a refused reload, want %s still", v, v2)
	}
	// The flow still answers calls.
	runSipp(t, te, freeSippPorts(t), sippCall{scenario: "uac_hangup.xml", pause: 500 * time.Millisecond})
}

// waitFor polls cond until it holds or d passes.
func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(d); !cond(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
	}
}

// TestLoopbackBurstNotBanned: a burst of calls from loopback (the load generator, a
// local proxy) far above the flood guard's per-source INVITE rate is served in full
// and bans nobody: loopback is trusted by default.
func TestLoopbackBurstNotBanned(t *testing.T) {
	te := startEngine(t, engineOptions{flow: "short"})
	t.Parallel()
	runSipp(t, te, freeSippPorts(t), sippCall{scenario: "uac_hangup.xml", pause: 200 * time.Millisecond,
		calls: 40, limit: 40, rate: 200}) // 40 INVITEs in 0.2 s: twice the default burst of 20
	code, body := apiGet(t, te.httpURL("/api/v1/bans"), testAPIToken)
	if code != 200 || strings.Contains(body, `"key"`) {
		t.Errorf("GET /api/v1/bans after a loopback burst = %d %s, want none", code, body)
	}
}

// TestAdmissionMaxCallsRefusesOverload: with limits.max_calls 3, three callers are
// admitted and five more arrive while they talk. The five get 503 with Retry-After
// before any media is set up for them, /readyz says the node is at capacity, and
// hotline_admission_refused_total counts them; the three admitted calls are not
// degraded: each completes its path and hears one continuous RTP stream.
func TestAdmissionMaxCallsRefusesOverload(t *testing.T) {
	const admitted, extra = 3, 5
	te := startEngine(t, engineOptions{flow: "wait", configure: func(c *Config) { c.Limits.MaxCalls = admitted }})
	t.Parallel()
	ports := freeSippPorts(t)
	sniff := startSniffer(t, ports.media)
	type result struct {
		res sippResult
		err error
	}
	first := make(chan result, 1)
	go func() {
		// Each caller holds for 5 s, then presses 1: the flow hangs up (path wait>end).
		res, err := execSipp(t, te.sipTarget(""), ports, sippCall{scenario: "uac_dtmf.xml", pause: 5 * time.Second,
			calls: admitted, limit: admitted, rate: 100, timeout: 60 * time.Second})
		first <- result{res, err}
	}()
	waitFor(t, 20*time.Second, "the admitted calls in progress", func() bool {
		return te.admission.count() == admitted && te.board.count() == admitted
	})
	if code, body := apiGet(t, te.httpURL("/readyz"), ""); code != 503 || !strings.Contains(body, "max_calls") {
		t.Errorf("/readyz at max_calls = %d %s, want 503 naming max_calls", code, body)
	}
	portsBefore, sessionsBefore := te.media.PortsInUse(), te.media.Sessions()

	res := runSipp(t, te, freeSippPorts(t), sippCall{scenario: "uac_refused.xml", calls: extra, limit: extra, rate: 100})
	if n := strings.Count(res.messages, "Retry-After: 5"); n < extra {
		t.Errorf("%d responses with Retry-After: 5 for %d refused calls:\n%s", n, extra, tail(res.messages, 3000))
	}
	if p, s := te.media.PortsInUse(), te.media.Sessions(); p != portsBefore || s != sessionsBefore {
		t.Errorf("the refused calls changed the media in use: %d ports and %d sessions, %d and %d before",
			p, s, portsBefore, sessionsBefore)
	}
	requireMetric(t, te.metrics(t), "hotline_admission_refused_total", extra, "limit", "max_calls")
	// Refused before they became calls, they still have their durable records.
	waitFor(t, 10*time.Second, "the refused calls' records", func() bool {
		code, body := apiGet(t, te.httpURL("/api/v1/records?disposition=rejected"), testAPIToken)
		return code == 200 && strings.Count(body, `"hangup_cause":"overload"`) == extra
	})

	r := <-first
	if r.err != nil {
		t.Fatalf("an admitted call failed while the extra ones were refused: %v\n%s\n%s", r.err, tail(r.res.out, 3000), tail(r.res.messages, 6000))
	}
	te.waitLogs(t, 10*time.Second, admitted, "flow finished", "disposition", "resolved", "path", "wait>end")

	// What each admitted caller heard: its own stream, speech first, real-time pacing
	// (requireAudio), and no hole a caller would notice. Gaps are judged coarsely (the
	// machine is noisy), leaving out the stretches the host kept this process off the CPU.
	streams := map[netip.AddrPort][]capturedPacket{}
	for _, p := range sniff.packets(t) {
		streams[p.src] = append(streams[p.src], p)
	}
	if len(streams) != admitted {
		t.Fatalf("the callers received %d RTP streams, want %d (one per admitted call)", len(streams), admitted)
	}
	for src, caps := range streams {
		pkts := requireAudio(t, caps, audioCheck{pt: 0, minPackets: 150, ports: [2]int{te.rtpMin, te.rtpMax},
			speechTo: 100, speechDBFS: -40, speechFrame: 10})
		excused, _ := excusedWindows(pkts[0].at, pkts[len(pkts)-1].at)
		for i := 1; i < len(pkts); i++ {
			if gap := pkts[i].at.Sub(pkts[i-1].at); gap > time.Second && !inWindows(pkts[i].at, excused) && !inWindows(pkts[i-1].at, excused) {
				t.Errorf("stream from %v: %v without audio before packet %d of %d", src, gap.Round(time.Millisecond), i, len(pkts))
			}
		}
	}
	te.waitIdle(t)
	if code, body := apiGet(t, te.httpURL("/readyz"), ""); code != 200 {
		t.Errorf("/readyz after the calls = %d %s, want 200", code, body)
	}
}

// TestAdmissionMaxCPSRefusesBurst: with limits.max_cps 0.01 (one call, then one per
// 100 s) the first call is served and the next ones get 503 with Retry-After, counted
// under max_cps; /readyz says why.
func TestAdmissionMaxCPSRefusesBurst(t *testing.T) {
	te := startEngine(t, engineOptions{flow: "short", configure: func(c *Config) { c.Limits.MaxCPS = 0.01 }})
	t.Parallel()
	runSipp(t, te, freeSippPorts(t), sippCall{scenario: "uac_hangup.xml", pause: 200 * time.Millisecond})
	if code, body := apiGet(t, te.httpURL("/readyz"), ""); code != 503 || !strings.Contains(body, "max_cps") {
		t.Errorf("/readyz with the max_cps bucket empty = %d %s, want 503 naming max_cps", code, body)
	}
	const extra = 3
	res := runSipp(t, te, freeSippPorts(t), sippCall{scenario: "uac_refused.xml", calls: extra, limit: extra, rate: 100})
	if n := strings.Count(res.messages, "Retry-After: "); n < extra {
		t.Errorf("%d responses with Retry-After for %d refused calls:\n%s", n, extra, tail(res.messages, 3000))
	}
	m := te.metrics(t)
	requireMetric(t, m, "hotline_admission_refused_total", extra, "limit", "max_cps")
	requireMetric(t, m, "hotline_admission_refused_total", 0, "limit", "max_calls")
}

// TestAdmissionMaxCPURefuses: with limits.max_cpu far below what the test process
// uses (it runs other tests' engines), /readyz turns 503 naming max_cpu once the CPU
// meter has samples, and a call gets 503 with Retry-After, counted under max_cpu.
func TestAdmissionMaxCPURefuses(t *testing.T) {
	te := startEngine(t, engineOptions{flow: "short", configure: func(c *Config) { c.Limits.MaxCPU = 0.0001 }})
	t.Parallel()
	waitFor(t, 10*time.Second, "/readyz naming max_cpu", func() bool {
		code, body := apiGet(t, te.httpURL("/readyz"), "")
		return code == 503 && strings.Contains(body, "max_cpu")
	})
	res := runSipp(t, te, freeSippPorts(t), sippCall{scenario: "uac_refused.xml"})
	if !strings.Contains(res.messages, "Retry-After: 5") {
		t.Errorf("503 without Retry-After: 5:\n%s", tail(res.messages, 3000))
	}
	m := te.metrics(t)
	requireMetric(t, m, "hotline_admission_refused_total", 1, "limit", "max_cpu")
	if v, ok := metricSum(m, "hotline_admission_cpu_ratio"); !ok || v <= 0 {
		t.Errorf("hotline_admission_cpu_ratio = %v (found %v), want above 0", v, ok)
	}
}
