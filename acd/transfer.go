package acd

import "sync"

// Engage keeps the dispatcher from offering calls to agentID from this node until
// release is called, as if an offer to them were ringing: the telephony side
// engages an agent it rings itself (a transfer to them) for as long as that call
// lasts, so they are never offered a queue call on top of it. Their Store state is
// unchanged (the transferred conversation is not an ACD conversation); release is
// idempotent.
func (e *Engine) Engage(agentID string) (release func()) {
	e.ringing(agentID, 1)
	var once sync.Once
	return func() { once.Do(func() { e.ringing(agentID, -1) }) }
}
