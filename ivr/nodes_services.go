package ivr

// The nodes that hand the call or its data to other systems: queue, transfer,
// ticket. Each needs a service cmd/hotline wires; without it the node takes its error
// outcome and says what is missing.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hotline-ivr/hotline/flows"
)

// queueNode hands the call to the ACD and routes by how it came back.
func (c *call) queueNode(ctx context.Context, fr *frame, n *flows.Node, a *flows.Queue) (string, error) {
	if c.rt.queue == nil {
		return "", missing("queue node: no ACD configured")
	}
	id := a.Name
	if a.Target != nil && a.Target.ID != "" {
		id = a.Target.ID
	}
	prio := 0
	if a.Priority != nil {
		v, err := a.Priority.Eval(fr.vars)
		if err != nil {
			return "", fmt.Errorf("queue node: priority: %w", err)
		}
		p, _ := v.(int)
		if p < 0 || p > flows.MaxPriority {
			c.log.Warn("queue node: priority out of range; clamped", "priority", p)
			p = max(0, min(flows.MaxPriority, p))
		}
		prio = p
	}
	pop := make(map[string]any, len(a.ScreenPop))
	for _, name := range a.ScreenPop {
		if v, ok := fr.lookup(name); ok {
			pop[name] = v
		}
	}
	if err := c.answer(ctx); err != nil {
		return "", err
	}
	req := QueueRequest{
		Queue: id, Name: a.Name, CallID: c.ch.ID(), Caller: c.ch.Caller(), Called: c.ch.Called(),
		Flow: fr.flow.Name, Language: fr.lang(), Priority: prio, Skills: a.Skills,
		AnnouncePosition: a.AnnouncePosition, AnnounceWait: a.AnnounceWait,
		Callback: a.Callback, CallbackAfter: a.CallbackAfter, Timeout: a.Timeout,
		ScreenPop: pop, Leg: &queueLeg{c: c, fr: fr, q: a},
	}
	c.log.Info("queue: enter", "node", n.Name, "queue", a.Name, "id", id, "priority", prio)
	res, err := c.rt.queue.Enqueue(ctx, req)
	rec := &QueueRecord{Name: a.Name, ID: id, Outcome: res.Outcome, Agent: res.Agent, Waited: res.Waited, Talked: res.Talked}
	c.rec.queue = rec
	if err != nil {
		if ctx.Err() != nil && res.Outcome == flows.OutcomeCompleted && res.Agent != "" {
			// The caller hung up on the agent: a completed conversation, not an
			// abandon; the person the caller wanted was reached.
			c.enteredQueue(fr)
			if c.disp == "" {
				c.disp = DispositionTransferred
			}
			return "", ctx.Err()
		}
		rec.Outcome = flows.OutcomeError
		if ctx.Err() != nil {
			c.enteredQueue(fr) // the caller hung up waiting: an abandon, but they entered
			return "", ctx.Err()
		}
		return "", fmt.Errorf("queue node: enqueue in %s: %w", a.Name, err)
	}
	switch res.Outcome {
	case flows.OutcomeCompleted, flows.OutcomeTimeout, flows.OutcomeCallback:
		c.enteredQueue(fr)
	case flows.OutcomeFull, flows.OutcomeClosed:
	default:
		rec.Outcome = flows.OutcomeError
		return "", fmt.Errorf("queue node: the ACD returned outcome %q", res.Outcome)
	}
	c.log.Info("queue: left", "node", n.Name, "queue", a.Name, "outcome", res.Outcome, "agent", res.Agent, "waited", res.Waited)
	return route(n, res.Outcome)
}

// enteredQueue counts the call, once, as transferred to a human.
func (c *call) enteredQueue(fr *frame) {
	if !c.rec.queueEntered {
		c.rec.queueEntered = true
		c.rt.metrics.toHuman(c.top.flow.Name)
	}
}

var (
	_ QueueLeg  = (*queueLeg)(nil)
	_ AudioSink = (*recordSink)(nil)
)

// queueLeg is the QueueLeg the runtime lends the ACD.
type queueLeg struct {
	c  *call
	fr *frame
	q  *flows.Queue
}

func (l *queueLeg) Channel() Channel { return l.c.ch }

func (l *queueLeg) Hold(ctx context.Context) error {
	if l.q.HoldPrompt == nil {
		return ErrNoHoldPrompt
	}
	return l.c.speakPrompt(ctx, l.fr, l.q.HoldPrompt, l.q.Voices, false, nil)
}

