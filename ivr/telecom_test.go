package ivr

import (
	"context"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hotline-ivr/hotline/flows"
)

// The sample telecom.yaml, end to end: every service wired to a fake, the billing
// service mocked by the contract in flows/env.yaml's comments, a scripted caller
// pressing keys and speaking after the prompts they answer.

func telecomFlow(t testing.TB) *flows.Flow {
	t.Helper()
	env, err := flows.LoadEnvFS(flows.Samples, "env.yaml")
	if err != nil {
		t.Fatal(err)
	}
	f, err := flows.LoadFS(flows.Samples, "telecom.yaml", flows.WithEnv(env))
	if err != nil {
		t.Fatalf("telecom.yaml does not load:\n%v", err)
	}
	return f
}

// parisClock returns a clock that reads the Paris wall time wall ("2006-01-02
// 15:04") when the call starts and follows the bubble's virtual time.
func parisClock(t testing.TB, wall string) func() time.Time {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	base, err := time.ParseInLocation("2006-01-02 15:04", wall, loc)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	return func() time.Time { return base.Add(time.Since(start)) }
}

const (
	wednesday = "2026-03-11 10:00" // open
	sunday    = "2026-03-15 10:00" // closed
)

// saidContaining returns the first prompt said that contains s, or "".
func saidContaining(h *harness, s string) string {
	for _, t := range h.ch.said() {
		if strings.Contains(t, s) {
			return t
		}
	}
	return ""
}

// webhook returns the one call-ended event the billing mock received.
func webhook(t *testing.T, h *harness) map[string]any {
	t.Helper()
	hits, events := h.svc.billing.calls()
	if len(events) != 1 {
		t.Fatalf("billing mock got %v, want one call-ended event", hits)
	}
	return events[0]
}

func TestTelecomBalanceEnglish(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := telecomFlow(t)
		h := newServiceHarness(t, WithClock(parisClock(t, wednesday)))
		defer h.ch.close()
		res := h.script(f,
			step{prompt: "For English, press 1.", delay: 500 * time.Millisecond, keys: "1"},
			step{prompt: "For your balance and latest bill, press 1.", delay: time.Second, keys: "1"},
			step{prompt: "Please enter your account number", delay: time.Second, keys: "12345678#"},
			step{prompt: "You entered 12345678.", delay: time.Second, keys: "1"},
		)
		if got, want := path(res), "welcome>language_menu>english>main_menu>account_entry>billing_lookup>balance_report>after_balance>goodbye>hangup_resolved>call_ended>call_ended_done"; got != want {
			t.Errorf("path %s\nwant %s", got, want)
		}
		if res.Disposition != DispositionResolved || !res.Contained || res.Err != nil {
			t.Errorf("disposition %q contained %v err %v", res.Disposition, res.Contained, res.Err)
		}
		want := "Your balance is 42.5 EUR. Your last bill was 39.9 EUR, due on 2026-08-01."
		if got := saidContaining(h, "Your balance is"); got != want {
			t.Errorf("balance said %q\nwant %q", got, want)
		}
		if res.Vars["balance"] != 42.5 || res.Vars["vip"] != false || res.Vars["currency"] != "EUR" || res.Vars["account"] != "12345678" {
			t.Errorf("vars %v", res.Vars)
		}
		hits, _ := h.svc.billing.calls()
		checkStrings(t, "billing requests", hits, []string{"GET /accounts/12345678", "POST /events/call-ended"})
		ev := webhook(t, h)
		if ev["disposition"] != "resolved" || ev["call_id"] != "call-1" || ev["caller"] != "+15551230000" || ev["language"] != "en" {
			t.Errorf("call-ended event %v", ev)
		}
		if sig := h.ch.signals(); sig[len(sig)-1] != "hangup" {
			t.Errorf("call control %v: want the hang-up last", sig)
		}
		checkSeries(t, h.reg, `
hotline_ivr_contained_total{flow="telecom"} 1
hotline_flow_http_requests_total{flow="telecom",outcome="ok"} 2
hotline_flow_calls_total{disposition="resolved",flow="telecom"} 1
`, "hotline_ivr_contained_total", "hotline_flow_http_requests_total", "hotline_flow_calls_total", "hotline_ivr_transfers_to_human_total")
	})
}

