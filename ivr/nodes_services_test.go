package ivr

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hotline-ivr/hotline/flows"
)

const queueFlow = `
name: q
start: queue
defaults: {error: failed}
variables: {vip: bool, account: string}
nodes:
  queue:
    queue: {name: complaints, priority: "vip ? 12 : 4", skills: {complaints: 3}, screen_pop: [account, limit, caller], timeout: 5m}
    on: {completed: completed, full: full, timeout: timeout, closed: closed, callback: callback}
  completed: {hangup: {disposition: transferred, reason: completed}}
  full: {hangup: {disposition: unresolved, reason: full}}
  timeout: {hangup: {disposition: unresolved, reason: timeout}}
  closed: {hangup: {disposition: unresolved, reason: closed}}
  callback: {hangup: {disposition: transferred, reason: callback}}
  failed: {hangup: {disposition: error, reason: failed}}
`

func TestQueueNode(t *testing.T) {
	for _, tt := range []struct {
		outcome flows.Outcome
		err     error
		reason  string
		entered bool
	}{
		{flows.OutcomeCompleted, nil, "completed", true},
		{flows.OutcomeFull, nil, "full", false},
		{flows.OutcomeTimeout, nil, "timeout", true},
		{flows.OutcomeClosed, nil, "closed", false},
		{flows.OutcomeCallback, nil, "callback", true},
		{"transferred", nil, "failed", false}, // not an outcome of queue nodes
		{"", errors.New("ACD down"), "failed", false},
	} {
		synctest.Test(t, func(t *testing.T) {
			h := newServiceHarness(t)
			defer h.ch.close()
			h.svc.queue.results["complaints"] = QueueResult{Outcome: tt.outcome, Waited: time.Minute}
			h.svc.queue.err = tt.err
			res := h.run(t.Context(), loadOne(t, queueFlow))
			if res.Reason != tt.reason || res.QueueEntered != tt.entered {
				t.Errorf("%s: reason %q entered %v", tt.outcome, res.Reason, res.QueueEntered)
			}
			q := h.svc.queue.requests()[0]
			if q.Queue != "complaints-7" || q.Name != "complaints" || q.Priority != 4 || q.Timeout != 5*time.Minute ||
				q.ScreenPop["limit"] != 3 || q.ScreenPop["caller"] != "+15551230000" || q.ScreenPop["account"] != "" || q.Leg == nil {
				t.Errorf("request %+v", q)
			}
			want := -1.0
			if tt.entered {
				want = 1
			}
			if got := counterValue(t, h.reg, "hotline_ivr_transfers_to_human_total", `flow="q"`); got != want {
				t.Errorf("%s: transfers to humans %v, want %v", tt.outcome, got, want)
			}
		})
	}
	t.Run("priority clamped", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := newServiceHarness(t)
			defer h.ch.close()
			h.run(t.Context(), loadOne(t, strings.Replace(queueFlow, "start: queue", "start: vip", 1)+"  vip: {set: {vip: 'true'}, next: queue}\n"))
			if q := h.svc.queue.requests()[0]; q.Priority != flows.MaxPriority {
				t.Errorf("priority %d, want %d", q.Priority, flows.MaxPriority)
			}
		})
	})
	if err := missing("queue node: no ACD configured"); !errors.Is(err, ErrNotConfigured) || err.Error() != "queue node: no ACD configured" {
		t.Errorf("missing() = %v", err)
	}
	t.Run("no ACD", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var logs bytes.Buffer
			h := newHarness(t, WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
			defer h.ch.close()
			res := h.run(t.Context(), loadOne(t, queueFlow))
			if res.Reason != "failed" || res.QueueEntered || !strings.Contains(logs.String(), "queue node: no ACD configured") {
				t.Errorf("reason %q entered %v, log:\n%s", res.Reason, res.QueueEntered, logs.String())
			}
		})
	})
	t.Run("caller hangs up waiting", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := newServiceHarness(t)
			defer h.ch.close()
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			time.AfterFunc(10*time.Second, cancel)
			res := h.run(ctx, loadOne(t, queueFlow))
			if res.Disposition != DispositionAbandoned || !res.QueueEntered || time.Since(h.ch.start) != 10*time.Second {
				t.Errorf("disposition %q entered %v after %v", res.Disposition, res.QueueEntered, time.Since(h.ch.start))
			}
		})
	})
}