func (l *queueLeg) Announce(ctx context.Context, position int, wait time.Duration) error {
	if !l.q.AnnouncePosition {
		position = 0
	}
	if !l.q.AnnounceWait {
		wait = 0
	}
	lang := builtinLang(l.fr.lang())
	text := announcement(lang, position, wait)
	if text == "" {
		return nil
	}
	return l.c.say(ctx, l.fr, text, l.fr.voice(l.q.Voices, lang), false, nil)
}

func (l *queueLeg) OfferCallback(ctx context.Context) (bool, error) {
	c := l.c
	lang := builtinLang(l.fr.lang())
	if err := c.say(ctx, l.fr, callbackOffer(lang), l.fr.voice(l.q.Voices, lang), true, nil); err != nil {
		return false, err
	}
	key, _, err := c.collect(ctx, keySpec{min: 1, max: 1, timeout: l.fr.flow.Timeouts.Gather, interKey: l.fr.flow.Timeouts.Gather})
	if err != nil {
		return false, err
	}
	c.log.Info("queue: callback offer", "key", key, "accepted", key == "1")
	return key == "1", nil
}

// builtinLang is the language of the runtime's own sentences (queue announcements,
// the callback offer) for a call in lang: Mandarin for zh, English otherwise.
func builtinLang(lang string) string {
	if lang == "zh" || strings.HasPrefix(lang, "zh-") {
		return lang
	}
	return "en"
}

// announcement is the queue position and wait sentence in lang (see builtinLang).
func announcement(lang string, position int, wait time.Duration) string {
	mins := int((wait + time.Minute - 1) / time.Minute)
	zh := strings.HasPrefix(lang, "zh")
	var parts []string
	if position > 0 {
		if zh {
			parts = append(parts, "您前面还有"+strconv.Itoa(position-1)+"位客户。")
		} else {
			parts = append(parts, "You are number "+strconv.Itoa(position)+" in the queue.")
		}
	}
	if wait > 0 {
		switch {
		case zh:
			parts = append(parts, "预计等待时间约为"+strconv.Itoa(mins)+"分钟。")
		case mins == 1:
			parts = append(parts, "Your expected wait is about one minute.")
		default:
			parts = append(parts, "Your expected wait is about "+strconv.Itoa(mins)+" minutes.")
		}
	}
	return strings.Join(parts, " ")
}

// callbackOffer is the callback offer in lang.
func callbackOffer(lang string) string {
	if strings.HasPrefix(lang, "zh") {
		return "如需我们稍后回电，请按1。继续等待请按其他键或保持等待。"
	}
	return "To be called back when an agent is free instead of waiting, press 1. To keep waiting, stay on the line."
}

// transferNode sends the call to a number or URI and routes by the far end's answer.
func (c *call) transferNode(ctx context.Context, fr *frame, n *flows.Node, a *flows.Transfer) (string, error) {
	if c.rt.transferer == nil {
		return "", missing("transfer node: no transferer configured")
	}
	to, err := a.To.Text(fr.vars)
	if err != nil {
		return "", fmt.Errorf("transfer node: render to: %w", err)
	}
	to = strings.TrimSpace(to)
	if to == "" {
		return "", fmt.Errorf("transfer node: the target %q rendered empty", a.To.Src)
	}
	req := TransferRequest{CallID: c.ch.ID(), To: to, Trunk: a.Trunk, Mode: a.Mode, CallerIDPolicy: a.CallerID, Timeout: a.Timeout}
	switch a.CallerID {
	case flows.CallerIDFixed:
		if req.CallerID, err = a.CallerIDNumber.Text(fr.vars); err != nil {
			return "", fmt.Errorf("transfer node: render caller_id_number: %w", err)
		}
	case flows.CallerIDWithheld:
	default:
		req.CallerIDPolicy = flows.CallerIDPass
		req.CallerID = c.ch.Caller()
	}
	if req.Mode == "" {
		req.Mode = flows.TransferBridge
	}
	if err := c.answer(ctx); err != nil { // REFER and bridging need an answered call
		return "", err
	}
	c.log.Info("transfer", "node", n.Name, "to", to, "mode", req.Mode, "trunk", req.Trunk)
	out, err := c.rt.transferer.Transfer(ctx, c.ch, req)
	rec := &TransferRecord{To: to, Mode: req.Mode, Outcome: out}
	c.rec.transfer = rec
	if err != nil {
		rec.Outcome = flows.OutcomeError
		return "", fmt.Errorf("transfer node: transfer to %s: %w", to, err)
	}
	if !slices.Contains([]flows.Outcome{flows.OutcomeOK, flows.OutcomeBusy, flows.OutcomeNoAnswer, flows.OutcomeFailed}, out) {
		rec.Outcome = flows.OutcomeError
		return "", fmt.Errorf("transfer node: the transferer returned outcome %q", out)
	}
	if out == flows.OutcomeOK {
		c.rec.transferred = true
	}
	c.log.Info("transfer: result", "node", n.Name, "to", to, "outcome", out)
	return route(n, out)
}

