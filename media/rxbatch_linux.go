//go:build linux

package media

import (
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"syscall"
	"time"
	"unsafe"
)

// Incoming RTP in batches (Linux). A receive goroutine per call costs, for every packet,
// one recvmmsg and one wake-up: the kernel wakes the thread parked in the netpoller, the
// scheduler runs the goroutine, the goroutine parks again. At regime (b) of the capacity
// benchmark that was the largest share of the engine's CPU (bench/PROFILE.md). Here the
// clock shard reads its calls' sockets itself, once per tick, before the calls play out
// and send. One epoll_wait, without waiting, on the shard's own epoll instance (level
// triggered, never waited on, so an arriving datagram wakes nobody) lists the sockets
// that hold data; each of them gets a RECVMSG entry in the shard's receive ring, and
// one io_uring_enter reads each chunk of 64 of them into the shard's buffers. The sockets that still hold data (a burst, 10 ms
// packets) are listed by the next epoll_wait and read in further rounds of the same
// tick. Nothing wakes between ticks, and a socket without traffic (a call on hold, a
// caller that sends no media) costs nothing.
//
// What it changes for the call, and why that is harmless:
//   - Packets wait up to one tick in the socket. The jitter buffer is played out on the
//     same tick, right after the packet was delivered, so it holds the same
//     packets at playout as it did with a goroutine; only digits and RTCP are reported
//     up to 20 ms later.
//   - Arrival times are the kernel's (SO_TIMESTAMPNS on every socket), so jitter
//     statistics and the adaptive playout delay see when a packet arrived, not when the
//     tick read it.
//   - The sockets are raw descriptors that Go's netpoller never sees (rawUDP): a socket
//     registered there would wake the netpoller on every datagram even with no
//     goroutine waiting for it.
//
// Each read is non-blocking (MSG_DONTWAIT, so the kernel answers EAGAIN at once instead
// of arming a poll) and completes inside io_uring_enter; the start-up self-test proves
// both. A socket's descriptor is closed only under the shard's flush lock
// (Session.Close), so no entry can name a descriptor that was closed or reused.

const (
	// rxDepth is how many datagrams a socket still listed after two rounds (a burst,
	// a flood) yields per round. The first two rounds read one datagram per listed
	// socket.
	rxDepth = 4
	// rxChunk is how many reads one submission to the ring carries at most, each into
	// a buffer of the shard's (rxBufs) that the next submission reuses once the
	// datagrams were handed to their sessions. Buffers of each call's own would each
	// come back from memory at every tick, for the kernel to write and then for the
	// session to read; a chunk's (a few cache lines each, of 2 KiB) stay in the cache.
	rxChunk = 64
	// rxRounds bounds the rounds of one tick, so a flood on one socket costs at most
	// about rxRounds·rxDepth reads per tick; what stays queued is read on the next
	// tick, or dropped by the kernel when the socket's buffer fills.
	rxRounds = 16
	// rxEvents is how many ready sockets one epoll_wait returns; more take several.
	rxEvents = 1024
	// ctrlWords is one datagram's control buffer: a cmsghdr and a timespec, in uint64
	// words so the header stays aligned.
	ctrlWords = 8
	// maxAge is the oldest arrival time a kernel timestamp may give a packet; an older
	// one (a clock step) is replaced by the time of the read.
	maxAge = time.Minute
)

// rawUDP is an RTP socket the shard reads (see above): a non-blocking descriptor Go's
// runtime does not poll.
type rawUDP struct {
	fd     int
	family int
}