// TestQueueFunctions: queue_size, queue_wait and agents_available ask the QueueInfo
// for the queue's ACD id, and are 0 without one.
func TestQueueFunctions(t *testing.T) {
	const src = `
name: qf
start: check
defaults: {error: end}
variables: {size: int, wait: int, agents: int}
nodes:
  check: {set: {size: 'queue_size("complaints")', wait: 'queue_wait("complaints")', agents: 'agents_available("care")'}, next: end}
  end: {hangup: resolved}
`
	synctest.Test(t, func(t *testing.T) {
		h := newServiceHarness(t)
		defer h.ch.close()
		h.svc.queue.status["complaints-7"] = QueueStatus{Waiting: 4, ExpectedWait: 95*time.Second + 800*time.Millisecond}
		h.svc.queue.status["care"] = QueueStatus{AgentsAvailable: 2}
		res := h.run(t.Context(), loadOne(t, src))
		if res.Vars["size"] != 4 || res.Vars["wait"] != 95 || res.Vars["agents"] != 2 {
			t.Errorf("vars %v", res.Vars)
		}
		if _, ok := res.Vars["queue_size"]; ok {
			t.Error("Result.Vars holds the runtime functions")
		}
	})
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		defer h.ch.close()
		res := h.run(t.Context(), loadOne(t, src))
		if res.Vars["size"] != 0 || res.Vars["wait"] != 0 || res.Vars["agents"] != 0 || res.Disposition != DispositionResolved {
			t.Errorf("without queue info: vars %v, disposition %q", res.Vars, res.Disposition)
		}
	})
}

const transferFlow = `
name: xfer
start: xfer
defaults: {error: failed}
variables: {target: string}
nodes:
  xfer:
    transfer: {to: "+1555{{ target }}", trunk: carrier, caller_id: %s, timeout: 20s}
    next: ok
    on: {busy: busy, no_answer: no_answer, failed: failed_far}
  ok: {hangup: {disposition: transferred, reason: ok}}
  busy: {hangup: {reason: busy}}
  no_answer: {hangup: {reason: no_answer}}
  failed_far: {hangup: {reason: failed}}
  failed: {hangup: {reason: error}}
`

func TestTransferNode(t *testing.T) {
	for _, tt := range []struct {
		outcome flows.Outcome
		err     error
		reason  string
	}{
		{flows.OutcomeOK, nil, "ok"},
		{flows.OutcomeBusy, nil, "busy"},
		{flows.OutcomeNoAnswer, nil, "no_answer"},
		{flows.OutcomeFailed, nil, "failed"},
		{"completed", nil, "error"},
		{"", errors.New("trunk down"), "error"},
	} {
		synctest.Test(t, func(t *testing.T) {
			h := newServiceHarness(t)
			defer h.ch.close()
			h.svc.xfer.outcome, h.svc.xfer.err = tt.outcome, tt.err
			if tt.outcome == "" {
				h.svc.xfer.outcome = flows.OutcomeOK
			}
			res := h.run(t.Context(), loadOne(t, sprintf(transferFlow, "pass")))
			if res.Reason != tt.reason || res.Contained {
				t.Errorf("%s: reason %q contained %v", tt.outcome, res.Reason, res.Contained)
			}
			want := TransferRequest{CallID: "call-1", To: "+1555", Trunk: "carrier", Mode: flows.TransferBridge,
				CallerIDPolicy: flows.CallerIDPass, CallerID: "+15551230000", Timeout: 20 * time.Second}
			if h.svc.xfer.reqs[0] != want {
				t.Errorf("request %+v\nwant %+v", h.svc.xfer.reqs[0], want)
			}
		})
	}
	t.Run("caller id", func(t *testing.T) {
		for _, tt := range []struct{ policy, want string }{
			{"withheld", ""},
			{"fixed, caller_id_number: '+15550199'", "+15550199"},
		} {
			synctest.Test(t, func(t *testing.T) {
				h := newServiceHarness(t)
				defer h.ch.close()
				h.run(t.Context(), loadOne(t, sprintf(transferFlow, tt.policy)))
				if got := h.svc.xfer.reqs[0].CallerID; got != tt.want {
					t.Errorf("%s: caller id %q, want %q", tt.policy, got, tt.want)
				}
			})
		}
	})
	t.Run("no transferer", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var logs bytes.Buffer
			h := newHarness(t, WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
			defer h.ch.close()
			res := h.run(t.Context(), loadOne(t, sprintf(transferFlow, "pass")))
			if res.Reason != "error" || !strings.Contains(logs.String(), "transfer node: no transferer configured") {
				t.Errorf("reason %q, log:\n%s", res.Reason, logs.String())
			}
		})
	})
}

