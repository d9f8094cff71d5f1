package media

import (
	"errors"
	"fmt"
	"sync"
	"time"
)

// ErrNoPorts is returned when every RTP (or RTCP) port of the configured range is in use
// or quarantined; the SIP layer answers such an INVITE with 503 so the caller's proxy can
// try another engine node.
var ErrNoPorts = errors.New("media: no free RTP port in range")

// PortAllocator hands out ports from a fixed range: even ones for RTP and, from a pool
// of its own, odd ones for RTCP. A released port waits in quarantine before it is handed
// out again, so late packets of a finished call never reach the next call that would
// otherwise get the same port.
//
// RTCP ports are chosen independently of the RTP port (RFC 3605 announces them with
// a=rtcp), so a session never depends on RTP+1 being free: the classic clash where
// another program, or another call, already holds RTP+1 cannot happen. The RTCP pool is
// the odd ports of [min, max+1], as many as there are RTP ports, so RTCP does not halve
// the number of calls a range carries.
type PortAllocator struct {
	mu         sync.Mutex
	min, max   int
	quarantine time.Duration
	now        func() time.Time
	rtp, rtcp  portPool
}

// portPool is a FIFO of free ports (released ports go to the back) and the set in use.
type portPool struct {
	free  []portEntry
	inUse map[int]bool
}

type portEntry struct {
	port     int
	released time.Time
}

// NewPortAllocator prepares the even ports of [min, max] for RTP and the odd ports of
// [min, max+1] for RTCP. quarantine is how long a released port rests before reuse; now
// may be nil (time.Now).
func NewPortAllocator(min, max int, quarantine time.Duration, now func() time.Time) (*PortAllocator, error) {
	if min < 1024 || max > 65534 || min > max {
		return nil, fmt.Errorf("media: invalid RTP port range %d-%d (want 1024 <= min <= max <= 65534)", min, max)
	}
	if now == nil {
		now = time.Now
	}
	a := &PortAllocator{min: min, max: max, quarantine: quarantine, now: now,
		rtp: portPool{inUse: make(map[int]bool)}, rtcp: portPool{inUse: make(map[int]bool)}}
	for p := min + min%2; p <= max; p += 2 {
		a.rtp.free = append(a.rtp.free, portEntry{port: p})
	}
	if len(a.rtp.free) == 0 {
		return nil, fmt.Errorf("media: RTP port range %d-%d holds no even port", min, max)
	}
	for p := min + 1 - min%2; p <= max+1; p += 2 {
		a.rtcp.free = append(a.rtcp.free, portEntry{port: p})
	}
	return a, nil
}

// Acquire returns the oldest free RTP port whose quarantine is over. The caller binds
// it; when binding fails (another program holds the port) it calls Release and asks
// again.
func (a *PortAllocator) Acquire() (int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.rtp.acquire(a.now(), a.quarantine)
}

// AcquireRTCP returns the oldest free RTCP port whose quarantine is over, from the odd
// ports of the range; it is not related to any RTP port. Give it back with ReleaseRTCP.
func (a *PortAllocator) AcquireRTCP() (int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.rtcp.acquire(a.now(), a.quarantine)
}

func (p *portPool) acquire(now time.Time, quarantine time.Duration) (int, error) {
	if len(p.free) == 0 {
		return 0, ErrNoPorts
	}
	// The FIFO is ordered by release time (never-used ports first), so if its head
	// is still resting every later entry is too.
	e := p.free[0]
	if !e.released.IsZero() && now.Sub(e.released) < quarantine {
		return 0, ErrNoPorts
	}
	// Popping by reslicing is O(1); append reallocates (copying only the live
	// entries) when the tail runs out of room, so memory stays bounded.
	p.free[0] = portEntry{}
	p.free = p.free[1:]
	p.inUse[e.port] = true
	return e.port, nil
}

func (p *portPool) release(port int, now time.Time) {
	if !p.inUse[port] {
		return
	}
	delete(p.inUse, port)
	p.free = append(p.free, portEntry{port: port, released: now})
}

// Release returns an RTP port to the back of the queue, starting its quarantine.
// Releasing a port twice is harmless.
func (a *PortAllocator) Release(port int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.rtp.release(port, a.now())
}

// ReleaseRTCP returns an RTCP port, as Release does for RTP.
func (a *PortAllocator) ReleaseRTCP(port int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.rtcp.release(port, a.now())
}

// InUse reports how many RTP ports are held by live sessions (a leak check for tests and
// a gauge for ops).
func (a *PortAllocator) InUse() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.rtp.inUse)
}

// RTCPInUse reports how many RTCP ports are held by live sessions.
func (a *PortAllocator) RTCPInUse() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.rtcp.inUse)
}

// Capacity is the number of RTP ports in the range: the upper bound of concurrent calls.
func (a *PortAllocator) Capacity() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.rtp.free) + len(a.rtp.inUse)
}
