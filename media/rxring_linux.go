//go:build linux

package media

import (
	"errors"
	"fmt"
	"net/netip"
	"runtime"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// Multishot receives (Linux 6.1 and later; rtp.receive_batching: multishot). The epoll
// listing of rxbatch_linux.go costs, at every tick, an epoll_wait that polls every
// socket that got a datagram, a map lookup per listed socket, and one RECVMSG entry
// per read whose header the kernel copies in. Here each call's socket has one RECVMSG
// entry armed for good (IORING_RECV_MULTISHOT): every datagram that reaches the socket
// is read into one of the shard's provided buffers and posted as a completion, the
// sender's address and arrival timestamp in front of the payload. The ring is set up
// with IORING_SETUP_DEFER_TASKRUN, so the kernel does those reads only when the
// shard's goroutine asks for completions at its tick: nothing wakes between ticks, a
// socket without traffic costs nothing, and no read is submitted per packet.
//
// DEFER_TASKRUN needs a single issuer: the ring is made, armed and entered by one
// thread only. The clock shard's goroutine therefore locks its OS thread
// (runtime.LockOSThread) before it sets the ring up, and sessions ask the shard to arm
// and disarm their sockets (register, unregister) instead of touching the ring. A
// session's read is cancelled, and its final completion seen, before the session
// closes its socket, so no armed read outlives the descriptor.
//
// Where the kernel lacks any of it (multishot RECVMSG, provided-buffer rings, deferred
// task work) or the self-test fails, the shard keeps the epoll listing; where the ring
// fails later, the shard falls back to that listing with one recvmsg per read.
//
// Measured on the benchmark machine (bench/PROFILE.md, "Multishot receives"), it is
// no cheaper than the listing: the kernel's deferred reads (a poll wake-up's task
// work, then the read) cost about what the listing and the submitted reads did, and
// the locked threads add hand-offs. So it is an option, not the default.

const (
	ioringOpAsyncCancel            = 14
	ioringRegisterPbufRing         = 22
	ioringSetupCQSize              = 1 << 3
	ioringSetupTaskrunFlag         = 1 << 9
	ioringSetupSingleIssuer        = 1 << 12
	ioringSetupDeferTaskrun        = 1 << 13
	ioringSQTaskrun                = 1 << 2
	iosqeBufferSelect              = 1 << 5
	ioringRecvMultishot            = 1 << 1
	ioringCQEFBuffer               = 1 << 0
	ioringCQEFMore                 = 1 << 1
	ioringCQEBufferShift           = 16
	msGroup                        = 0 // the shard's one provided-buffer group
	msCancelTag             uint64 = 1 << 63

	// msBuffers is how many datagrams the kernel can read before the shard hands the
	// buffers back; they are handed back after every pass of a tick, so a pass that
	// finds more datagrams than this ends some reads with ENOBUFS, re-armed at once.
	// A pass reads about 40 sockets (see msPasses); a small ring keeps the buffers in
	// the CPU's cache as they cycle.
	msBuffers = 256
	// A buffer holds struct io_uring_recvmsg_out, the sender's address, the control
	// messages (the arrival timestamp) and the payload, as large as a receive
	// goroutine's buffer.
	msOutLen  = 16
	msNameLen = 32
	msCtrlLen = ctrlWords * 8
	msBufSize = msOutLen + msNameLen + msCtrlLen + receiveBuffer
	// msCQEntries is the completion ring: one pass posts at most a few hundred.
	msCQEntries = 4096
	// msPasses bounds the io_uring_enter calls of one tick. The kernel runs at most
	// 20 sockets' deferred reads per pass (twice per enter), so 800 active calls take
	// about 20; a flood costs at most this many.
	msPasses = 128
	// leaveWait bounds how long a closing session waits for its read to be cancelled;
	// the shard answers at its next tick, so only a stopped clock makes it wait this
	// long (the socket then stays bound until the ring lets it go).
	leaveWait = time.Second
)

// msRing is a shard's multishot receive ring and its provided buffers, in memory of
// its own (mmap) that the kernel writes into.
type msRing struct {
	uring
	bufRing []byte // struct io_uring_buf_ring: msBuffers entries of 16 bytes
	bufs    []byte // msBuffers buffers of msBufSize bytes
	tail    uint16 // the buffer ring's tail, as last published

	// hdr is the template every armed read copies: how much room the sender's
	// address and the control messages take in each buffer.
	hdr  syscall.Msghdr
	name [msNameLen]byte
	ctrl [msCtrlLen]byte

	// flagged: the kernel raises IORING_SQ_TASKRUN when a datagram leaves work for the
	// next enter (seen by the self-test), so a tick without it enters nothing.
	flagged bool
	// more: the last pass of the previous tick still found datagrams, so the next
	// tick enters even without the flag (reads the kernel put off).
	more bool
}

// msSlot is one session's entry in the shard's table; its key (generation and
// index) is the user data of the session's armed read.
type msSlot struct {
	s       *Session
	st      *rxState // s.rxs.st, kept here so a datagram's delivery touches one less object
	gen     uint32
	armed   bool          // a read is armed in the kernel (its final completion not seen)
	leaving chan struct{} // set by unregister: cancel the read, then close this
}

// msEntry is one completion of a pass, with the session it resolved to.
type msEntry struct {
	key   uint64
	res   int32
	flags uint32
	s     *Session
	st    *rxState
}

// msKey packs a slot's index and generation.
func msKey(idx, gen uint32) uint64 { return uint64(gen)<<32 | uint64(idx) }

// newMSRing sets up the ring and its buffers on the calling thread, which must stay
// the only one to use it.
func newMSRing() (*msRing, error) {
	r := &msRing{}
	flags := uint32(ioringSetupSubmitAll | ioringSetupCQSize | ioringSetupSingleIssuer | ioringSetupDeferTaskrun | ioringSetupTaskrunFlag)
	if err := r.setupWith(ringEntries, msCQEntries, flags); err != nil {
		return nil, err
	}
	var err error
	anon := func(size int) ([]byte, error) {
		return syscall.Mmap(-1, 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANONYMOUS|syscall.MAP_POPULATE)
	}
	if r.bufRing, err = anon(msBuffers * 16); err != nil {
		r.close()
		return nil, fmt.Errorf("media: mapping the receive buffers: %w", err)
	}
	if r.bufs, err = anon(msBuffers * msBufSize); err != nil {
		r.close()
		return nil, fmt.Errorf("media: mapping the receive buffers: %w", err)
	}
	reg := struct {
		ringAddr    uint64
		ringEntries uint32
		bgid        uint16
		flags       uint16
		resv        [3]uint64
	}{ringAddr: uint64(uintptr(unsafe.Pointer(&r.bufRing[0]))), ringEntries: msBuffers, bgid: msGroup}
	if _, _, errno := syscall.Syscall6(sysIOURingRegister, uintptr(r.fd), ioringRegisterPbufRing, uintptr(unsafe.Pointer(&reg)), 1, 0, 0); errno != 0 {
		r.close()
		return nil, fmt.Errorf("media: registering the receive buffers: %w", errno)
	}
	for bid := range msBuffers {
		r.recycle(uint16(bid))
	}
	r.publish()
	r.hdr.Name = &r.name[0]
	r.hdr.Namelen = msNameLen
	r.hdr.Control = &r.ctrl[0]
	r.hdr.SetControllen(msCtrlLen)
	return r, nil
}

// recycle gives buffer bid back to the kernel (visible at the next publish).
func (r *msRing) recycle(bid uint16) {
	e := unsafe.Pointer(&r.bufRing[int(r.tail&(msBuffers-1))*16])
	*(*uint64)(e) = uint64(uintptr(unsafe.Pointer(&r.bufs[int(bid)*msBufSize])))
	*(*uint32)(unsafe.Add(e, 8)) = msBufSize
	*(*uint16)(unsafe.Add(e, 12)) = bid
	r.tail++
}

// publish stores the tail (the last two bytes of the ring's first entry); the kernel
// reads the ring only inside this thread's io_uring_enter.
func (r *msRing) publish() {
	atomic.StoreUint32((*uint32)(unsafe.Pointer(&r.bufRing[12])), uint32(*(*uint16)(unsafe.Pointer(&r.bufRing[12])))|uint32(r.tail)<<16)
}

// arm pushes a multishot read of fd, its completions tagged key.
func (r *msRing) arm(fd int, key uint64) {
	r.push(ioURingSQE{
		opcode:   ioringOpRecvmsg,
		flags:    iosqeBufferSelect,
		ioprio:   ioringRecvMultishot,
		fd:       int32(fd),
		addr:     uint64(uintptr(unsafe.Pointer(&r.hdr))),
		len:      1,
		userData: key,
		bufGroup: msGroup,
	})
}

// cancel pushes the cancellation of the read tagged key.
func (r *msRing) cancel(key uint64) {
	r.push(ioURingSQE{opcode: ioringOpAsyncCancel, fd: -1, addr: key, userData: key | msCancelTag})
}

// datagram is the datagram in the buffer of completion e (res bytes long): its
// payload, sender and arrival time.
func (r *msRing) datagram(e *msEntry, now time.Time, wall int64) ([]byte, netip.AddrPort, time.Time, bool) {
	bid := int(e.flags >> ioringCQEBufferShift)
	if bid >= msBuffers || e.res < msOutLen+msNameLen+msCtrlLen {
		return nil, netip.AddrPort{}, now, false
	}
	buf := r.bufs[bid*msBufSize : bid*msBufSize+int(e.res)]
	out := (*struct{ namelen, controllen, payloadlen, flags uint32 })(unsafe.Pointer(&buf[0]))
	if out.namelen > msNameLen {
		return nil, netip.AddrPort{}, now, false
	}
	from := sockaddrPort((*syscall.RawSockaddrInet6)(unsafe.Pointer(&buf[msOutLen])))
	at := arrivalAt(unsafe.Pointer(&buf[msOutLen+msNameLen]), uint64(min(out.controllen, msCtrlLen)), now, wall)
	return buf[msOutLen+msNameLen+msCtrlLen:], from, at, true
}

// close releases the ring (the kernel cancels every armed read) and the buffers.
func (r *msRing) close() {
	r.uring.close()
	for _, mem := range [][]byte{r.bufRing, r.bufs} {
		if mem != nil {
			syscall.Munmap(mem)
		}
	}
	r.bufRing, r.bufs = nil, nil
}

// upgrade switches b to multishot receives, on the calling goroutine's locked thread
// (the shard's, or a test's); on error b keeps its epoll listing. Before any session
// registers.
func (b *rxBatch) upgrade() error {
	r, err := newMSRing()
	if err != nil {
		return err
	}
	b.msOut = make([]msEntry, 0, msCQEntries)
	b.msComplete = func(c *ioURingCQE) {
		b.msOut = append(b.msOut, msEntry{key: c.userData, res: c.res, flags: c.flags})
	}
	m := b.m
	b.m = nil // the self-test's enters are not the calls'
	err = b.msSelfTest(r)
	b.m = m
	if err != nil {
		r.close()
		b.msOut, b.msComplete = nil, nil
		return err
	}
	b.regMu.Lock()
	defer b.regMu.Unlock()
	if b.registered() > 0 {
		r.close()
		return errors.New("media: multishot receives: sessions registered before the upgrade")
	}
	b.ms = r
	b.msDone = make(chan struct{})
	return nil
}

// msPass enters the ring once (submitting n entries) and collects its completions
// into b.msOut; it reports how many came, or the ring's failure.
func (b *rxBatch) msPass(r *msRing, n int) (int, error) {
	for retries := 0; ; retries++ {
		got, errno := r.getEvents(n)
		if b.m != nil {
			b.m.receiveBatches.Inc()
		}
		switch {
		case transient(errno) && retries < maxTransient:
			continue
		case errno != 0:
			return 0, fmt.Errorf("media: io_uring_enter: %w", errno)
		case got < n:
			return 0, fmt.Errorf("media: io_uring_enter took %d of %d entries", got, n)
		}
		return r.reap(b.msComplete), nil
	}
}

// msSelfTest proves, on a loopback socket of its own, that an armed read returns
// queued datagrams with their sender and timestamp, that a datagram sent later is read
// at the next enter (and whether it raises IORING_SQ_TASKRUN), and that a
// cancellation ends the read.
func (b *rxBatch) msSelfTest(r *msRing) error {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("media: multishot receive self-test: "+format, args...)
	}
	p, err := newTestPair()
	if err != nil {
		return fail("%w", err)
	}
	defer p.close()
	rx, txPort := p.rx, p.txPort
	send := func(d string) error {
		if err := p.send(d); err != nil {
			return fail("%w", err)
		}
		return nil
	}
	// read enters until want completions came (loopback delivers within sendto; a
	// moment is allowed anyway).
	read := func(want int, submit int) ([]msEntry, error) {
		b.msOut = b.msOut[:0]
		deadline := time.Now().Add(time.Second)
		for len(b.msOut) < want {
			if _, err := b.msPass(r, submit); err != nil {
				return nil, err
			}
			submit = 0
			if len(b.msOut) < want {
				if time.Now().After(deadline) {
					return nil, fail("%d of %d completions", len(b.msOut), want)
				}
				time.Sleep(time.Millisecond)
			}
		}
		return b.msOut, nil
	}
	const key = 1
	for _, p := range []string{"hotline one", "hotline two"} {
		if err := send(p); err != nil {
			return err
		}
	}
	r.arm(rx.fd, key)
	got, err := read(2, 1)
	if err != nil {
		return err
	}
	check := func(e *msEntry, want string) error {
		now := time.Now()
		if e.key != key || e.flags&ioringCQEFBuffer == 0 || e.flags&ioringCQEFMore == 0 {
			return fail("completion key %d res %d flags %#x, want a buffer and more to come", e.key, e.res, e.flags)
		}
		payload, from, at, ok := r.datagram(e, now, now.UnixNano())
		r.recycle(uint16(e.flags >> ioringCQEBufferShift))
		r.publish()
		switch {
		case !ok || string(payload) != want:
			return fail("read %q, want %q", payload, want)
		case int(from.Port()) != txPort:
			return fail("sender %v, want port %d", from, txPort)
		case at == now:
			return fail("no arrival timestamp")
		}
		return nil
	}
	for i, want := range []string{"hotline one", "hotline two"} {
		if err := check(&got[i], want); err != nil {
			return err
		}
	}
	if err := send("hotline three"); err != nil {
		return err
	}
	r.flagged = atomic.LoadUint32(r.sqFlags)&ioringSQTaskrun != 0
	if got, err = read(1, 0); err != nil {
		return err
	}
	if err := check(&got[0], "hotline three"); err != nil {
		return err
	}
	r.cancel(key)
	if got, err = read(2, 1); err != nil {
		return err
	}
	ended := false
	for _, e := range got {
		if e.key == key && e.flags&ioringCQEFMore == 0 {
			ended = true
		}
	}
	if !ended {
		return fail("the cancelled read did not end")
	}
	b.msOut = b.msOut[:0]
	return nil
}

