package flowtest

// The simulated services: an ACD that hands the driver the queue's outcome, a
// transferer that asks for the far end's answer, a recorder and a ticket store that
// number what they keep, and the http client's log.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/hotline-ivr/hotline/flows"
	"github.com/hotline-ivr/hotline/ivr"
)

var (
	_ ivr.Queue       = (*services)(nil)
	_ ivr.QueueInfo   = (*services)(nil)
	_ ivr.Transferer  = (*services)(nil)
	_ ivr.Recorder    = (*services)(nil)
	_ ivr.TicketStore = (*services)(nil)
)

// services simulates everything a flow hands the call or its data to.
type services struct {
	c      *Call
	status map[string]ivr.QueueStatus // by the ACD's queue id
}

// queueStatus keys the figures given by queue name by the ACD id the environment
// binds each name to, as the runtime asks for them.
func queueStatus(f *flows.Flow, byName map[string]ivr.QueueStatus) map[string]ivr.QueueStatus {
	out := make(map[string]ivr.QueueStatus, len(byName))
	for name, st := range byName {
		id := name
		if f.Env != nil && f.Env.Queues[name] != nil && f.Env.Queues[name].ID != "" {
			id = f.Env.Queues[name].ID
		}
		out[id] = st
	}
	return out
}

func (s *services) QueueStatus(_ context.Context, queue string) (ivr.QueueStatus, error) {
	return s.status[queue], nil
}

// Enqueue does what an ACD does before an agent answers (the announcement, the
// callback offer, the hold prompt), then hands the driver the call (EventQueue) to
// learn how it leaves the queue.
func (s *services) Enqueue(ctx context.Context, req ivr.QueueRequest) (ivr.QueueResult, error) {
	c := s.c
	e := Entry{Kind: EntryQueue, Queue: &req}
	c.add(e)
	st := s.status[req.Queue]
	leave := func(o flows.Outcome) (ivr.QueueResult, error) {
		e.Outcome = o
		c.add(e)
		res := ivr.QueueResult{Outcome: o, Waited: st.ExpectedWait}
		if o == flows.OutcomeCompleted {
			res.Agent = "agent-1"
		}
		return res, nil
	}
	if req.AnnouncePosition || req.AnnounceWait {
		if err := req.Leg.Announce(ctx, st.Waiting+1, st.ExpectedWait); err != nil {
			return ivr.QueueResult{}, err
		}
	}
	if req.Callback && req.CallbackAfter <= 0 {
		took, err := req.Leg.OfferCallback(ctx)
		if err != nil {
			return ivr.QueueResult{}, err
		}
		if took {
			return leave(flows.OutcomeCallback)
		}
	}
	if err := req.Leg.Hold(ctx); err != nil && !errors.Is(err, ivr.ErrNoHoldPrompt) {
		return ivr.QueueResult{}, err
	}
	o, ok := c.hold(ctx, Event{Kind: EventQueue, Queue: &req}, nil)
	if !ok {
		return ivr.QueueResult{}, ctx.Err()
	}
	if o == "" {
		o = flows.OutcomeCompleted
	}
	return leave(o)
}

// Transfer hands the driver the transfer (EventTransfer) to learn the far end's
// answer.
func (s *services) Transfer(ctx context.Context, _ ivr.Channel, req ivr.TransferRequest) (flows.Outcome, error) {
	e := Entry{Kind: EntryTransfer, Transfer: &req}
	s.c.add(e)
	o, ok := s.c.hold(ctx, Event{Kind: EventTransfer, Transfer: &req}, nil)
	if !ok {
		return "", ctx.Err()
	}
	if o == "" {
		o = flows.OutcomeOK
	}
	e.Outcome = o
	s.c.add(e)
	return o, nil
}

// StartRecording starts a voicemail, numbered … in the call.
func (s *services) StartRecording(_ context.Context, req ivr.RecordingRequest) (ivr.Recording, error) {
	c := s.c
	eos := flows.DefaultEndOnSilence
	if n := c.lookupNode(c.Node()); n != nil {
		if a, ok := n.Action.(*flows.Record); ok && a.EndOnSilence > 0 {
			eos = a.EndOnSilence
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.nRec++
	r := &recording{c: c, id: "R-" + strconv.Itoa(c.nRec), rate: req.SampleRate, endOnSilence: eos}
	if r.rate <= 0 {
		r.rate = sampleRate
	}
	c.rec = r
	return r, nil
}

// CreateTicket keeps the ticket, numbered T-1, T-2… in the call.
func (s *services) CreateTicket(_ context.Context, t ivr.Ticket) (string, error) {
	c := s.c
	c.mu.Lock()
	c.nTick++
	tk := &Ticket{ID: "T-" + strconv.Itoa(c.nTick), Ticket: t}
	c.mu.Unlock()
	c.add(Entry{Kind: EntryTicket, Ticket: tk})
	return tk.ID, nil
}

// Tickets returns the tickets the call created, in order.
func (c *Call) Tickets() []Ticket {
	var out []Ticket
	for _, e := range c.Log(0) {
		if e.Kind == EntryTicket {
			out = append(out, *e.Ticket)
		}
	}
	return out
}

// sourceHeader is set by the test runner's transport on the responses it makes up,
// naming who answered (a mock of the test file, the mock billing service); the log
// shows it and removes it before the flow sees the response.
const sourceHeader = "X-Flowtest-Source"

// logTransport logs every request of the call's http nodes.
type logTransport struct {
	c    *Call
	next http.RoundTripper
}

func (t logTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := t.next.RoundTrip(r)
	line := r.Method + " " + r.URL.Redacted() + " -> "
	if err != nil {
		line += "no response: " + err.Error()
	} else {
		line += strconv.Itoa(resp.StatusCode)
		if src := resp.Header.Get(sourceHeader); src != "" {
			line += " (" + src + ")"
			resp.Header.Del(sourceHeader)
		} else {
			line += fmt.Sprintf(" (%d ms)", time.Since(start).Milliseconds())
		}
	}
	t.c.add(Entry{Kind: EntryHTTP, Text: line})
	return resp, err
}
