//go:build linux

package media

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// Outgoing RTP in batches (Linux): every call has its own socket (its port is the one in
// its SDP), so sendmmsg, which sends many datagrams through one socket, cannot batch a
// clock tick's packets. io_uring can: each packet of a tick becomes a SENDMSG entry in
// the shard's submission ring, and one io_uring_enter at the end of the tick sends them
// all. The profile of regime (b) (bench/PROFILE.md) had one sendto per packet as half of
// the engine's CPU; on the benchmark box (page-table isolation on, so every system
// call's entry and exit is dear) BenchmarkShardTick measures 6.4 µs of CPU per packet
// sent this way against 12.9 µs with one sendto each (bench/PROFILE.md).
//
// Only what the standard library offers is used: the ring is set up with raw system
// calls and mmap. Each session owns its message header, iovec and address, allocated
// once; a tick writes them and an entry that points at them, so the packet path still
// allocates nothing. The kernel copies the datagram during io_uring_enter (sends on UDP
// sockets complete inline, MSG_DONTWAIT makes a full socket buffer an error instead of a
// deferred retry), and flush waits for every completion before it returns, so the
// session's packet buffer is free again when the next tick writes it.
//
// A socket's descriptor is used outside Go's reference counting, so a session closes
// its socket only while holding its shard's flush lock (Session.Close): no entry can
// point at a descriptor that was closed or reused.

const (
	sysIOURingSetup = 425
	sysIOURingEnter = 426

	ioringOpSendmsg      = 9
	ioringEnterGetEvents = 1
	ioringSetupSubmitAll = 1 << 7
	ioringOffSQRing      = 0
	ioringOffCQRing      = 0x8000000
	ioringOffSQEs        = 0x10000000

	// txRingEntries is the most packets one io_uring_enter sends; a shard with more
	// calls flushes several times per tick.
	txRingEntries = 1024
	// maxTransient is how many transient io_uring_enter errors (EINTR, EAGAIN, EBUSY)
	// one flush retries before it gives the ring up: the clock goroutine must not spin.
	maxTransient = 100
	// txSendFlags: never wait for a full socket buffer (the packet is dropped and
	// counted), never raise SIGPIPE.
	txSendFlags = syscall.MSG_DONTWAIT | syscall.MSG_NOSIGNAL
)

// ioURingParams is struct io_uring_params.
type ioURingParams struct {
	sqEntries, cqEntries, flags, sqThreadCPU, sqThreadIdle, features, wqFD uint32
	resv                                                                   [3]uint32
	sqOff                                                                  struct {
		head, tail, ringMask, ringEntries, flags, dropped, array, resv1 uint32
		userAddr                                                        uint64
	}
	cqOff struct {
		head, tail, ringMask, ringEntries, overflow, cqes, flags, resv1 uint32
		userAddr                                                        uint64
	}
}

// ioURingSQE is struct io_uring_sqe (64 bytes), with the fields a SENDMSG uses.
type ioURingSQE struct {
	opcode   uint8
	flags    uint8
	ioprio   uint16
	fd       int32
	off      uint64
	addr     uint64 // the struct msghdr
	len      uint32
	msgFlags uint32
	userData uint64 // the index of the packet in txBatch.queued
	_        [3]uint64
}

// ioURingCQE is struct io_uring_cqe.
type ioURingCQE struct {
	userData uint64
	res      int32
	flags    uint32
}

// txBatch is one clock shard's io_uring: the packets its tick queued, sent by flush.
// Only the shard's goroutine uses it (tests: the goroutine that ticks).
type txBatch struct {
	fd     int
	sqMem  []byte
	cqMem  []byte
	sqeMem []byte

	sqTail, sqMask *uint32
	sqArray        []uint32
	sqes           []ioURingSQE
	cqHead, cqTail *uint32
	cqMask         uint32
	cqes           []ioURingCQE

	queued []*txSlot // the packets of this flush, by entry index
	broken bool      // io_uring_enter failed: every packet goes by sendmsg from now on
	m      *Metrics
	onFail func(error) // told once when the ring breaks
}