// TestTelecomSSML: with a synthesizer that takes SSML, prompts with markup arrive as
// documents, the Mandarin fragment of the language menu with the flow's zh voice.
func TestTelecomSSML(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := telecomFlow(t)
		h := newServiceHarness(t, WithClock(parisClock(t, wednesday)))
		h.ssml()
		defer h.ch.close()
		h.script(f,
			step{prompt: "For English, press 1.", delay: 500 * time.Millisecond, keys: "1"},
			step{prompt: "For your balance and latest bill, press 1.", delay: time.Second, keys: "1"},
			step{prompt: "Please enter your account number", delay: time.Second, keys: "12345678#"},
			step{prompt: "You entered", delay: time.Second, hangup: true},
		)
		for _, want := range []string{
			`<speak xml:lang="en">For English, press 1. <lang xml:lang="zh"><voice name="cmn">普通话服务请按2。</voice></lang></speak>`,
			`<speak xml:lang="en">You entered <say-as interpret-as="digits">12345678</say-as>. If this is correct, press 1. To enter it again, press 2.</speak>`,
		} {
			if !slices.Contains(h.synth.requested(), want) {
				t.Errorf("no prompt %s among %q", want, h.synth.requested())
			}
		}
		if !slices.Contains(h.synth.requested(), "Thank you for calling Example Telecom.") {
			t.Error("a prompt without markup was not sent as plain text")
		}
	})
}

func TestTelecomOutageMandarin(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := telecomFlow(t)
		h := newServiceHarness(t, WithClock(parisClock(t, wednesday)))
		defer h.ch.close()
		res := h.script(f,
			step{prompt: "For English, press 1.", delay: 500 * time.Millisecond, keys: "2"},
			step{prompt: "报告网络故障请按2", delay: time.Second, keys: "2"},
			step{prompt: "请输入无法使用服务的地址的邮政编码", delay: time.Second, keys: "75001#"},
		)
		if got, want := path(res), "welcome>language_menu>mandarin>main_menu>outage_postcode>outage_ticket>outage_registered>goodbye>hangup_resolved>call_ended>call_ended_done"; got != want {
			t.Errorf("path %s\nwant %s", got, want)
		}
		if got := saidContaining(h, "您的报告编号"); got != "谢谢。您的报告编号是T-1001，工程师正在处理。" {
			t.Errorf("ticket prompt %q", got)
		}
		if got := h.ch.said(); got[len(got)-1] != "感谢您的来电，再见。" {
			t.Errorf("last prompt %q, want the Mandarin goodbye", got[len(got)-1])
		}
		for _, a := range h.synth.asked {
			zh := hasHan(a.text) && !strings.HasPrefix(a.text, "For English")
			if zh != (a.voice == "cmn") {
				t.Errorf("%q spoken with voice %q", a.text, a.voice)
			}
		}
		tk := h.svc.tickets.all()
		if len(tk) != 1 {
			t.Fatalf("tickets %v", tk)
		}
		if tk[0].Category != "outage" || tk[0].Priority != "high" || tk[0].Summary != "Outage reported at postcode 75001 by +15551230000" ||
			tk[0].Fields["postcode"] != "75001" || tk[0].Fields["language"] != "zh" || tk[0].Language != "zh" || tk[0].CallID != "call-1" {
			t.Errorf("ticket %+v", tk[0])
		}
		if !slices.Equal(res.Tickets, []string{"T-1001"}) || res.Language != "zh" || res.Disposition != DispositionResolved {
			t.Errorf("result tickets %v language %q disposition %q", res.Tickets, res.Language, res.Disposition)
		}
		if ev := webhook(t, h); ev["ticket"] != "T-1001" || ev["language"] != "zh" {
			t.Errorf("call-ended event %v", ev)
		}
	})
}

