package media

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/hotline-ivr/hotline/media/vad"
)

// fakeNow is a clock the test moves by hand.
type fakeNow struct{ t time.Time }

func (f *fakeNow) now() time.Time          { return f.t }
func (f *fakeNow) advance(d time.Duration) { f.t = f.t.Add(d) }

func TestPortAllocator(t *testing.T) {
	clk := &fakeNow{t: time.Unix(1_700_000_000, 0)}
	a, err := NewPortAllocator(10001, 10011, 2*time.Second, clk.now)
	if err != nil {
		t.Fatal(err)
	}
	if a.Capacity() != 5 {
		t.Fatalf("capacity %d, want 5 (10002..10010)", a.Capacity())
	}
	var got []int
	for range 5 {
		p, err := a.Acquire()
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, p)
	}
	for i, p := range got {
		if p != 10002+2*i {
			t.Fatalf("ports %v, want even ports in order from 10002", got)
		}
	}
	if _, err := a.Acquire(); !errors.Is(err, ErrNoPorts) {
		t.Fatalf("exhausted range: %v, want ErrNoPorts", err)
	}
	if a.InUse() != 5 {
		t.Fatalf("InUse %d", a.InUse())
	}
	// RTCP ports come from the odd ports of [min, max+1], independently.
	var rtcp []int
	for range 6 {
		p, err := a.AcquireRTCP()
		if err != nil {
			t.Fatal(err)
		}
		rtcp = append(rtcp, p)
	}
	if rtcp[0] != 10001 || rtcp[5] != 10011 || a.RTCPInUse() != 6 || a.InUse() != 5 {
		t.Fatalf("RTCP ports %v (in use %d), want 10001..10011", rtcp, a.RTCPInUse())
	}
	if _, err := a.AcquireRTCP(); !errors.Is(err, ErrNoPorts) {
		t.Fatalf("exhausted RTCP pool: %v", err)
	}
	a.ReleaseRTCP(10005)
	if _, err := a.AcquireRTCP(); !errors.Is(err, ErrNoPorts) {
		t.Fatal("RTCP port reused during quarantine")
	}
	clk.advance(2 * time.Second)
	if p, err := a.AcquireRTCP(); err != nil || p != 10005 {
		t.Fatalf("RTCP after quarantine: %d, %v", p, err)
	}

	// Released ports rest in quarantine, then come back oldest first.
	a.Release(10006)
	clk.advance(500 * time.Millisecond)
	a.Release(10002)
	a.Release(10002) // twice: harmless
	a.Release(10999) // never handed out: harmless
	if a.InUse() != 3 || a.Capacity() != 5 {
		t.Fatalf("after releases InUse %d Capacity %d, want 3 and 5", a.InUse(), a.Capacity())
	}
	if _, err := a.Acquire(); !errors.Is(err, ErrNoPorts) {
		t.Fatalf("acquired a quarantined port: %v", err)
	}
	clk.advance(1500*time.Millisecond - 1)
	if _, err := a.Acquire(); !errors.Is(err, ErrNoPorts) {
		t.Fatal("quarantine ended early")
	}
	clk.advance(1)
	if p, err := a.Acquire(); err != nil || p != 10006 {
		t.Fatalf("after quarantine got %d, %v; want 10006 (released first)", p, err)
	}
	if _, err := a.Acquire(); !errors.Is(err, ErrNoPorts) {
		t.Fatal("second port left quarantine with the first")
	}
	clk.advance(500 * time.Millisecond)
	if p, err := a.Acquire(); err != nil || p != 10002 {
		t.Fatalf("got %d, %v; want 10002", p, err)
	}

	// Many cycles keep the queue bounded and in order.
	for i := range 10_000 {
		p, _ := a.Acquire()
		if p != 0 {
			t.Fatalf("cycle %d: acquired %d from a full range", i, p)
		}
		a.Release(got[i%5])
		clk.advance(3 * time.Second)
		if p, err := a.Acquire(); err != nil || p != got[i%5] {
			t.Fatalf("cycle %d: got %d, %v; want %d", i, p, err, got[i%5])
		}
	}
	if cap(a.rtp.free) > 64 {
		t.Errorf("free queue grew to capacity %d for 5 ports", cap(a.rtp.free))
	}

	for _, r := range [][2]int{{1000, 2000}, {10000, 70000}, {20000, 10000}, {10001, 10001}} {
		if _, err := NewPortAllocator(r[0], r[1], 0, nil); err == nil {
			t.Errorf("range %v accepted", r)
		}
	}
}

// TestPortHeldElsewhere: a port of the range that another program holds is skipped
// (the bind fails), and the allocator does not leak it.
func TestPortHeldElsewhere(t *testing.T) {
	lo, hi := testPortRange()
	squatter, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(lo))))
	if err != nil {
		t.Fatal(err)
	}
	defer squatter.Close()
	e, _ := newTestEngine(t, Config{PortMin: lo, PortMax: hi})
	s, err := e.NewSession(nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.LocalAddr().Port() != uint16(lo+2) {
		t.Errorf("session on port %d, want %d (the next one)", s.LocalAddr().Port(), lo+2)
	}
	if e.PortsInUse() != 1 {
		t.Errorf("PortsInUse %d, want 1", e.PortsInUse())
	}
	_ = s.Close()
	_ = s.Close() // idempotent
	if e.PortsInUse() != 0 || e.Sessions() != 0 {
		t.Fatalf("after Close: %d ports, %d sessions", e.PortsInUse(), e.Sessions())
	}

	// A range whose only port is held elsewhere is exhausted, not an endless retry.
	e2, _ := newTestEngine(t, Config{PortMin: lo, PortMax: lo})
	if _, err := e2.NewSession(nil); !errors.Is(err, ErrNoPorts) {
		t.Fatalf("only port held elsewhere: %v, want ErrNoPorts", err)
	}
}