// listenRaw binds a UDP socket as net.ListenUDP("udp", ip:port) would (the wildcard
// addresses listen on IPv4 and IPv6 alike), with buffer bytes of SO_RCVBUF and
// SO_SNDBUF and kernel arrival timestamps.
func listenRaw(ip netip.Addr, port, buffer int) (*rawUDP, error) {
	var sa syscall.Sockaddr
	family := syscall.AF_INET6
	v6only := 1
	switch {
	case ip.IsUnspecified():
		v6only = 0
		sa = &syscall.SockaddrInet6{Port: port}
	case ip.Is4() || ip.Is4In6():
		family = syscall.AF_INET
		sa = &syscall.SockaddrInet4{Port: port, Addr: ip.Unmap().As4()}
	default:
		if ip.Zone() != "" {
			return nil, fmt.Errorf("media: RTP bind address %s: zones are not supported", ip)
		}
		sa = &syscall.SockaddrInet6{Port: port, Addr: ip.As16()}
	}
	fd, err := syscall.Socket(family, syscall.SOCK_DGRAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, syscall.IPPROTO_UDP)
	if err != nil {
		return nil, fmt.Errorf("media: UDP socket: %w", err)
	}
	opts := []struct {
		level, name, value int
		what               string
	}{
		{syscall.SOL_SOCKET, syscall.SO_RCVBUF, buffer, "SO_RCVBUF"},
		{syscall.SOL_SOCKET, syscall.SO_SNDBUF, buffer, "SO_SNDBUF"},
		{syscall.SOL_SOCKET, syscall.SO_TIMESTAMPNS, 1, "SO_TIMESTAMPNS"},
	}
	if family == syscall.AF_INET6 {
		opts = append(opts, struct {
			level, name, value int
			what               string
		}{syscall.IPPROTO_IPV6, syscall.IPV6_V6ONLY, v6only, "IPV6_V6ONLY"})
	}
	for _, o := range opts {
		if err := syscall.SetsockoptInt(fd, o.level, o.name, o.value); err != nil {
			syscall.Close(fd)
			return nil, fmt.Errorf("media: setting %s: %w", o.what, err)
		}
	}
	if err := syscall.Bind(fd, sa); err != nil {
		syscall.Close(fd)
		return nil, err // EADDRINUSE stays visible to bindPort
	}
	return &rawUDP{fd: fd, family: family}, nil
}

// Close closes the descriptor; the session calls it once, under its shard's flush lock.
func (r *rawUDP) Close() error { return syscall.Close(r.fd) }

// rxSlot is a session's side of batched receiving: its socket and the receive state
// the receive goroutine would own.
type rxSlot struct {
	fd     int
	st     *rxState
	nextHK time.Time // next housekeeping (the shard's goroutine only)
	reg    int32     // its entry in rxBatch.reg, -1 when none (under regMu)
	msKey  uint64    // the session's slot in the shard's multishot table (rxring_linux.go)
}

func newRxSlot(fd int, now time.Time) *rxSlot {
	return &rxSlot{fd: fd, st: newRxState(), nextHK: now.Add(housekeepEvery), reg: -1}
}

// rxBufs are the message headers, addresses, timestamps and buffers of one chunk of
// reads (rxChunk), allocated once per shard.
type rxBufs struct {
	msgs  [rxChunk]syscall.Msghdr
	iov   [rxChunk]syscall.Iovec
	names [rxChunk]syscall.RawSockaddrInet6
	ctrl  [rxChunk][ctrlWords]uint64
	buf   [rxChunk][receiveBuffer]byte
}

func newRxBufs() *rxBufs {
	x := new(rxBufs)
	for k := range rxChunk {
		x.iov[k].Base = &x.buf[k][0]
		x.iov[k].SetLen(receiveBuffer)
		h := &x.msgs[k]
		h.Iov = &x.iov[k]
		h.Iovlen = 1
		h.Name = (*byte)(unsafe.Pointer(&x.names[k]))
		h.Control = (*byte)(unsafe.Pointer(&x.ctrl[k][0]))
	}
	return x
}

// reset prepares read k's header.
func (x *rxBufs) reset(k int) {
	h := &x.msgs[k]
	h.Namelen = syscall.SizeofSockaddrInet6
	h.SetControllen(ctrlWords * 8)
	h.Flags = 0
}

// arrival is when read k's datagram reached the socket (see arrivalAt).
func (x *rxBufs) arrival(k int, now time.Time, wall int64) time.Time {
	return arrivalAt(unsafe.Pointer(&x.ctrl[k][0]), uint64(x.msgs[k].Controllen), now, wall)
}

// arrivalAt is when a datagram reached the socket, from the SO_TIMESTAMPNS control
// message of ctrlLen bytes at ctrl: now (a time.Now with its monotonic reading) minus
// the packet's age on the wall clock (wall is now's UnixNano), so the result stays on
// the monotonic clock. Without a timestamp it is now.
func arrivalAt(ctrl unsafe.Pointer, ctrlLen uint64, now time.Time, wall int64) time.Time {
	if ctrlLen < uint64(syscall.CmsgSpace(int(unsafe.Sizeof(syscall.Timespec{})))) {
		return now
	}
	c := (*syscall.Cmsghdr)(ctrl)
	if c.Level != syscall.SOL_SOCKET || c.Type != syscall.SCM_TIMESTAMPNS {
		return now
	}
	ts := (*syscall.Timespec)(unsafe.Add(ctrl, syscall.CmsgLen(0)))
	age := time.Duration(wall - ts.Nano())
	if age <= 0 || age > maxAge {
		return now
	}
	return now.Add(-age)
}

