package registrar

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// events collects what a watcher receives.
type events struct {
	mu  sync.Mutex
	got []Event
}

func (e *events) add(ev Event) {
	e.mu.Lock()
	e.got = append(e.got, ev)
	e.mu.Unlock()
}

func (e *events) len() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.got)
}

func (e *events) take() []Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := e.got
	e.got = nil
	return out
}

func (e *events) kinds() string {
	var s string
	for _, ev := range e.take() {
		s += fmt.Sprintf("%s/%s/%d ", ev.Kind, ev.Cause, len(ev.Bindings))
	}
	return s
}

// fakeClock is a manual clock for tests that drive Sweep themselves.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

func newMemory(t *testing.T, opts ...Option) *Memory {
	t.Helper()
	m, err := NewMemory(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

func register(t *testing.T, m *Memory, r Request) []Binding {
	t.Helper()
	out, err := m.Register(context.Background(), r)
	if err != nil {
		t.Fatalf("Register: %v", err)
	}
	return out
}

// TestMemoryLifecycle: online when the first phone registers, changed for a second
// phone, nothing for a refresh, changed and offline as phones unregister; Lookup and
// ContactCount follow, in q-then-freshness order.
func TestMemoryLifecycle(t *testing.T) {
	clk := &fakeClock{t: t0}
	m := newMemory(t, WithClock(clk.now))
	var ev events
	stop := m.Watch(ev.add)
	defer stop()
	flush := func() string {
		t.Helper()
		// Events are delivered by the notifier goroutine; wait for it.
		deadline := time.Now().Add(2 * time.Second)
		for {
			m.mu.Lock()
			pending := len(m.queue)
			m.mu.Unlock()
			if pending == 0 {
				time.Sleep(5 * time.Millisecond)
				return ev.kinds()
			}
			if time.Now().After(deadline) {
				t.Fatal("events not delivered")
			}
			time.Sleep(time.Millisecond)
		}
	}

	register(t, m, req("desk", 1, 600, contact("sip:agent1@10.0.0.5", NoExpires)))
	if got := flush(); got != "online/registered/1 " {
		t.Errorf("first phone: %s", got)
	}
	clk.set(t0.Add(time.Second))
	register(t, m, req("soft", 1, 600, contact("sip:agent1@10.0.0.6", NoExpires)))
	if got := flush(); got != "changed/registered/2 " {
		t.Errorf("second phone: %s", got)
	}
	if got := uris(m.Lookup(aor)); len(got) != 2 || got[0] != "sip:agent1@10.0.0.6" {
		t.Errorf("Lookup %q: the fresher first", got)
	}
	clk.set(t0.Add(2 * time.Second))
	register(t, m, req("desk", 2, 600, contact("sip:agent1@10.0.0.5", NoExpires)))
	if got := flush(); got != "" {
		t.Errorf("refresh reported: %s", got)
	}
	if got := uris(m.Lookup(aor)); got[0] != "sip:agent1@10.0.0.5" {
		t.Errorf("Lookup after refresh %q: the refreshed one first", got)
	}
	if n := m.ContactCount(); n != 2 {
		t.Errorf("ContactCount %d", n)
	}
	if aors := m.AORs(); len(aors) != 1 || aors[0] != aor {
		t.Errorf("AORs %q", aors)
	}
	register(t, m, req("desk", 3, 0, contact("sip:agent1@10.0.0.5", NoExpires)))
	if got := flush(); got != "changed/unregistered/1 " {
		t.Errorf("desk phone unregistered: %s", got)
	}
	register(t, m, Request{AOR: aor, CallID: "soft", CSeq: 2, Wildcard: true, Expires: 0})
	if got := flush(); got != "offline/unregistered/0 " {
		t.Errorf("Contact: *: %s", got)
	}
	if n := m.ContactCount(); n != 0 || len(m.Lookup(aor)) != 0 || len(m.AORs()) != 0 {
		t.Errorf("after unregistering: %d contacts, %v", n, m.Lookup(aor))
	}
	// A refused request changes nothing and reports nothing.
	if _, err := m.Register(context.Background(), req("x", 1, 5, contact("sip:agent1@10.0.0.7", NoExpires))); !errors.Is(err, ErrIntervalTooBrief) {
		t.Errorf("too brief: %v", err)
	}
	if got := flush(); got != "" || m.ContactCount() != 0 {
		t.Errorf("refused request reported %s", got)
	}
}

// TestMemoryExpiry: Lookup hides an expired binding at once; Sweep removes it and
// reports it; a Register finding an expired binding reports it offline first.
func TestMemoryExpiry(t *testing.T) {
	clk := &fakeClock{t: t0}
	m := newMemory(t, WithClock(clk.now))
	var ev events
	m.Watch(ev.add)
	register(t, m, req("a", 1, 60, contact("sip:agent1@10.0.0.5", NoExpires)))
	register(t, m, req("b", 1, 120, contact("sip:agent1@10.0.0.6", NoExpires)))
	clk.set(t0.Add(60 * time.Second))
	if got := uris(m.Lookup(aor)); len(got) != 1 || got[0] != "sip:agent1@10.0.0.6" {
		t.Errorf("Lookup at expiry %q", got)
	}
	m.Sweep()
	if n := m.ContactCount(); n != 1 {
		t.Errorf("ContactCount after sweep %d", n)
	}
	clk.set(t0.Add(120 * time.Second))
	register(t, m, req("a", 5, 60, contact("sip:agent1@10.0.0.5", NoExpires)))
	waitFor(t, func() bool { return ev.len() >= 5 })
	if got := ev.kinds(); got != "online/registered/1 changed/registered/2 changed/expired/1 offline/expired/0 online/registered/1 " {
		t.Errorf("events %s", got)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached")
		}
		time.Sleep(time.Millisecond)
	}
	time.Sleep(10 * time.Millisecond)
}

// TestMemorySweeper: the sweeper goroutine removes a binding when it expires, on
// time, with no goroutine per binding; a refresh moves the deadline. It runs in a
// synctest bubble, so a minute passes in no time and Close must leave no goroutine.
func TestMemorySweeper(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, err := NewMemory(WithPolicy(Policy{MinExpires: time.Second, MaxContacts: 200}))
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		var ev events
		m.Watch(ev.add)
		for i := range 100 {
			register(t, m, req(fmt.Sprintf("call-%d", i), 1, 60, contact(fmt.Sprintf("sip:agent1@10.0.1.%d", i), NoExpires)))
		}
		register(t, m, Request{AOR: "sip:agent2@hotline.test", CallID: "z", CSeq: 1, Expires: 30,
			Contacts: []Contact{contact("sip:agent2@10.0.0.9", NoExpires)}})
		synctest.Wait()
		ev.take()

		time.Sleep(20 * time.Second)
		register(t, m, req("call-0", 2, 60, contact("sip:agent1@10.0.1.0", NoExpires))) // now expires at 80 s
		time.Sleep(10*time.Second + time.Millisecond)                                   // 30 s: agent2 expires
		synctest.Wait()
		if got := ev.kinds(); got != "offline/expired/0 " {
			t.Errorf("at 30 s: %s", got)
		}
		time.Sleep(30 * time.Second) // 60 s: 99 of agent1's expire
		synctest.Wait()
		if got := ev.kinds(); got != "changed/expired/1 " {
			t.Errorf("at 60 s: %s", got)
		}
		if n := m.ContactCount(); n != 1 {
			t.Errorf("at 60 s: %d contacts", n)
		}
		time.Sleep(20 * time.Second) // 80 s: the refreshed one
		synctest.Wait()
		if got := ev.kinds(); got != "offline/expired/0 " || m.ContactCount() != 0 {
			t.Errorf("at 80 s: %s, %d contacts", got, m.ContactCount())
		}
	})
}