// newTxBatch sets up a ring and proves it can send a datagram (a kernel without
// io_uring, a seccomp profile that forbids it, or an old kernel without SENDMSG fails
// here, and the engine sends one system call per packet instead).
func newTxBatch(m *Metrics, onFail func(error)) (*txBatch, error) {
	return newTxBatchSize(m, onFail, txRingEntries)
}

// newTxBatchSize is newTxBatch with a ring of the given size (a power of two), for
// tests that fill it.
func newTxBatchSize(m *Metrics, onFail func(error), entries uint32) (*txBatch, error) {
	b, err := setupRing(entries)
	if err != nil {
		return nil, err
	}
	if err := b.selfTest(); err != nil {
		b.close()
		return nil, err
	}
	b.m, b.onFail = m, onFail
	return b, nil
}

func setupRing(entries uint32) (*txBatch, error) {
	var p ioURingParams
	p.flags = ioringSetupSubmitAll
	fd, _, errno := syscall.Syscall(sysIOURingSetup, uintptr(entries), uintptr(unsafe.Pointer(&p)), 0)
	if errno == syscall.EINVAL { // before Linux 5.18: no IORING_SETUP_SUBMIT_ALL
		p = ioURingParams{}
		fd, _, errno = syscall.Syscall(sysIOURingSetup, uintptr(entries), uintptr(unsafe.Pointer(&p)), 0)
	}
	if errno != 0 {
		return nil, fmt.Errorf("media: io_uring_setup: %w", errno)
	}
	b := &txBatch{fd: int(fd)}
	mmap := func(off int64, size uint32) ([]byte, error) {
		mem, err := syscall.Mmap(b.fd, off, int(size), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED|syscall.MAP_POPULATE)
		if err != nil {
			return nil, fmt.Errorf("media: mapping the io_uring: %w", err)
		}
		return mem, nil
	}
	var err error
	if b.sqMem, err = mmap(ioringOffSQRing, p.sqOff.array+p.sqEntries*4); err != nil {
		b.close()
		return nil, err
	}
	if b.cqMem, err = mmap(ioringOffCQRing, p.cqOff.cqes+p.cqEntries*uint32(unsafe.Sizeof(ioURingCQE{}))); err != nil {
		b.close()
		return nil, err
	}
	if b.sqeMem, err = mmap(ioringOffSQEs, p.sqEntries*uint32(unsafe.Sizeof(ioURingSQE{}))); err != nil {
		b.close()
		return nil, err
	}
	sq, cq := unsafe.Pointer(&b.sqMem[0]), unsafe.Pointer(&b.cqMem[0])
	b.sqTail = (*uint32)(unsafe.Add(sq, p.sqOff.tail))
	b.sqMask = (*uint32)(unsafe.Add(sq, p.sqOff.ringMask))
	b.sqArray = unsafe.Slice((*uint32)(unsafe.Add(sq, p.sqOff.array)), p.sqEntries)
	b.sqes = unsafe.Slice((*ioURingSQE)(unsafe.Pointer(&b.sqeMem[0])), p.sqEntries)
	b.cqHead = (*uint32)(unsafe.Add(cq, p.cqOff.head))
	b.cqTail = (*uint32)(unsafe.Add(cq, p.cqOff.tail))
	b.cqMask = *(*uint32)(unsafe.Add(cq, p.cqOff.ringMask))
	b.cqes = unsafe.Slice((*ioURingCQE)(unsafe.Add(cq, p.cqOff.cqes)), p.cqEntries)
	b.queued = make([]*txSlot, 0, p.sqEntries)
	return b, nil
}

// selfTest sends one datagram through the ring to a loopback socket of its own.
func (b *txBatch) selfTest() error {
	rx, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return fmt.Errorf("media: io_uring self-test: %w", err)
	}
	defer rx.Close()
	tx, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return fmt.Errorf("media: io_uring self-test: %w", err)
	}
	defer tx.Close()
	var slot txSlot
	if err := slot.init(tx); err != nil {
		return fmt.Errorf("media: io_uring self-test: %w", err)
	}
	pkt := []byte("hotline io_uring self-test")
	var failed error
	b.onFail = func(err error) { failed = err }
	if !b.queue(&slot, pkt, rx.LocalAddr().(*net.UDPAddr).AddrPort()) {
		return errors.New("media: io_uring self-test: the packet was not queued")
	}
	errs := b.flush()
	if failed != nil {
		return fmt.Errorf("media: io_uring self-test: %w", failed)
	}
	if errs != 0 {
		return fmt.Errorf("media: io_uring self-test: the kernel refused the datagram (%w)", slot.err)
	}
	buf := make([]byte, 64)
	if err := rx.SetReadDeadline(time.Now().Add(2 * time.Second)); err != nil {
		return fmt.Errorf("media: io_uring self-test: %w", err)
	}
	if n, _, err := rx.ReadFromUDPAddrPort(buf); err != nil || string(buf[:n]) != string(pkt) {
		return fmt.Errorf("media: io_uring self-test: the datagram did not arrive (%d bytes, %v)", n, err)
	}
	return nil
}