// msSlotOf is the slot key names, or nil once that slot is empty or reused. Under
// regMu.
func (b *rxBatch) msSlotOf(key uint64) *msSlot {
	idx := uint32(key)
	if int(idx) >= len(b.msSlots) {
		return nil
	}
	st := &b.msSlots[idx]
	if st.s == nil || st.gen != uint32(key>>32) {
		return nil
	}
	return st
}

// msRegister gives s a slot and asks the next tick to arm its read. Under regMu.
func (b *rxBatch) msRegister(s *Session) {
	var idx uint32
	if n := len(b.msFree); n > 0 {
		idx = b.msFree[n-1]
		b.msFree = b.msFree[:n-1]
	} else {
		idx = uint32(len(b.msSlots))
		b.msSlots = append(b.msSlots, msSlot{})
	}
	st := &b.msSlots[idx]
	st.gen++
	st.s, st.st, st.armed, st.leaving = s, s.rxs.st, false, nil
	s.rxs.msKey = msKey(idx, st.gen)
	b.msArm = append(b.msArm, s.rxs.msKey)
}

// msUnregister asks the next tick to cancel s's read and waits until its last
// completion came, so s may close its socket. Called with regMu held; returns with it
// released.
func (b *rxBatch) msUnregister(s *Session) {
	key := s.rxs.msKey
	st := b.msSlotOf(key)
	if st == nil || st.s != s {
		b.regMu.Unlock()
		return
	}
	if !st.armed {
		b.msFreeSlot(uint32(key)) // never armed, or ended and waiting to be armed again
		b.regMu.Unlock()
		return
	}
	if st.leaving == nil {
		st.leaving = make(chan struct{})
		b.msCancel = append(b.msCancel, key)
	}
	leaving, done := st.leaving, b.msDone
	b.regMu.Unlock()
	t := time.NewTimer(leaveWait)
	defer t.Stop()
	select {
	case <-leaving:
	case <-done:
	case <-t.C:
	}
}