// TestMemoryClose: Close delivers queued events, stops both goroutines (synctest
// fails the test if one survives), is idempotent, and Register fails afterwards.
func TestMemoryClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, err := NewMemory()
		if err != nil {
			t.Fatal(err)
		}
		var ev events
		stopped := m.Watch(ev.add)
		stop2 := m.Watch(func(Event) {})
		stop2()
		register(t, m, req("a", 1, 600, contact("sip:agent1@10.0.0.5", NoExpires)))
		m.Close()
		m.Close()
		if got := ev.kinds(); got != "online/registered/1 " {
			t.Errorf("events at close: %s", got)
		}
		if _, err := m.Register(context.Background(), req("a", 2, 600, contact("sip:agent1@10.0.0.5", NoExpires))); !errors.Is(err, ErrClosed) {
			t.Errorf("Register after Close: %v", err)
		}
		if len(m.Lookup(aor)) != 1 {
			t.Error("Lookup after Close lost the binding")
		}
		stopped()
	})
}

// TestMemoryWatchStop: a stopped watcher hears nothing more; a watcher may call the
// registrar and stop from inside its callback.
func TestMemoryWatchStop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, err := NewMemory()
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		var ev events
		var stop func()
		stop = m.Watch(func(e Event) {
			ev.add(e)
			_ = m.Lookup(e.AOR)
			stop()
		})
		register(t, m, req("a", 1, 600, contact("sip:agent1@10.0.0.5", NoExpires)))
		synctest.Wait()
		register(t, m, req("b", 1, 600, contact("sip:agent1@10.0.0.6", NoExpires)))
		synctest.Wait()
		if got := ev.kinds(); got != "online/registered/1 " {
			t.Errorf("events %s", got)
		}
	})
}

