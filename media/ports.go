package media

import (
	"errors"
	"fmt"
	"sync"
	"time"
)

// ErrNoPorts is returned when every RTP port of the configured range is in use or
// quarantined; the SIP layer answers such an INVITE with 503 so the caller's proxy can
// try another engine node.
var ErrNoPorts = errors.New("media: no free RTP port in range")

// PortAllocator hands out even RTP ports from a fixed range. A released port waits in
// quarantine before it is handed out again, so late packets of a finished call never
// reach the next call that would otherwise get the same port.
type PortAllocator struct {
	mu         sync.Mutex
	min, max   int
	quarantine time.Duration
	now        func() time.Time
	free       []portEntry // FIFO: released ports go to the back
	inUse      map[int]bool
}

type portEntry struct {
	port     int
	released time.Time
}

// NewPortAllocator prepares the even ports of [min, max]. quarantine is how long a
// released port rests before reuse; now may be nil (time.Now).
func NewPortAllocator(min, max int, quarantine time.Duration, now func() time.Time) (*PortAllocator, error) {
	if min < 1024 || max > 65534 || min > max {
		return nil, fmt.Errorf("media: invalid RTP port range %d-%d (want 1024 <= min <= max <= 65534)", min, max)
	}
	if now == nil {
		now = time.Now
	}
	a := &PortAllocator{min: min, max: max, quarantine: quarantine, now: now, inUse: make(map[int]bool)}
	for p := min + min%2; p <= max; p += 2 {
		a.free = append(a.free, portEntry{port: p})
	}
	if len(a.free) == 0 {
		return nil, fmt.Errorf("media: RTP port range %d-%d holds no even port", min, max)
	}
	return a, nil
}

// Acquire returns the oldest free port whose quarantine is over. The caller binds it;
// when binding fails (another program holds the port) it calls Release and asks again.
func (a *PortAllocator) Acquire() (int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.free) == 0 {
		return 0, ErrNoPorts
	}
	// The FIFO is ordered by release time (never-used ports first), so if its head
	// is still resting every later entry is too.
	e := a.free[0]
	if !e.released.IsZero() && a.now().Sub(e.released) < a.quarantine {
		return 0, ErrNoPorts
	}
	// Popping by reslicing is O(1); append reallocates (copying only the live
	// entries) when the tail runs out of room, so memory stays bounded.
	a.free[0] = portEntry{}
	a.free = a.free[1:]
	a.inUse[e.port] = true
	return e.port, nil
}

// Release returns a port to the back of the queue, starting its quarantine.
// Releasing a port twice is harmless.
func (a *PortAllocator) Release(port int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.inUse[port] {
		return
	}
	delete(a.inUse, port)
	a.free = append(a.free, portEntry{port: port, released: a.now()})
}

// InUse reports how many ports are held by live sessions (a leak check for tests and a
// gauge for ops).
func (a *PortAllocator) InUse() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.inUse)
}

// Capacity is the number of ports in the range: the upper bound of concurrent calls.
func (a *PortAllocator) Capacity() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.free) + len(a.inUse)
}