// ticketNode creates a ticket and, with notify, posts it to an endpoint. The ticket
// is created first: when the notification fails the node takes its error outcome
// with ticket_id already set (the ticket exists; retrying would make a second).
func (c *call) ticketNode(ctx context.Context, fr *frame, n *flows.Node, a *flows.Ticket) (string, error) {
	if c.rt.tickets == nil {
		return "", missing("ticket node: no ticket store configured")
	}
	t := Ticket{
		Category: a.Category, Priority: a.Priority, Fields: map[string]any{},
		CallID: c.ch.ID(), Caller: c.ch.Caller(), Called: c.ch.Called(), Flow: fr.flow.Name,
		Language: fr.lang(), Recordings: slices.Clone(c.rec.recordings), Created: c.rt.clock(),
	}
	if t.Priority == "" {
		t.Priority = flows.TicketNormal
	}
	var err error
	if t.Summary, err = a.Summary.Text(fr.vars); err != nil {
		return "", fmt.Errorf("ticket node: render summary: %w", err)
	}
	for _, k := range sortedKeys(a.Fields) {
		v, err := a.Fields[k].Eval(fr.vars)
		if err != nil {
			return "", fmt.Errorf("ticket node: field %s: %w", k, err)
		}
		t.Fields[k] = v
	}
	if a.Transcript {
		t.Transcript = slices.Clone(c.rec.transcript)
	}
	id, err := c.rt.tickets.CreateTicket(ctx, t)
	if err != nil {
		return "", fmt.Errorf("ticket node: create %s ticket: %w", a.Category, err)
	}
	fr.vars["ticket_id"] = id
	c.rec.tickets = append(c.rec.tickets, id)
	c.log.Info("ticket created", "node", n.Name, "ticket_id", id, "category", a.Category, "priority", t.Priority)
	if a.NotifyTarget != nil {
		if err := c.notifyTicket(ctx, fr, a.NotifyTarget, id, t); err != nil {
			return "", fmt.Errorf("ticket node: ticket %s created, notification failed: %w", id, err)
		}
	}
	return route(n, flows.OutcomeOK)
}

// notifyTicket posts a created ticket as JSON to endpoint e, with the http node's
// machinery: its headers, its timeout (else the flow's), one retry.
func (c *call) notifyTicket(ctx context.Context, fr *frame, e *flows.Endpoint, id string, t Ticket) error {
	body, err := json.Marshal(struct {
		ID string `json:"id"`
		ticketJSON
	}{id, ticketJSON(t)})
	if err != nil {
		return fmt.Errorf("encode ticket: %w", err)
	}
	req := httpRequest{method: http.MethodPost, url: e.URL, header: http.Header{}, body: body, timeout: e.Timeout, retries: 1}
	if req.timeout <= 0 {
		req.timeout = fr.flow.Timeouts.HTTP
	}
	for k, v := range e.Headers {
		req.header.Set(k, v)
	}
	req.header.Set("Content-Type", "application/json")
	res := c.doHTTP(ctx, fr.flow.Name, req)
	switch {
	case res.status >= 200 && res.status < 300:
		return nil
	case res.status == 0:
		return fmt.Errorf("POST %s: no response: %w", redact(e.URL), res.err)
	default:
		return fmt.Errorf("POST %s: status %d", redact(e.URL), res.status)
	}
}

// ticketJSON is a Ticket as notifications post it.
type ticketJSON struct {
	Category   string         `json:"category"`
	Priority   string         `json:"priority"`
	Summary    string         `json:"summary"`
	Fields     map[string]any `json:"fields"`
	Transcript []string       `json:"transcript,omitempty"`
	CallID     string         `json:"call_id"`
	Caller     string         `json:"caller"`
	Called     string         `json:"called"`
	Flow       string         `json:"flow"`
	Language   string         `json:"language"`
	Recordings []string       `json:"recordings,omitempty"`
	Created    time.Time      `json:"created"`
}