// TestMemoryLookupCopies: callers cannot change stored bindings.
func TestMemoryLookupCopies(t *testing.T) {
	m := newMemory(t)
	r := req("a", 1, 600, contact("sip:agent1@10.0.0.5", NoExpires))
	r.Path = []string{"<sip:p1;lr>"}
	out := register(t, m, r)
	out[0].Path[0] = "x"
	got := m.Lookup(aor)
	got[0].Path[0] = "y"
	got[0].URI = "z"
	if b := m.Lookup(aor)[0]; b.Path[0] != "<sip:p1;lr>" || b.URI != "sip:agent1@10.0.0.5" {
		t.Errorf("stored binding changed: %+v", b)
	}
}

// TestMemoryConcurrent: many phones registering, refreshing and unregistering while
// readers look up (run with -race); the count ends exact.
func TestMemoryConcurrent(t *testing.T) {
	m := newMemory(t)
	m.Watch(func(Event) {})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			a := fmt.Sprintf("sip:agent%d@hotline.test", g)
			for i := range 200 {
				r := Request{AOR: a, CallID: "c", CSeq: uint32(i + 1), Expires: 600,
					Contacts: []Contact{contact(fmt.Sprintf("sip:p%d@10.0.0.1", i%3), NoExpires)}}
				if i%7 == 6 {
					r.Contacts[0].Expires = 0
				}
				if _, err := m.Register(context.Background(), r); err != nil {
					t.Error(err)
					return
				}
			}
		}()
		go func() {
			defer wg.Done()
			for range 200 {
				_ = m.Lookup(fmt.Sprintf("sip:agent%d@hotline.test", g))
				_ = m.ContactCount()
			}
		}()
	}
	wg.Wait()
	total := 0
	for g := range 8 {
		total += len(m.Lookup(fmt.Sprintf("sip:agent%d@hotline.test", g)))
	}
	if n := m.ContactCount(); n != total {
		t.Errorf("ContactCount %d, Lookups total %d", n, total)
	}
}

func TestNewMemoryPolicy(t *testing.T) {
	if _, err := NewMemory(WithPolicy(Policy{MinExpires: time.Hour, MaxExpires: time.Minute})); err == nil {
		t.Error("inconsistent policy accepted")
	}
}