// msFreeSlot empties slot idx for a later session. Under regMu.
func (b *rxBatch) msFreeSlot(idx uint32) {
	st := &b.msSlots[idx]
	st.s, st.st, st.armed, st.leaving = nil, nil, false, nil
	b.msFree = append(b.msFree, idx)
}

// receiveMultishot is a tick's receive on a multishot ring: arm and cancel what
// sessions asked for, then enter until a pass brings no datagram, handing each to its
// session and its buffer back to the kernel after every pass.
func (b *rxBatch) receiveMultishot(now time.Time, wall int64) {
	r := b.ms
	enter := r.more || !r.flagged || atomic.LoadUint32(r.sqFlags)&ioringSQTaskrun != 0
	for pass := 0; pass < msPasses; pass++ {
		n := b.msSubmit(r)
		if n == 0 && !enter {
			break
		}
		got, err := b.msPass(r, n)
		if err != nil {
			b.msFail(err)
			return
		}
		b.msDeliver(r, now, wall)
		r.more = got > 0
		enter = got > 0
	}
}

// msSubmit pushes the arms and cancellations sessions asked for (as many as the ring
// takes; the rest wait for the next pass) and returns how many.
func (b *rxBatch) msSubmit(r *msRing) int {
	b.regMu.Lock()
	defer b.regMu.Unlock()
	n, k := 0, 0
	for ; k < len(b.msCancel) && n < r.entries; k++ {
		if st := b.msSlotOf(b.msCancel[k]); st != nil && st.armed {
			r.cancel(b.msCancel[k])
			n++
		}
	}
	b.msCancel = append(b.msCancel[:0], b.msCancel[k:]...)
	for k = 0; k < len(b.msArm) && n < r.entries; k++ {
		if st := b.msSlotOf(b.msArm[k]); st != nil && !st.armed && st.leaving == nil {
			r.arm(st.s.rxs.fd, b.msArm[k])
			st.armed = true
			n++
		}
	}
	b.msArm = append(b.msArm[:0], b.msArm[k:]...)
	return n
}