// rxEntry is one read of a round: the session, the how-manieth of its socket's reads
// in the round, and the result. The read's buffers are those of the entry's place in
// the queue (rxBufs).
type rxEntry struct {
	s     *Session
	i     int
	res   int32
	flags uint32
	done  bool
}

// rxBatch is one clock shard's receive ring and the epoll instance that says which of
// its sockets hold data. Only the shard's goroutine reads; sessions register and
// unregister from their own goroutines, under regMu.
type rxBatch struct {
	uring
	epfd    int
	events  []syscall.EpollEvent
	listing uint64 // counts epoll listings, so a socket listed twice in one is read once
	regMu   sync.Mutex
	// reg are the sessions whose sockets epfd watches, each at the index its epoll
	// event carries (in the descriptor's place), with the listing that last listed it:
	// one dense table the listing indexes, where a map keyed by descriptor cost a hash
	// and a probe per ready socket and the stamp in the session's own state one more
	// cache line. free are the unused indexes.
	reg      []rxReg
	free     []int32
	queue    []rxEntry // one chunk of reads, at most rxChunk
	bufs     *rxBufs   // the buffers of the queue's reads
	pending  []*Session
	broken   bool // the ring failed: sockets are read with one recvmsg each from now on
	lost     []rxEntry
	lostBufs []*rxBufs // of reads the kernel never completed: it may still write them (the last is bufs until its chunk is delivered)
	m        *Metrics
	onFail   func(error)
	complete func(c *ioURingCQE)
	early    func(s *Session) // ticks a session whose packets a chunk delivered (clockShard.early); nil: none

	// ms, once upgrade succeeded, reads the sockets with multishot reads instead of
	// the epoll listing (rxring_linux.go). The shard's goroutine sets it (upgrade,
	// msFail) under regMu, so register and unregister read it under regMu and the
	// shard without. The table and the queues below are under regMu too.
	ms         *msRing
	msDone     chan struct{} // closed when the ring is given up or closed
	msSlots    []msSlot
	msFree     []uint32
	msArm      []uint64 // keys whose read the next pass arms
	msCancel   []uint64 // keys whose read the next pass cancels
	msOut      []msEntry
	msComplete func(c *ioURingCQE)
	msRearmed  uint64 // reads that ended on their own and were armed again
}

// rxReg is an entry of rxBatch.reg.
type rxReg struct {
	s      *Session // nil: free
	listed uint64   // the rxBatch.listing that last listed the socket
}

// newRxBatch sets up a receive ring and proves, on loopback sockets of its own, that
// its reads return datagrams with their timestamps and that a read of an empty socket
// completes at once.
func newRxBatch(m *Metrics, onFail func(error)) (*rxBatch, error) {
	b := &rxBatch{epfd: -1}
	if err := b.setup(ringEntries); err != nil {
		return nil, err
	}
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		b.close()
		return nil, fmt.Errorf("media: epoll_create1: %w", err)
	}
	b.epfd = epfd
	b.events = make([]syscall.EpollEvent, rxEvents)
	b.queue = make([]rxEntry, 0, rxChunk)
	b.bufs = newRxBufs()
	b.complete = b.completed
	err = b.selfTest()
	clear(b.queue) // the test's session
	b.queue = b.queue[:0]
	if err != nil {
		b.close()
		return nil, err
	}
	b.m, b.onFail = m, onFail
	return b, nil
}

// register lets the shard read s's raw socket from the next tick on.
func (b *rxBatch) register(s *Session) error {
	b.regMu.Lock()
	defer b.regMu.Unlock()
	if b.ms != nil {
		b.msRegister(s)
		return nil
	}
	return b.watch(s)
}

// watch adds s's socket to the epoll listing. Under regMu.
func (b *rxBatch) watch(s *Session) error {
	var idx int32
	if n := len(b.free); n > 0 {
		idx, b.free = b.free[n-1], b.free[:n-1]
	} else {
		idx = int32(len(b.reg))
		b.reg = append(b.reg, rxReg{})
	}
	fd := s.rxs.fd
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: idx} // Fd is the event's user data
	if err := syscall.EpollCtl(b.epfd, syscall.EPOLL_CTL_ADD, fd, &ev); err != nil {
		b.free = append(b.free, idx)
		return fmt.Errorf("media: watching the RTP socket: %w", err)
	}
	b.reg[idx] = rxReg{s: s}
	s.rxs.reg = idx
	return nil
}