func TestTelecomComplaintByIntent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := telecomFlow(t)
		h := newServiceHarness(t, WithClock(parisClock(t, wednesday)))
		h.svc.sent["complaint"] = -0.3
		defer h.ch.close()
		res := h.script(f,
			step{prompt: "For English, press 1.", delay: 500 * time.Millisecond, keys: "1"},
			step{prompt: "For your balance and latest bill, press 1.", delay: time.Second, keys: "3"},
			step{prompt: "please tell us why you are calling", delay: time.Second, speech: "I want to make a complaint about my bill"},
			step{prompt: "how satisfied are you with the agent", delay: time.Second, keys: "4"},
			step{prompt: "how well was your problem solved", delay: time.Second, keys: "5"},
		)
		if got, want := path(res), "welcome>language_menu>english>main_menu>describe>complaint_hours>complaint_queue>survey>goodbye_agent>hangup_transferred>call_ended>call_ended_done"; got != want {
			t.Errorf("path %s\nwant %s", got, want)
		}
		reqs := h.svc.queue.requests()
		if len(reqs) != 1 {
			t.Fatalf("queue requests %+v", reqs)
		}
		q := reqs[0]
		if q.Queue != "complaints" || q.Name != "complaints" || q.Priority != 9 || q.Skills["complaints"] != 3 || !q.AnnouncePosition ||
			q.ScreenPop["transcript"] != "I want to make a complaint about my bill" || q.ScreenPop["sentiment"] != -0.3 || q.ScreenPop["language"] != "en" {
			t.Errorf("queue request %+v", q)
		}
		if res.Intent != "complaint" || res.IntentConfidence != 0.9 || res.Sentiment != -0.3 {
			t.Errorf("intent %q %v sentiment %v", res.Intent, res.IntentConfidence, res.Sentiment)
		}
		wantSurvey := []SurveyAnswer{{"survey", "satisfaction", 4}, {"survey", "solved", 5}}
		if !slices.Equal(res.Survey, wantSurvey) || res.Vars["survey_score"] != 4 || res.Vars["solved"] != 5 {
			t.Errorf("survey %v, vars %v", res.Survey, res.Vars)
		}
		if !res.QueueEntered || res.Contained || res.Queue == nil || res.Queue.Outcome != flows.OutcomeCompleted || res.Queue.Agent != "agent-7" {
			t.Errorf("queue record %+v entered %v contained %v", res.Queue, res.QueueEntered, res.Contained)
		}
		if res.Disposition != DispositionTransferred {
			t.Errorf("disposition %q", res.Disposition)
		}
		if ev := webhook(t, h); ev["satisfaction"] != 4.0 || ev["intent"] != "complaint" || ev["disposition"] != "transferred" {
			t.Errorf("call-ended event %v", ev)
		}
		if !slices.Equal(h.svc.cls.trained, []string{"telecom"}) {
			t.Errorf("classifier trained for %v, want telecom once", h.svc.cls.trained)
		}
		if reqs := h.svc.rec.requests(); len(reqs) < 2 || reqs[1].Node != "describe" || reqs[1].Language != "en" || !slices.Contains(reqs[1].Phrases, "I want to make a complaint") {
			t.Errorf("speech requests %+v", reqs)
		}
		checkSeries(t, h.reg, `
hotline_ivr_transfers_to_human_total{flow="telecom"} 1
`, "hotline_ivr_transfers_to_human_total", "hotline_ivr_contained_total")
	})
}

