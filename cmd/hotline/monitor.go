package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/hotline-ivr/hotline/acd/telephony"
	"github.com/hotline-ivr/hotline/api"
	"github.com/hotline-ivr/hotline/sip"
)

// monitorRingTimeout bounds the ring of a supervisor's phone.
const monitorRingTimeout = 30 * time.Second

// HeaderMonitor names the mode on the INVITE to a supervisor's phone, so a phone or
// CTI client can show "listening to call X" (X-Hotline-Call-ID carries the call).
const HeaderMonitor = "X-Hotline-Monitor"

// monitorCalls is the API's Calls backend with supervisor monitoring
// (api.CallMonitor): the switchboard's live calls, plus Monitor, which rings a
// supervisor's phone and joins them to a caller's conversation with an agent.
type monitorCalls struct {
	*switchboard
	e *engine
}

var _ api.CallMonitor = monitorCalls{}

// callsAPI is the API's view of the live calls.
func (e *engine) callsAPI() api.Calls { return monitorCalls{switchboard: e.board, e: e} }

// Monitor implements api.CallMonitor: it checks the call and the supervisor, then
// rings the supervisor's freshest registered phone in the background and joins them
// when they answer. The supervisor's call ends when the conversation does; the
// conversation goes on when the supervisor hangs up.
func (m monitorCalls) Monitor(ctx context.Context, id string, req api.MonitorRequest) (api.MonitorStarted, error) {
	call, err := m.ActiveCall(ctx, id)
	if err != nil {
		return api.MonitorStarted{}, err
	}
	mode, err := telephony.ParseMonitorMode(req.Mode)
	if err != nil {
		return api.MonitorStarted{}, fmt.Errorf("%w: %w", api.ErrInvalid, err)
	}
	p := m.e.people
	ended, ok := p.queue.Talking(id)
	if !ok {
		return api.MonitorStarted{}, fmt.Errorf("%w: call %s is not talking to an agent", api.ErrConflict, id)
	}
	if p.queue.Monitored(id) {
		return api.MonitorStarted{}, fmt.Errorf("%w: call %s already has a supervisor", api.ErrConflict, id)
	}
	if p.bindings == nil {
		return api.MonitorStarted{}, fmt.Errorf("%w: no SIP phones register here (sip.users is empty)", api.ErrConflict)
	}
	ext, known := req.Supervisor, false
	if agents, err := p.acd.Agents(ctx); err == nil {
		for _, a := range agents {
			if a.ID == req.Supervisor || (a.Extension != "" && a.Extension == req.Supervisor) {
				ext, known = a.Extension, true
				if ext == "" {
					ext = a.ID
				}
				break
			}
		}
	}
	bs := p.bindings.Lookup(m.e.sip.AOR(ext))
	if len(bs) == 0 {
		if !known {
			return api.MonitorStarted{}, fmt.Errorf("%w: supervisor %q is no agent and no registered extension", api.ErrNotFound, req.Supervisor)
		}
		return api.MonitorStarted{}, fmt.Errorf("%w: supervisor %q has no registered phone", api.ErrConflict, req.Supervisor)
	}
	b := bs[0] // the registrar lists the preferred, freshest contact first
	dr := sip.DialRequest{
		Target: b.URI,
		// The supervisor's phone shows the caller's number, named by the mode.
		CallerID: sip.CallerID{Policy: sip.CallerIDPass, Number: call.Caller, Name: mode.String()},
		Headers: []sip.Header{
			{Name: telephony.HeaderCallID, Value: id},
			{Name: HeaderMonitor, Value: mode.String()},
		},
		Timeout: monitorRingTimeout,
		Parent:  id,
	}
	if b.Source.IsValid() && len(b.Path) == 0 {
		dr.NextHop = b.Source.String()
	}
	log := m.e.log.With("call_id", id, "supervisor", req.Supervisor, "mode", mode.String())
	log.Info("monitor: ringing the supervisor", "contact", b.URI)
	m.e.wg.Add(1)
	go func() {
		defer m.e.wg.Done()
		m.e.superviseCall(id, dr, mode, ended, log)
	}()
	return api.MonitorStarted{CallID: id, Mode: mode.String(), Supervisor: req.Supervisor, Contact: b.URI}, nil
}

// superviseCall rings the supervisor (cancelled when the conversation ends first),
// joins them, and hangs their call up when the conversation is over.
func (e *engine) superviseCall(id string, dr sip.DialRequest, mode telephony.MonitorMode, ended <-chan struct{}, log *slog.Logger) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-ended:
			cancel()
		case <-ctx.Done():
		}
	}()
	sup, err := e.sip.Dial(ctx, dr)
	if err != nil {
		log.Info("monitor: the supervisor did not answer", "error", err)
		return
	}
	hangup := func(why string) {
		if err := sup.Hangup(context.WithoutCancel(ctx)); err != nil && !errors.Is(err, sip.ErrCallEnded) {
			log.Info("monitor: hanging up the supervisor failed", "error", err)
		}
		log.Info("monitor: supervisor call ended", "why", why, "supervisor_call_id", sup.ID())
	}
	left, err := e.people.queue.Monitor(ctx, id, sup.Media(), mode, sup.Done())
	if err != nil {
		log.Info("monitor: the supervisor answered but could not join", "error", err)
		hangup("join failed")
		return
	}
	log.Info("monitor: supervisor joined", "supervisor_call_id", sup.ID())
	select {
	case <-left:
	case <-sup.Done():
		<-left
	}
	select {
	case <-sup.Done():
		log.Info("monitor: supervisor hung up; the call goes on", "supervisor_call_id", sup.ID())
	default:
		hangup("the conversation ended")
	}
}
