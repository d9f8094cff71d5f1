package bridge

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/hotline-ivr/hotline/media"
	"github.com/hotline-ivr/hotline/media/audio"
)

// Role says whether a mixer party is heard.
type Role uint8

// Roles. The zero value is RoleUnknown, refused by Add.
const (
	RoleUnknown Role = iota
	// RoleTalk: the party hears everyone else and is heard by everyone (a conference
	// member, the third party of a warm transfer, a supervisor barging in).
	RoleTalk
	// RoleListen: the party hears everyone and is heard by no one (a supervisor
	// listening in).
	RoleListen
	// RoleWhisper: the party hears everyone and is heard by one party only (a
	// supervisor coaching the agent without the caller hearing). Joined with
	// AddWhisper.
	RoleWhisper
)

// maxMixFrame is the longest frame a party's Source is asked for: 120 ms at 48 kHz.
const maxMixFrame = 48000 * maxFrameMs / 1000

// Mixer joins three or more legs: each party hears the sum of the others who talk.
// It is built from the bridge's pipes, one per ordered pair of parties (a speaker to
// a listener), so every pair resamples on its own and nothing waits for a common
// clock: each party's Source sums its incoming pipes on that party's own tick. The
// pipe lists are copied on write, so the ticks never take a lock; for the handful
// of parties of a consult or a barge, the N×(N-1) pipes cost less than a mixing
// clock would.
type Mixer struct {
	mu      sync.Mutex
	parties []*party
	closed  bool
	wg      sync.WaitGroup
}

// party is one leg in a Mixer.
type party struct {
	s      Session
	role   Role
	only   Session                 // RoleWhisper: the one party who hears it
	in     atomic.Pointer[[]*pipe] // pipes from the others who talk, summed into Read
	out    atomic.Pointer[[]*pipe] // pipes to the others, fed by WriteAudio
	tmp    []int16
	cancel context.CancelFunc
	done   chan struct{}
	remove func() // the sink
}

// NewMixer returns an empty mixer.
func NewMixer() *Mixer { return &Mixer{} }

// ErrMixerClosed is returned by Add after Close.
var ErrMixerClosed = errors.New("bridge: mixer closed")

// Add joins s with role and returns a function that takes it out again
// (idempotent). The mixer plays to s from now on, taking over its outgoing audio.
func (m *Mixer) Add(s Session, role Role) (remove func(), err error) {
	if s == nil || (role != RoleTalk && role != RoleListen) {
		return nil, errors.New("bridge: mixer party needs a session and a role (talk or listen)")
	}
	return m.add(s, role, nil)
}

// AddWhisper joins s so that it hears everyone and only the party to hears it (a supervisor
// coaching an agent); to is a party already in the mixer, or one added later. The
// returned function takes s out again (idempotent).
func (m *Mixer) AddWhisper(s, to Session) (remove func(), err error) {
	if s == nil || to == nil || s == to {
		return nil, errors.New("bridge: a whisper needs a session and another party to whisper to")
	}
	return m.add(s, RoleWhisper, to)
}

// heardBy says whether listener hears p.
func (p *party) heardBy(listener Session) bool {
	return p.role == RoleTalk || (p.role == RoleWhisper && p.only == listener)
}

func (m *Mixer) add(s Session, role Role, only Session) (remove func(), err error) {
	p := &party{s: s, role: role, only: only, tmp: make([]int16, maxMixFrame), done: make(chan struct{})}
	empty := []*pipe{}
	p.in.Store(&empty)
	p.out.Store(&empty)
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil, ErrMixerClosed
	}
	for _, o := range m.parties {
		if o.heardBy(s) {
			pp := newPipe(o.s, s)
			appendPipe(&o.out, pp)
			appendPipe(&p.in, pp)
		}
		if p.heardBy(o.s) {
			pp := newPipe(s, o.s)
			appendPipe(&p.out, pp)
			appendPipe(&o.in, pp)
		}
	}
	m.parties = append(m.parties, p)
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	p.remove = s.AddSink(p)
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		defer close(p.done)
		for ctx.Err() == nil {
			err := s.Play(ctx, p)
			if err != nil && !errors.Is(err, media.ErrInterrupted) {
				return // the session closed, or we were removed
			}
		}
	}()
	m.mu.Unlock()
	var once sync.Once
	return func() { once.Do(func() { m.drop(p) }) }, nil
}

// drop takes p out: its pipes leave the others' lists, its goroutine stops.
func (m *Mixer) drop(p *party) {
	m.mu.Lock()
	m.parties = slices.DeleteFunc(m.parties, func(o *party) bool { return o == p })
	for _, o := range m.parties {
		removePipes(&o.in, func(pp *pipe) bool { return pp.from == p.s })
		removePipes(&o.out, func(pp *pipe) bool { return pp.to == p.s })
	}
	m.mu.Unlock()
	p.remove()
	p.cancel()
	<-p.done
}

// Parties is the number of legs in the mixer.
func (m *Mixer) Parties() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.parties)
}

// Close takes every party out and waits for the mixer's goroutines. Idempotent.
func (m *Mixer) Close() {
	m.mu.Lock()
	m.closed = true
	ps := slices.Clone(m.parties)
	m.mu.Unlock()
	for _, p := range ps {
		m.drop(p)
	}
	m.wg.Wait()
}

// WriteAudio fans the party's audio out to every listener's pipe (its clock tick).
func (p *party) WriteAudio(pcm []int16) {
	for _, pp := range *p.out.Load() {
		pp.WriteAudio(pcm)
	}
}

// Read sums what the others said for this party (its clock tick).
func (p *party) Read(frame []int16) (int, error) {
	clear(frame)
	n := len(frame)
	if n > len(p.tmp) {
		return n, nil // a frame longer than any codec's: silence rather than a crash
	}
	tmp := p.tmp[:n]
	for _, pp := range *p.in.Load() {
		if _, err := pp.Read(tmp); err == nil {
			audio.Mix(frame, tmp)
		}
	}
	return n, nil
}

func appendPipe(list *atomic.Pointer[[]*pipe], pp *pipe) {
	next := append(slices.Clone(*list.Load()), pp)
	list.Store(&next)
}

func removePipes(list *atomic.Pointer[[]*pipe], drop func(*pipe) bool) {
	next := slices.DeleteFunc(slices.Clone(*list.Load()), drop)
	list.Store(&next)
}
