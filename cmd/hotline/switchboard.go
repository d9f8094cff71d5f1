package main

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/hotline-ivr/hotline/api"
)

// liveCall is what the switchboard knows of one call in progress: enough for the
// API's live call list, the wallboard's counts and a supervisor's hang-up.
type liveCall struct {
	info   api.ActiveCall // guarded by switchboard.mu (Stage, Node, Queue, Agent change)
	codec  func() string  // the negotiated codec, read when listed
	hangup func(ctx context.Context, reason string) error
}

// switchboard is the table of calls in progress on this node: it answers the API's
// live calls and the wallboard's call counts. It holds no call state of its own: sip,
// ivr and acd own their calls. The node's limits and readiness are the admission's.
type switchboard struct {
	admission *admission // Ready's answer

	mu    sync.Mutex
	calls map[string]*liveCall
}

func newSwitchboard(adm *admission) *switchboard {
	return &switchboard{admission: adm, calls: make(map[string]*liveCall)}
}

// add registers a call; its returned function removes it.
func (b *switchboard) add(c *liveCall) (remove func()) {
	b.mu.Lock()
	b.calls[c.info.ID] = c
	b.mu.Unlock()
	return func() {
		b.mu.Lock()
		delete(b.calls, c.info.ID)
		b.mu.Unlock()
	}
}

// update changes a live call's fields under the lock (stage, node, queue, agent).
func (b *switchboard) update(id string, fn func(*api.ActiveCall)) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if c := b.calls[id]; c != nil {
		fn(&c.info)
	}
}

// count returns the number of calls in progress.
func (b *switchboard) count() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.calls)
}

func (b *switchboard) snapshot(c *liveCall) api.ActiveCall {
	a := c.info
	if c.codec != nil {
		a.Codec = c.codec()
	}
	return a
}

// ActiveCalls lists the calls in progress, oldest first.
func (b *switchboard) ActiveCalls(context.Context) ([]api.ActiveCall, error) {
	b.mu.Lock()
	list := make([]*liveCall, 0, len(b.calls))
	for _, c := range b.calls {
		list = append(list, c)
	}
	out := make([]api.ActiveCall, 0, len(list))
	for _, c := range list {
		out = append(out, b.snapshot(c))
	}
	b.mu.Unlock()
	slices.SortFunc(out, func(x, y api.ActiveCall) int { return x.StartedAt.Compare(y.StartedAt) })
	return out, nil
}

// ActiveCall returns one call in progress.
func (b *switchboard) ActiveCall(_ context.Context, id string) (api.ActiveCall, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	c := b.calls[id]
	if c == nil {
		return api.ActiveCall{}, fmt.Errorf("call %s: %w", id, api.ErrNotFound)
	}
	return b.snapshot(c), nil
}

// Hangup ends a call in progress for a supervisor.
func (b *switchboard) Hangup(ctx context.Context, id, reason string) error {
	b.mu.Lock()
	c := b.calls[id]
	b.mu.Unlock()
	if c == nil || c.hangup == nil {
		return fmt.Errorf("call %s: %w", id, api.ErrNotFound)
	}
	return c.hangup(ctx, reason)
}

// Ready says whether this node should get new calls: the admission's answer.
func (b *switchboard) Ready(ctx context.Context) error { return b.admission.Ready(ctx) }

// counts returns the wallboard's calls by stage.
func (b *switchboard) counts() api.CallCounts {
	b.mu.Lock()
	defer b.mu.Unlock()
	var n api.CallCounts
	for _, c := range b.calls {
		switch c.info.Stage {
		case api.StageQueue:
			n.Waiting++
		case api.StageAgent:
			n.WithAgents++
		default:
			n.InIVR++
		}
	}
	return n
}