// TestTelecomComplaintBySentiment: a caller who asks for an agent in an angry tone
// goes to the complaints queue, and hangs up during the survey: the call-ended
// webhook still fires, with disposition abandoned.
func TestTelecomComplaintBySentiment(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := telecomFlow(t)
		h := newServiceHarness(t, WithClock(parisClock(t, wednesday)))
		h.svc.sent["ridiculous"] = -0.8
		h.svc.queue.results["complaints"] = QueueResult{Outcome: flows.OutcomeCompleted, Agent: "senior-1", Waited: 2 * time.Minute}
		defer h.ch.close()
		res := h.script(f,
			step{prompt: "For English, press 1.", delay: 500 * time.Millisecond, keys: "1"},
			step{prompt: "For your balance and latest bill, press 1.", delay: time.Second, keys: "3"},
			step{prompt: "please tell us why you are calling", delay: time.Second, speech: "let me talk to a person, this is ridiculous"},
			step{prompt: "how satisfied are you", delay: 2 * time.Second, hangup: true},
		)
		if got, want := path(res), "welcome>language_menu>english>main_menu>describe>mood>complaint_hours>complaint_queue>survey>call_ended>call_ended_done"; got != want {
			t.Errorf("path %s\nwant %s", got, want)
		}
		if q := h.svc.queue.requests(); len(q) != 1 || q[0].Name != "complaints" || q[0].Priority != 9 {
			t.Errorf("queue requests %+v", q)
		}
		if res.Disposition != DispositionAbandoned || res.Intent != "agent" || res.Sentiment != -0.8 {
			t.Errorf("disposition %q intent %q sentiment %v", res.Disposition, res.Intent, res.Sentiment)
		}
		if ev := webhook(t, h); ev["disposition"] != "abandoned" || ev["intent"] != "agent" {
			t.Errorf("call-ended event %v", ev)
		}
		checkStrings(t, "call control", h.ch.signals(), []string{"ring", "answer"})
	})
}

// TestTelecomCallbackOffer: a long expected wait routes to the callback queue node;
// the ACD announces the wait and offers the callback, which the caller takes.
func TestTelecomCallbackOffer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := telecomFlow(t)
		h := newServiceHarness(t, WithClock(parisClock(t, wednesday)))
		h.svc.queue.status["care"] = QueueStatus{Waiting: 12, ExpectedWait: 5 * time.Minute}
		h.svc.queue.leg = func(ctx context.Context, req QueueRequest) (QueueResult, error) {
			if err := req.Leg.Hold(ctx); err != nil {
				return QueueResult{}, err
			}
			if err := req.Leg.Announce(ctx, 12, 5*time.Minute); err != nil {
				return QueueResult{}, err
			}
			ok, err := req.Leg.OfferCallback(ctx)
			if err != nil || !ok {
				return QueueResult{Outcome: flows.OutcomeTimeout}, err
			}
			return QueueResult{Outcome: flows.OutcomeCallback, Waited: 20 * time.Second}, nil
		}
		defer h.ch.close()
		res := h.script(f,
			step{prompt: "For English, press 1.", delay: 500 * time.Millisecond, keys: "1"},
			step{prompt: "For your balance and latest bill, press 1.", delay: time.Second, keys: "0"},
			step{prompt: "To be called back", delay: time.Second, keys: "1"},
		)
		if got, want := path(res), "welcome>language_menu>english>main_menu>agent_hours>wait_check>care_callback>callback_booked>hangup_callback>call_ended>call_ended_done"; got != want {
			t.Errorf("path %s\nwant %s", got, want)
		}
		if q := h.svc.queue.requests(); len(q) != 1 || !q[0].Callback || !q[0].AnnounceWait || q[0].AnnouncePosition || q[0].Priority != 2 {
			t.Errorf("queue requests %+v", q)
		}
		said := h.ch.said()
		for _, want := range []string{
			"Please hold on, an agent will be with you shortly.",
			"Your expected wait is about 5 minutes.", // position not announced: announce_position is off
			"We will call you back on +15551230000 as soon as an agent is free. Goodbye.",
		} {
			if !slices.Contains(said, want) {
				t.Errorf("%q not said; said %q", want, said)
			}
		}
		if res.Disposition != DispositionTransferred || res.Reason != "callback booked" || !res.QueueEntered || res.Queue.Outcome != flows.OutcomeCallback {
			t.Errorf("result %+v", res)
		}
	})
}

