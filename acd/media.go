package acd

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// media keeps a waiting caller listening: hold music, interrupted for announcements,
// and the keys they press. One goroutine per waiting caller, owned by Enqueue, which
// stops it (and waits for it) before bridging or returning.
type media struct {
	caller Caller
	ctx    context.Context
	cancel context.CancelFunc
	ann    chan Announcement // capacity 1: the newest announcement waiting to play
	keys   chan byte         // keys pressed, for Enqueue
	done   chan struct{}
	logger *slog.Logger

	mu   sync.Mutex         // guards hold
	hold context.CancelFunc // interrupts the Hold in progress
}

func startMedia(ctx context.Context, caller Caller, logger *slog.Logger) *media {
	m := &media{caller: caller, ann: make(chan Announcement, 1), keys: make(chan byte, 8),
		done: make(chan struct{}), logger: logger}
	m.ctx, m.cancel = context.WithCancel(ctx)
	go m.run()
	return m
}

// stop ends hold and waits for the goroutine. It is idempotent.
func (m *media) stop() {
	m.cancel()
	<-m.done
}

// announce queues a (replacing a queued one not yet played) and interrupts hold.
func (m *media) announce(a Announcement) {
	select {
	case <-m.ann: // a newer announcement replaces one not yet played
	default:
	}
	m.ann <- a // cannot block: only this goroutine (Enqueue's) sends
	m.mu.Lock()
	if m.hold != nil {
		m.hold()
	}
	m.mu.Unlock()
}

func (m *media) key(k byte) {
	select {
	case m.keys <- k:
	default: // Enqueue is busy; a key pressed eight times in a row loses the rest
	}
}

func (m *media) run() {
	defer close(m.done)
	for m.ctx.Err() == nil {
		select {
		case a := <-m.ann:
			m.play(a)
			continue
		default:
		}
		hctx, cancel := context.WithCancel(m.ctx)
		m.mu.Lock()
		m.hold = cancel
		pending := len(m.ann) > 0 // an announce that came before m.hold was set
		m.mu.Unlock()
		if pending {
			cancel()
		}
		k, err := m.caller.Hold(hctx)
		interrupted := hctx.Err() != nil
		cancel()
		switch {
		case k != 0:
			m.key(k)
		case !interrupted:
			// Hold returned by itself (failed, or a misbehaving Caller): retry after a
			// pause instead of spinning, or play an announcement sooner.
			if err != nil {
				m.logger.Info("acd: hold failed", "err", err)
			}
			t := time.NewTimer(holdRetry)
			select {
			case <-m.ctx.Done():
			case a := <-m.ann:
				m.play(a)
			case <-t.C:
			}
			t.Stop()
		}
	}
}

// holdRetry is the pause before restarting a Hold that returned by itself.
const holdRetry = time.Second

func (m *media) play(a Announcement) {
	k, err := m.caller.Announce(m.ctx, a)
	switch {
	case k != 0:
		m.key(k)
	case err != nil && m.ctx.Err() == nil:
		m.logger.Info("acd: announcement failed", "err", err)
	}
}