// registered is how many sessions epoll watches. Under regMu.
func (b *rxBatch) registered() int { return len(b.reg) - len(b.free) }

// unregister stops the reads of s's socket; the socket is closed after it (closing the
// descriptor takes it out of the epoll instance), between two ticks. With multishot
// reads it waits for the shard to cancel s's read, up to a tick.
func (b *rxBatch) unregister(s *Session) {
	b.regMu.Lock()
	if b.ms != nil {
		b.msUnregister(s)
		return
	}
	defer b.regMu.Unlock()
	if idx := s.rxs.reg; idx >= 0 && b.reg[idx].s == s {
		syscall.EpollCtl(b.epfd, syscall.EPOLL_CTL_DEL, s.rxs.fd, nil)
		b.reg[idx] = rxReg{}
		b.free = append(b.free, idx)
		s.rxs.reg = -1
	}
}

// list sets b.pending to the registered sessions whose sockets hold data.
func (b *rxBatch) list() {
	b.pending = b.pending[:0]
	b.listing++
	for {
		n, err := syscall.EpollWait(b.epfd, b.events, 0)
		if err == syscall.EINTR {
			continue
		}
		if err != nil || n <= 0 {
			return
		}
		fresh := 0
		b.regMu.Lock()
		for _, ev := range b.events[:n] {
			if ev.Fd < 0 || int(ev.Fd) >= len(b.reg) {
				continue
			}
			if r := &b.reg[ev.Fd]; r.s != nil && r.listed != b.listing {
				r.listed = b.listing
				b.pending = append(b.pending, r.s)
				fresh++
			}
		}
		b.regMu.Unlock()
		// A full listing means more sockets may be ready. Level-triggered epoll puts
		// the sockets it returned back at the end of its list, so the next call
		// returns the others first; one that brings nothing new ends the listing.
		if n < len(b.events) || fresh == 0 {
			return
		}
	}
}

// testPair is a self-test's raw loopback socket and a plain socket that sends to it
// from a known port.
type testPair struct {
	rx     *rawUDP
	tx     int
	to     syscall.Sockaddr
	txPort int
}

// newTestPair opens a testPair on 127.0.0.1; on failure nothing stays open.
func newTestPair() (*testPair, error) {
	rx, err := listenRaw(netip.MustParseAddr("127.0.0.1"), 0, 1<<16)
	if err != nil {
		return nil, err
	}
	p := &testPair{rx: rx, tx: -1}
	fail := func(err error) (*testPair, error) {
		p.close()
		return nil, err
	}
	if p.to, err = syscall.Getsockname(rx.fd); err != nil {
		return fail(err)
	}
	if p.tx, err = syscall.Socket(syscall.AF_INET, syscall.SOCK_DGRAM|syscall.SOCK_CLOEXEC, 0); err != nil {
		p.tx = -1
		return fail(err)
	}
	if err := syscall.Bind(p.tx, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		return fail(err)
	}
	sa, err := syscall.Getsockname(p.tx)
	if err != nil {
		return fail(err)
	}
	p.txPort = sa.(*syscall.SockaddrInet4).Port
	return p, nil
}

// send sends d from tx to rx.
func (p *testPair) send(d string) error { return syscall.Sendto(p.tx, []byte(d), 0, p.to) }

func (p *testPair) close() {
	p.rx.Close()
	if p.tx >= 0 {
		syscall.Close(p.tx)
	}
}