// TestTelecomVoicemailWhenClosed: on a Sunday the agent path leads to voicemail,
// which becomes a ticket holding the recording.
func TestTelecomVoicemailWhenClosed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := telecomFlow(t)
		h := newServiceHarness(t, WithClock(parisClock(t, sunday)))
		h.audio = speechLike
		defer h.ch.close()
		res := h.script(f,
			step{prompt: "For English, press 1.", delay: 500 * time.Millisecond, keys: "1"},
			step{prompt: "For your balance and latest bill, press 1.", delay: time.Second, keys: "0"},
			step{prompt: "leave your name and message after the beep", delay: 4 * time.Second, keys: "#"},
		)
		if got, want := path(res), "welcome>language_menu>english>main_menu>agent_hours>voicemail_intro>voicemail>voicemail_ticket>voicemail_saved>hangup_voicemail>call_ended>call_ended_done"; got != want {
			t.Errorf("path %s\nwant %s", got, want)
		}
		if !slices.Equal(res.Recordings, []string{"rec-1"}) || res.Vars["voicemail"] != "rec-1" {
			t.Errorf("recordings %v, voicemail %v", res.Recordings, res.Vars["voicemail"])
		}
		tk := h.svc.tickets.all()
		if len(tk) != 1 || tk[0].Category != "voicemail" || tk[0].Fields["recording"] != "rec-1" || !slices.Equal(tk[0].Recordings, []string{"rec-1"}) {
			t.Errorf("tickets %+v", tk)
		}
		if n := h.svc.recorder.kept["rec-1"]; n < 8000*3 {
			t.Errorf("recording holds %d samples, want the ~3.6 s between beep and #", n)
		}
		if res.Disposition != DispositionUnresolved || res.Reason != "voicemail left" {
			t.Errorf("disposition %q reason %q", res.Disposition, res.Reason)
		}
	})
}

func TestTelecomBusinessLine(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := telecomFlow(t)
		h := newServiceHarness(t, WithClock(parisClock(t, wednesday)))
		defer h.ch.close()
		res := h.script(f,
			step{prompt: "For English, press 1.", delay: 500 * time.Millisecond, keys: "1"},
			step{prompt: "For your balance and latest bill, press 1.", delay: time.Second, keys: "9"},
		)
		if got, want := path(res), "welcome>language_menu>english>main_menu>business_line>hangup_transferred>call_ended>call_ended_done"; got != want {
			t.Errorf("path %s\nwant %s", got, want)
		}
		want := TransferRequest{CallID: "call-1", To: "+15550100", Trunk: "carrier", Mode: flows.TransferBlind,
			CallerIDPolicy: flows.CallerIDPass, CallerID: "+15551230000", Timeout: 30 * time.Second}
		if len(h.svc.xfer.reqs) != 1 || h.svc.xfer.reqs[0] != want {
			t.Errorf("transfers %+v\nwant %+v", h.svc.xfer.reqs, want)
		}
		if res.Transfer == nil || res.Transfer.Outcome != flows.OutcomeOK || res.Contained || res.Disposition != DispositionTransferred {
			t.Errorf("result %+v", res)
		}
	})
}