const ticketFlow = `
name: tk
start: ticket
defaults: {error: failed}
variables: {postcode: string}
nodes:
  ticket:
    ticket: {category: outage, priority: urgent, summary: "Outage at {{ postcode }}", fields: {postcode: postcode, n: limit * 2}%s}
    next: done
  done: {say: "Ticket {{ ticket_id }}.", next: end}
  failed: {say: "Failed, ticket '{{ ticket_id }}'.", next: end}
  end: {hangup: resolved}
`

func TestTicketNode(t *testing.T) {
	t.Run("created and notified", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := newServiceHarness(t)
			defer h.ch.close()
			var posted []*http.Request
			var bodies []string
			h.rt = New(h.synth, append(h.opts, WithHTTPClient(&http.Client{Transport: handlerTransport{http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				var b bytes.Buffer
				b.ReadFrom(r.Body)
				posted, bodies = append(posted, r), append(bodies, b.String())
				w.WriteHeader(http.StatusCreated)
			})}}))...)
			res := h.run(t.Context(), loadOne(t, sprintf(ticketFlow, ", notify: billing")))
			if got := path(res); got != "ticket>done>end" || h.ch.said()[0] != "Ticket T-1001." {
				t.Errorf("path %s said %q", got, h.ch.said())
			}
			tk := h.svc.tickets.all()[0]
			if tk.Priority != "urgent" || tk.Summary != "Outage at " || tk.Fields["n"] != 6 || tk.Caller != "+15551230000" {
				t.Errorf("ticket %+v", tk)
			}
			if len(posted) != 1 || posted[0].URL.String() != "http://billing.test" || posted[0].Header.Get("X-Api-Key") != "dev-key" ||
				!strings.Contains(bodies[0], `"id":"T-1001"`) || !strings.Contains(bodies[0], `"category":"outage"`) {
				t.Errorf("notification %v %q", posted, bodies)
			}
		})
	})
	t.Run("notification fails", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := newServiceHarness(t)
			defer h.ch.close()
			h.rt = New(h.synth, append(h.opts, WithHTTPClient(&http.Client{Transport: handlerTransport{http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusServiceUnavailable)
			})}}))...)
			res := h.run(t.Context(), loadOne(t, sprintf(ticketFlow, ", notify: billing")))
			if got := path(res); got != "ticket>failed>end" || h.ch.said()[0] != "Failed, ticket 'T-1001'." {
				t.Errorf("path %s said %q", got, h.ch.said())
			}
			if got := counterValue(t, h.reg, "hotline_flow_http_requests_total", `flow="tk",outcome="error"`); got != 2 {
				t.Errorf("%v notification attempts, want 2 (one retry)", got)
			}
		})
	})
	t.Run("no store", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var logs bytes.Buffer
			h := newHarness(t, WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
			defer h.ch.close()
			res := h.run(t.Context(), loadOne(t, sprintf(ticketFlow, "")))
			if got := path(res); got != "ticket>failed>end" || !strings.Contains(logs.String(), "ticket node: no ticket store configured") {
				t.Errorf("path %s, log:\n%s", got, logs.String())
			}
		})
	})
}