// selfTest sends two datagrams to a raw loopback socket and reads them through the
// ring, then reads the empty socket.
func (b *rxBatch) selfTest() error {
	p, err := newTestPair()
	if err != nil {
		return fmt.Errorf("media: io_uring receive self-test: %w", err)
	}
	defer p.close()
	rx := p.rx
	for _, d := range []string{"hotline one", "hotline two"} {
		if err := p.send(d); err != nil {
			return fmt.Errorf("media: io_uring receive self-test: %w", err)
		}
	}
	s := &Session{rxs: newRxSlot(rx.fd, time.Now())}
	if err := b.register(s); err != nil {
		return fmt.Errorf("media: io_uring receive self-test: %w", err)
	}
	defer b.unregister(s)
	b.list()
	if len(b.pending) != 1 || b.pending[0] != s {
		return fmt.Errorf("media: io_uring receive self-test: epoll listed %d sockets, want the one that holds data", len(b.pending))
	}
	clear(b.pending)
	read := func() (rxEntry, error) {
		b.queue = append(b.queue[:0], rxEntry{s: s})
		b.run()
		if b.broken {
			return rxEntry{}, errors.New("media: io_uring receive self-test: the ring failed")
		}
		return b.queue[0], nil
	}
	// Loopback delivers within sendto; allow a moment anyway.
	deadline := time.Now().Add(time.Second)
	var e rxEntry
	for {
		if e, err = read(); err != nil {
			return err
		}
		if e.res != -int32(syscall.EAGAIN) || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	if e.res != int32(len("hotline one")) || string(b.bufs.buf[0][:e.res]) != "hotline one" {
		return fmt.Errorf("media: io_uring receive self-test: read %d bytes %q", e.res, b.bufs.buf[0][:max(e.res, 0)])
	}
	if now := time.Now(); b.bufs.arrival(0, now, now.UnixNano()) == now {
		return errors.New("media: io_uring receive self-test: no arrival timestamp")
	}
	if e, err = read(); err != nil {
		return err
	}
	if e.res != int32(len("hotline two")) {
		return fmt.Errorf("media: io_uring receive self-test: second read gave %d", e.res)
	}
	if e, err = read(); err != nil { // empty: must complete now, with EAGAIN
		return err
	}
	if e.res != -int32(syscall.EAGAIN) {
		return fmt.Errorf("media: io_uring receive self-test: a read of an empty socket gave %d, want EAGAIN", e.res)
	}
	return nil
}

// receive reads the sockets of list that hold data, hands each datagram to its session
// and does the sessions' housekeeping when it is due.
func (b *rxBatch) receive(list []*Session) {
	if b == nil || len(list) == 0 && b.ms == nil {
		return
	}
	now := time.Now()
	wall := now.UnixNano()
	if b.ms != nil {
		b.receiveMultishot(now, wall)
		if b.ms == nil { // the ring failed: read what it left with the listing
			b.receiveListed(now, wall)
		}
	} else {
		b.receiveListed(now, wall)
	}
	for _, s := range list {
		if x := s.rxs; !now.Before(x.nextHK) {
			s.housekeep(now, x.st.dtmf)
			x.nextHK = now.Add(housekeepEvery)
		}
	}
}

// receiveListed reads the sockets epoll lists as holding data, in rounds until none
// does (or rxRounds).
func (b *rxBatch) receiveListed(now time.Time, wall int64) {
	b.list()
	for round := 0; len(b.pending) > 0; round++ {
		// Two datagrams at once are common (10 ms packets, a late packet and its
		// successor), more only in a burst or a flood: from the third round on, a
		// socket still listed is read rxDepth datagrams at a time.
		depth := 1
		if round >= 2 {
			depth = rxDepth
		}
		for start := 0; start < len(b.pending); {
			b.queue = b.queue[:0]
			end := start
			for ; end < len(b.pending) && len(b.queue)+depth <= rxChunk; end++ {
				for i := range depth {
					b.queue = append(b.queue, rxEntry{s: b.pending[end], i: i})
				}
			}
			b.run()
			b.deliver(depth, now, wall)
			start = end
		}
		if round+1 == rxRounds {
			break
		}
		b.list() // the sockets that still hold data
	}
	// Hold no session that may close before the next tick.
	clear(b.pending)
	b.pending = b.pending[:0]
	clear(b.queue)
	b.queue = b.queue[:0]
}

// deliver hands the round's datagrams to their sessions, in the order each socket
// returned them.
func (b *rxBatch) deliver(depth int, now time.Time, wall int64) {
	for k := 0; k < len(b.queue); k += depth {
		for _, e := range b.queue[k : k+depth] {
			if e.res < 0 {
				// EAGAIN: the socket was empty. Anything else is an error report (an
				// ICMP port unreachable for a packet we sent) that the read cleared.
				// Either way a later read of the group may still have found a
				// datagram that came meanwhile.
				continue
			}
			x := b.bufs
			e.s.handlePacket(x.buf[k+e.i][:e.res], sockaddrPort(&x.names[k+e.i]), x.arrival(k+e.i, now, wall), e.s.rxs.st)
		}
		if b.early != nil && b.queue[k].res >= 0 {
			b.early(b.queue[k].s)
		}
	}
	if b.bufsLost() {
		b.bufs = newRxBufs() // the lost reads keep the old ones
	}
}

// bufsLost reports whether the kernel may still write into bufs: reads it never
// completed were given up with the ring (fail).
func (b *rxBatch) bufsLost() bool {
	return len(b.lostBufs) > 0 && b.lostBufs[len(b.lostBufs)-1] == b.bufs
}

// run performs the reads of b.queue, through the ring or, once it failed, one
// recvmsg each, and stores each result in its entry.
func (b *rxBatch) run() {
	for k := range b.queue {
		e := &b.queue[k]
		b.bufs.reset(k)
		e.res, e.flags, e.done = -int32(syscall.EAGAIN), 0, false
	}
	if b.broken {
		b.direct(0)
		return
	}
	for k := range b.queue {
		b.push(ioURingSQE{
			opcode:   ioringOpRecvmsg,
			fd:       int32(b.queue[k].s.rxs.fd),
			addr:     uint64(uintptr(unsafe.Pointer(&b.bufs.msgs[k]))),
			len:      1,
			msgFlags: syscall.MSG_DONTWAIT,
			userData: uint64(k),
		})
	}
	n := len(b.queue)
	submitted, completed, retries := 0, 0, 0
	for completed < n {
		r, errno := b.enter(n-submitted, false)
		if b.m != nil {
			b.m.receiveBatches.Inc()
		}
		switch {
		case transient(errno) && retries < maxTransient:
			retries++
		case errno != 0:
			b.fail(fmt.Errorf("media: io_uring_enter: %w", errno), submitted)
			return
		case submitted == n && r == 0:
			// Every read completes inside io_uring_enter (the self-test proved it);
			// one that did not is waiting in the kernel, so the ring is given up.
			if retries++; retries >= maxTransient {
				b.fail(errors.New("media: an io_uring read did not complete"), submitted)
				return
			}
		case r == 0 && submitted < n:
			b.fail(errors.New("media: io_uring_enter took no entry"), submitted)
			return
		default:
			submitted += r
		}
		completed += b.reap(b.complete)
	}
}

// completed stores one read's result in its entry.
func (b *rxBatch) completed(c *ioURingCQE) {
	if int(c.userData) < len(b.queue) {
		e := &b.queue[c.userData]
		e.res, e.flags, e.done = c.res, c.flags, true
	}
}

// fail gives the ring up: entries the kernel never completed keep their sessions and
// the chunk's buffers referenced for good (the kernel may still write into them; the
// shard reads into new ones after this chunk), the rest are read with one recvmsg
// each, now and from now on.
func (b *rxBatch) fail(err error, submitted int) {
	b.broken = true
	if b.onFail != nil {
		b.onFail(err)
	}
	for k := range b.queue[:submitted] {
		if e := b.queue[k]; !e.done {
			b.lost = append(b.lost, e)
			b.queue[k].res = -int32(syscall.EAGAIN)
			if !b.bufsLost() {
				b.lostBufs = append(b.lostBufs, b.bufs)
			}
		}
	}
	b.direct(submitted)
}

// direct reads the socket of each entry of the queue from the from-th on with one
// recvmsg.
func (b *rxBatch) direct(from int) {
	for k := from; k < len(b.queue); k++ {
		e := &b.queue[k]
		for {
			n, _, errno := syscall.Syscall(syscall.SYS_RECVMSG, uintptr(e.s.rxs.fd), uintptr(unsafe.Pointer(&b.bufs.msgs[k])), syscall.MSG_DONTWAIT)
			if errno == syscall.EINTR {
				continue
			}
			if errno != 0 {
				e.res = -int32(errno)
			} else {
				e.res = int32(n)
			}
			break
		}
	}
}

// close releases the ring and the epoll instance. Only after the shard stopped ticking.
func (b *rxBatch) close() {
	if b == nil {
		return
	}
	b.uring.close()
	b.regMu.Lock()
	defer b.regMu.Unlock()
	if b.ms != nil {
		b.ms.close()
		b.ms = nil
		close(b.msDone)
		b.msSlots, b.msFree, b.msArm, b.msCancel = nil, nil, nil, nil
	}
	if b.epfd >= 0 {
		syscall.Close(b.epfd)
		b.epfd = -1
	}
}