// TestTelecomBilling covers the billing service's other answers: an unknown account
// (404, routed by http_status) and a service that does not answer (timeout after the
// endpoint's 3 s).
func TestTelecomBilling(t *testing.T) {
	t.Run("unknown account", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			f := telecomFlow(t)
			h := newServiceHarness(t, WithClock(parisClock(t, wednesday)))
			defer h.ch.close()
			res := h.script(f,
				step{prompt: "For English, press 1.", delay: 500 * time.Millisecond, keys: "1"},
				step{prompt: "For your balance and latest bill, press 1.", delay: time.Second, keys: "1"},
				step{prompt: "Please enter your account number", delay: time.Second, keys: "99999999#"},
				step{prompt: "You entered 99999999.", delay: time.Second, keys: "1"},
				step{prompt: "For your balance and latest bill, press 1.", delay: time.Second, hangup: true},
			)
			if got, want := path(res), "welcome>language_menu>english>main_menu>account_entry>billing_lookup>billing_error>unknown_account>main_menu>call_ended>call_ended_done"; got != want {
				t.Errorf("path %s\nwant %s", got, want)
			}
			if !slices.Contains(h.ch.said(), "Sorry, we could not find account 99999999.") {
				t.Errorf("said %q", h.ch.said())
			}
		})
	})
	t.Run("service does not answer", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			f := telecomFlow(t)
			h := newServiceHarness(t, WithClock(parisClock(t, wednesday)))
			h.svc.billing.fail = func(n int) int {
				if n == 1 {
					return 0 // hang
				}
				return 200
			}
			defer h.ch.close()
			var lookupAt, downAt time.Duration
			res := h.script(f,
				step{prompt: "For English, press 1.", delay: 500 * time.Millisecond, keys: "1"},
				step{prompt: "For your balance and latest bill, press 1.", delay: time.Second, keys: "1"},
				step{prompt: "Please enter your account number", delay: time.Second, keys: "12345678#"},
				step{prompt: "You entered 12345678.", delay: time.Second, keys: "1"},
				step{prompt: "Before you go", delay: time.Second, hangup: true},
			)
			if got, want := path(res), "welcome>language_menu>english>main_menu>account_entry>billing_lookup>billing_down>agent_hours>wait_check>care_queue>survey>call_ended>call_ended_done"; got != want {
				t.Errorf("path %s\nwant %s", got, want)
			}
			for _, p := range h.ch.played() {
				switch {
				case strings.HasPrefix(p.text, "You entered"):
					lookupAt = p.end
				case strings.HasPrefix(p.text, "Sorry, our billing system"):
					downAt = p.start
				}
			}
			if got := downAt - lookupAt - time.Second; got != 3*time.Second {
				t.Errorf("the billing lookup took %v, want the endpoint's 3 s timeout", got)
			}
			checkSeries(t, h.reg, `
hotline_flow_http_requests_total{flow="telecom",outcome="timeout"} 1
hotline_flow_http_requests_total{flow="telecom",outcome="ok"} 1
`, "hotline_flow_http_requests_total")
		})
	})
}

// TestTelecomSpeechMenu: the main menu answered by voice, in Mandarin.
func TestTelecomSpeechMenu(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := telecomFlow(t)
		h := newServiceHarness(t, WithClock(parisClock(t, wednesday)))
		defer h.ch.close()
		res := h.script(f,
			step{prompt: "For English, press 1.", delay: 500 * time.Millisecond, keys: "2"},
			step{prompt: "查询余额和账单请按1", delay: time.Second, speech: "我想查一下余额"},
			step{prompt: "请输入您的账号", delay: time.Second, hangup: true},
		)
		if got, want := path(res), "welcome>language_menu>mandarin>main_menu>account_entry>call_ended>call_ended_done"; got != want {
			t.Errorf("path %s\nwant %s", got, want)
		}
		if res.Vars["digits"] != "1" || res.Vars["transcript"] != "我想查一下余额" {
			t.Errorf("vars %v", res.Vars)
		}
		reqs := h.svc.rec.requests()
		if len(reqs) == 0 || reqs[0].Language != "zh" || !slices.Contains(reqs[0].Phrases, "余额") {
			t.Errorf("speech requests %+v", reqs)
		}
	})
}