// txSlot is a session's side of batched sending: the message header, iovec and
// destination of its one packet per flush, and its socket's descriptor.
type txSlot struct {
	fd     int
	family int // the socket's: AF_INET, or AF_INET6 (which also reaches IPv4 peers)
	msg    syscall.Msghdr
	iov    syscall.Iovec
	name   syscall.RawSockaddrInet6 // holds a RawSockaddrInet4 for AF_INET sockets
	ok     bool                     // init succeeded: the slot can be queued
	queued bool                     // in the current flush
	err    syscall.Errno            // the last failed send, for the self-test
}

// init binds the slot to conn's socket; a slot that cannot (not a UDP socket of a
// known family) stays unusable and its packets go through conn.
func (t *txSlot) init(conn *net.UDPConn) error {
	t.ok, t.fd = false, -1
	rc, err := conn.SyscallConn()
	if err != nil {
		return err
	}
	var sa syscall.Sockaddr
	var serr error
	if err := rc.Control(func(fd uintptr) {
		t.fd = int(fd)
		sa, serr = syscall.Getsockname(int(fd))
	}); err != nil {
		t.fd = -1
		return err
	}
	if serr != nil {
		t.fd = -1
		return serr
	}
	switch sa.(type) {
	case *syscall.SockaddrInet4:
		t.family = syscall.AF_INET
	case *syscall.SockaddrInet6:
		t.family = syscall.AF_INET6
	default:
		t.fd = -1
		return fmt.Errorf("socket address %T", sa)
	}
	t.msg.Name = (*byte)(unsafe.Pointer(&t.name))
	t.msg.Iov = &t.iov
	t.msg.Iovlen = 1
	t.ok = true
	return nil
}

// setDest writes dst into the slot's address in the socket's family; false for an
// address the socket cannot reach this way (IPv6 from an IPv4 socket, a zone).
func (t *txSlot) setDest(dst netip.AddrPort) bool {
	a := dst.Addr()
	if a.Zone() != "" {
		return false
	}
	port := dst.Port()
	if t.family == syscall.AF_INET {
		a = a.Unmap()
		if !a.Is4() {
			return false
		}
		sa := (*syscall.RawSockaddrInet4)(unsafe.Pointer(&t.name))
		sa.Family = syscall.AF_INET
		sa.Port = port<<8 | port>>8
		sa.Addr = a.As4()
		t.msg.Namelen = syscall.SizeofSockaddrInet4
		return true
	}
	t.name = syscall.RawSockaddrInet6{Family: syscall.AF_INET6, Port: port<<8 | port>>8, Addr: a.As16()}
	t.msg.Namelen = syscall.SizeofSockaddrInet6
	return true
}

// queue adds pkt for dst from the slot's socket to the batch; false means send it some
// other way now (the batch cannot take it). pkt must stay untouched until flush: a
// session that writes its buffer again within the tick calls free first. A full batch
// is flushed to make room.
func (b *txBatch) queue(t *txSlot, pkt []byte, dst netip.AddrPort) bool {
	if b == nil || b.broken || !t.ok || len(pkt) == 0 {
		return false
	}
	if t.queued || len(b.queued) == cap(b.queued) {
		b.flush() // before the slot's address is rewritten
		if b.broken {
			return false
		}
	}
	if !t.setDest(dst) {
		return false
	}
	t.iov.Base = &pkt[0]
	t.iov.SetLen(len(pkt))
	i := uint32(len(b.queued))
	tail := atomic.LoadUint32(b.sqTail)
	idx := tail & *b.sqMask
	b.sqes[idx] = ioURingSQE{
		opcode:   ioringOpSendmsg,
		fd:       int32(t.fd),
		addr:     uint64(uintptr(unsafe.Pointer(&t.msg))),
		len:      1,
		msgFlags: txSendFlags,
		userData: uint64(i),
	}
	b.sqArray[idx] = idx
	atomic.StoreUint32(b.sqTail, tail+1)
	t.queued = true
	b.queued = append(b.queued, t)
	return true
}