// msDeliver resolves the pass's completions to their sessions, ends the reads that
// ended (a cancelled one lets its session close; any other is armed again), hands
// every datagram to its session and gives the buffers back.
func (b *rxBatch) msDeliver(r *msRing, now time.Time, wall int64) {
	if len(b.msOut) == 0 {
		return
	}
	b.regMu.Lock()
	for i := range b.msOut {
		e := &b.msOut[i]
		if e.key&msCancelTag != 0 {
			continue
		}
		st := b.msSlotOf(e.key)
		if st == nil {
			continue
		}
		if st.leaving == nil && e.res > 0 && e.flags&ioringCQEFBuffer != 0 {
			e.s, e.st = st.s, st.st
		}
		if e.flags&ioringCQEFMore == 0 {
			st.armed = false
			if st.leaving != nil {
				close(st.leaving)
				b.msFreeSlot(uint32(e.key))
			} else {
				// Out of buffers (they are back after this pass), an error the socket
				// reported (an ICMP unreachable for a packet we sent), or a full
				// completion ring: read on.
				b.msArm = append(b.msArm, e.key)
				b.msRearmed++
			}
		}
	}
	b.regMu.Unlock()
	for i := range b.msOut {
		e := &b.msOut[i]
		if e.s != nil {
			if pkt, from, at, ok := r.datagram(e, now, wall); ok {
				e.s.handlePacket(pkt, from, at, e.st)
			}
		}
		if e.flags&ioringCQEFBuffer != 0 {
			r.recycle(uint16(e.flags >> ioringCQEBufferShift))
		}
	}
	r.publish()
	clear(b.msOut) // hold no session that may close before the next tick
	b.msOut = b.msOut[:0]
}

// msFail gives the multishot ring up: every live session's socket goes back to the
// epoll listing, read with one recvmsg each from now on, and closing sessions stop
// waiting.
func (b *rxBatch) msFail(err error) {
	b.regMu.Lock()
	r := b.ms
	b.ms, b.broken = nil, true
	for i := range b.msSlots {
		st := &b.msSlots[i]
		switch {
		case st.s == nil:
		case st.leaving != nil:
			close(st.leaving)
		default:
			_ = b.watch(st.s) // a socket epoll refuses is not read, as at register
		}
	}
	b.msSlots, b.msFree, b.msArm, b.msCancel = nil, nil, nil, nil
	close(b.msDone)
	b.regMu.Unlock()
	clear(b.msOut)
	b.msOut = b.msOut[:0]
	r.close()
	if b.onFail != nil {
		b.onFail(err)
	}
}

// lockForMultishot locks the calling goroutine to its thread and upgrades rx there;
// on failure the goroutine is unlocked again and rx keeps its epoll listing.
func lockForMultishot(rx *rxBatch) error {
	runtime.LockOSThread()
	if err := rx.upgrade(); err != nil {
		runtime.UnlockOSThread()
		return err
	}
	return nil
}