func TestEngineExhaustedAndClosed(t *testing.T) {
	lo, _ := testPortRange()
	e, _ := newTestEngine(t, Config{PortMin: lo, PortMax: lo + 2})
	a := newTestSession(t, e)
	b := newTestSession(t, e)
	if _, err := e.NewSession(nil); !errors.Is(err, ErrNoPorts) {
		t.Fatalf("third session in a two-port range: %v", err)
	}
	if e.Sessions() != 2 {
		t.Fatalf("Sessions %d", e.Sessions())
	}
	pr := newPeer(t, "127.0.0.1")
	if err := a.Configure(pcmu(pr.addr)); err != nil {
		t.Fatal(err)
	}
	a.Start()
	e.Close() // closes the open sessions
	if e.Sessions() != 0 || e.PortsInUse() != 0 {
		t.Fatalf("after engine Close: %d sessions, %d ports", e.Sessions(), e.PortsInUse())
	}
	if _, err := e.NewSession(nil); !errors.Is(err, ErrEngineClosed) {
		t.Fatalf("NewSession after Close: %v", err)
	}
	_ = b.Close()
	e.Close() // idempotent
}

func countFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// TestSessionLeaks opens and closes a thousand sessions, some configured, started, with
// a VAD and a sink, and wants every port (RTP and RTCP), goroutine and file descriptor
// back.
func TestSessionLeaks(t *testing.T) {
	pr := newPeer(t, "127.0.0.1")
	e, _ := newTestEngine(t, Config{Quarantine: time.Nanosecond})
	runtime.GC()
	goroutines, fds := runtime.NumGoroutine(), countFDs(t)
	for i := range 1000 {
		s, err := e.NewSession(nil)
		if err != nil {
			t.Fatalf("session %d: %v", i, err)
		}
		if i%3 == 0 {
			p := pcmu(pr.addr)
			p.RTCPMux = i%2 == 0
			if err := s.Configure(p); err != nil {
				t.Fatal(err)
			}
			if err := s.EnableVAD(vad.Config{}); err != nil {
				t.Fatal(err)
			}
			s.AddSink(&countSink{})
			s.Start()
		}
		_ = s.Close() // started ones send RTCP BYE
		if i%7 == 0 {
			_ = s.Close()
		}
	}
	if e.PortsInUse() != 0 || e.RTCPPortsInUse() != 0 || e.Sessions() != 0 {
		t.Fatalf("after 1000 sessions: %d RTP ports, %d RTCP ports, %d sessions",
			e.PortsInUse(), e.RTCPPortsInUse(), e.Sessions())
	}
	eventually(t, 2*time.Second, "goroutines to exit", func() bool { return runtime.NumGoroutine() <= goroutines })
	if n := countFDs(t); n > fds {
		t.Fatalf("%d file descriptors open, %d before", n, fds)
	}
	for _, sh := range e.clock.shards {
		if sh.len() != 0 {
			t.Fatalf("clock shard still holds %d streams", sh.len())
		}
	}
}

func TestConfigValidate(t *testing.T) {
	bad := []Config{
		{PortMin: 100, PortMax: 200},
		{PortMin: 30001, PortMax: 30001},
		{Timeout: -time.Second},
		{SocketBuffer: -1},
		{Quarantine: -1},
		{Latch: Latch(9)},
		{ClockShards: -1},
		{Jitter: JitterConfig{MinDelay: 300 * time.Millisecond}},
		{Jitter: JitterConfig{MinDelay: -1}},
		{InbandDTMF: "sometimes"},
		{DTMFMergeWindow: -1},
		{RTCPInterval: -time.Second},
	}
	for _, c := range bad {
		if err := c.Validate(); err == nil {
			t.Errorf("Validate(%+v) = nil", c)
		}
		if _, err := NewEngine(c); err == nil {
			t.Errorf("NewEngine(%+v) accepted", c)
		}
	}
	err := Config{Timeout: -1, SocketBuffer: -1}.Validate()
	if err == nil || len(err.(interface{ Unwrap() []error }).Unwrap()) != 2 {
		t.Errorf("Validate reports %v, want both problems", err)
	}
	if err := (Config{}).Validate(); err != nil {
		t.Errorf("zero Config: %v", err)
	}
	for s, want := range map[string]Latch{"": LatchAuto, "auto": LatchAuto, "any": LatchAny, "off": LatchOff} {
		if got, err := ParseLatch(s); err != nil || got != want {
			t.Errorf("ParseLatch(%q) = %v, %v", s, got, err)
		}
	}
	if _, err := ParseLatch("on"); err == nil {
		t.Error("ParseLatch(on) accepted")
	}
}