// free makes sure t's packet buffer may be written: if t has a packet in the batch,
// the batch is sent now.
func (b *txBatch) free(t *txSlot) {
	if b != nil && t.queued {
		b.flush()
	}
}

// flush sends every queued packet with as few io_uring_enter calls as the kernel
// allows and waits for their completions; it returns how many the kernel refused
// (counted in hotline_rtp_send_errors_total). If the ring fails, the packets not yet
// submitted go by sendmsg and the batch stays broken.
func (b *txBatch) flush() (failed int) {
	if b == nil || len(b.queued) == 0 {
		return 0
	}
	n := len(b.queued)
	submitted, completed, transient := 0, 0, 0
	for completed < n {
		flags, wait := uintptr(0), 0
		if submitted == n {
			flags, wait = ioringEnterGetEvents, 1 // an entry went asynchronous: wait for it
		}
		r, _, errno := syscall.Syscall6(sysIOURingEnter, uintptr(b.fd), uintptr(n-submitted), uintptr(wait), flags, 0, 0)
		if b.m != nil {
			b.m.sendBatches.Inc()
		}
		switch {
		case (errno == syscall.EINTR || errno == syscall.EAGAIN || errno == syscall.EBUSY) && transient < maxTransient:
			// interrupted, or short of memory for a moment, or completions to reap
			transient++
		case errno != 0:
			// The submitted entries may still complete into the ring; it is never
			// read again, and closing it waits for them.
			return failed + b.fail(fmt.Errorf("media: io_uring_enter: %w", errno), submitted)
		case r == 0 && submitted < n:
			return failed + b.fail(errors.New("media: io_uring_enter took no entry"), submitted)
		default:
			submitted += int(r)
		}
		failed += b.reap(&completed)
	}
	b.queued = b.queued[:0]
	return failed
}

// reap consumes the completion queue.
func (b *txBatch) reap(completed *int) (failed int) {
	head, tail := atomic.LoadUint32(b.cqHead), atomic.LoadUint32(b.cqTail)
	for ; head != tail; head++ {
		c := b.cqes[head&b.cqMask]
		if int(c.userData) < len(b.queued) {
			t := b.queued[c.userData]
			t.queued = false
			if c.res < 0 {
				t.err = syscall.Errno(-c.res)
				failed++
				if b.m != nil {
					b.m.sendErrors.Inc()
				}
			}
		}
		*completed++
	}
	atomic.StoreUint32(b.cqHead, head)
	return failed
}

// fail breaks the batch, sends the packets the kernel had not taken yet with one
// sendmsg each and empties the batch; it returns how many of those failed.
func (b *txBatch) fail(err error, submitted int) (failed int) {
	b.broken = true
	if b.onFail != nil {
		b.onFail(err)
	}
	for _, t := range b.queued[submitted:] {
		if _, _, errno := syscall.Syscall(syscall.SYS_SENDMSG, uintptr(t.fd), uintptr(unsafe.Pointer(&t.msg)), txSendFlags); errno != 0 {
			t.err = errno
			failed++
			if b.m != nil {
				b.m.sendErrors.Inc()
			}
		}
	}
	for _, t := range b.queued {
		t.queued = false
	}
	b.queued = b.queued[:0]
	return failed
}

// close releases the ring. Only after the shard stopped ticking.
func (b *txBatch) close() {
	if b == nil {
		return
	}
	for _, mem := range [][]byte{b.sqeMem, b.cqMem, b.sqMem} {
		if mem != nil {
			syscall.Munmap(mem)
		}
	}
	b.sqeMem, b.cqMem, b.sqMem = nil, nil, nil
	if b.fd >= 0 {
		syscall.Close(b.fd)
		b.fd = -1
	}
}
