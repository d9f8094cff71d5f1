package telephony

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/hotline-ivr/hotline/media/bridge"
)

// MonitorMode is how a supervisor joins a caller's conversation with an agent.
type MonitorMode uint8

// Modes. The zero value is MonitorUnknown, refused by Monitor.
const (
	MonitorUnknown MonitorMode = iota
	// MonitorListen: the supervisor hears caller and agent; nobody hears them.
	MonitorListen
	// MonitorWhisper: the supervisor hears both and is heard by the agent only
	// (coaching).
	MonitorWhisper
	// MonitorBarge: the supervisor hears both and both hear them (a three-way call).
	MonitorBarge
)

func (m MonitorMode) String() string {
	switch m {
	case MonitorListen:
		return "listen"
	case MonitorWhisper:
		return "whisper"
	case MonitorBarge:
		return "barge"
	}
	return "unknown"
}

// ParseMonitorMode reads listen, whisper or barge.
func ParseMonitorMode(s string) (MonitorMode, error) {
	for _, m := range []MonitorMode{MonitorListen, MonitorWhisper, MonitorBarge} {
		if s == m.String() {
			return m, nil
		}
	}
	return MonitorUnknown, fmt.Errorf("monitor mode %q: want listen, whisper or barge", s)
}

// Errors of Monitor.
var (
	// ErrNotTalking: the call is not (or no longer) bridged to an agent.
	ErrNotTalking = errors.New("telephony: the call is not talking to an agent")
	// ErrMonitored: a supervisor is already in the call.
	ErrMonitored = errors.New("telephony: a supervisor is already in the call")
)

// conversation is one caller↔agent bridge that a supervisor may join: caller.Bridge
// registers it with the Queue while it runs.
type conversation struct {
	join  chan *monitorJoin // taken by the bridge loop
	xfer  chan *transferReq // taken by the bridge loop (Transfer)
	ended chan struct{}     // closed when the bridge loop returns

	mu      sync.Mutex
	busy    bool          // a supervisor is joining or in
	consult *consultation // an attended transfer under way
}

// monitorJoin is a supervisor's request to join, answered on joined.
type monitorJoin struct {
	sup    bridge.Session
	mode   MonitorMode
	leave  <-chan struct{} // closed when the supervisor's call ended or they leave
	joined chan error      // the bridge loop's answer
	left   chan struct{}   // closed when the supervisor is out of the conversation
}

// register makes the conversation of callID joinable until the returned function.
func (q *Queue) register(callID string) (*conversation, func()) {
	c := &conversation{join: make(chan *monitorJoin), xfer: make(chan *transferReq), ended: make(chan struct{})}
	q.convMu.Lock()
	if q.convs == nil {
		q.convs = make(map[string]*conversation)
	}
	q.convs[callID] = c
	q.convMu.Unlock()
	return c, func() {
		q.convMu.Lock()
		if q.convs[callID] == c {
			delete(q.convs, callID)
		}
		q.convMu.Unlock()
		close(c.ended)
	}
}

func (q *Queue) conversation(callID string) *conversation {
	q.convMu.Lock()
	defer q.convMu.Unlock()
	return q.convs[callID]
}

// Talking reports whether callID is bridged to an agent now, so a supervisor can be
// called to join it; ended is closed when that conversation is over (the caller or
// the agent hung up), so a supervisor's phone still ringing can be cancelled.
func (q *Queue) Talking(callID string) (ended <-chan struct{}, ok bool) {
	c := q.conversation(callID)
	if c == nil {
		return nil, false
	}
	return c.ended, true
}

// Monitored reports whether a supervisor is joining or in callID's conversation,
// so a second request is refused before a phone rings for nothing.
func (q *Queue) Monitored(callID string) bool {
	c := q.conversation(callID)
	if c == nil {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.busy
}

// Monitor joins sup (the supervisor's answered call) to callID's conversation in
// mode, until leave is closed (the supervisor hung up) or the conversation ends.
// It returns once the supervisor is in, with a channel closed when they are out
// again; ErrNotTalking when the call has no agent now, ErrMonitored when another
// supervisor is in. The caller and agent go back to a plain bridge when the
// supervisor leaves.
func (q *Queue) Monitor(ctx context.Context, callID string, sup bridge.Session, mode MonitorMode, leave <-chan struct{}) (left <-chan struct{}, err error) {
	if mode == MonitorUnknown || mode > MonitorBarge {
		return nil, fmt.Errorf("telephony: monitor %s: %w", callID, errors.New("unknown mode"))
	}
	c := q.conversation(callID)
	if c == nil {
		return nil, fmt.Errorf("telephony: monitor %s: %w", callID, ErrNotTalking)
	}
	c.mu.Lock()
	if c.consult != nil {
		c.mu.Unlock()
		return nil, fmt.Errorf("telephony: monitor %s: %w", callID, ErrTransferring)
	}
	if c.busy {
		c.mu.Unlock()
		return nil, fmt.Errorf("telephony: monitor %s: %w", callID, ErrMonitored)
	}
	c.busy = true
	c.mu.Unlock()
	release := func() { c.mu.Lock(); c.busy = false; c.mu.Unlock() }
	j := &monitorJoin{sup: sup, mode: mode, leave: leave, joined: make(chan error, 1), left: make(chan struct{})}
	select {
	case c.join <- j:
	case <-c.ended:
		release()
		return nil, fmt.Errorf("telephony: monitor %s: %w", callID, ErrNotTalking)
	case <-ctx.Done():
		release()
		return nil, ctx.Err()
	}
	// The bridge loop took the request: it always answers, and closes left.
	if err := <-j.joined; err != nil {
		<-j.left
		release()
		return nil, fmt.Errorf("telephony: monitor %s: %w", callID, err)
	}
	done := make(chan struct{})
	go func() {
		<-j.left
		release()
		close(done)
	}()
	return done, nil
}

// mix runs the caller, agent and supervisor j in a mixer until the supervisor
// leaves or ctx ends (the call or the agent's call ended). It returns after the
// mixer closed, so the caller loop can bridge the two again.
func mix(ctx context.Context, log *slog.Logger, callerLeg, agentLeg bridge.Session, j *monitorJoin) {
	defer close(j.left)
	mx := bridge.NewMixer()
	defer mx.Close()
	var err error
	if _, err = mx.Add(callerLeg, bridge.RoleTalk); err == nil {
		_, err = mx.Add(agentLeg, bridge.RoleTalk)
	}
	if err == nil {
		switch j.mode {
		case MonitorListen:
			_, err = mx.Add(j.sup, bridge.RoleListen)
		case MonitorWhisper:
			_, err = mx.AddWhisper(j.sup, agentLeg)
		case MonitorBarge:
			_, err = mx.Add(j.sup, bridge.RoleTalk)
		}
	}
	j.joined <- err
	if err != nil {
		log.Info("telephony: supervisor could not join", "err", err)
		return
	}
	log.Info("telephony: supervisor joined")
	select {
	case <-ctx.Done():
	case <-j.leave:
	}
}
