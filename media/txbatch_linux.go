//go:build linux

package media

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
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

// txSendFlags: never wait for a full socket buffer (the packet is dropped and
// counted), never raise SIGPIPE.
const txSendFlags = syscall.MSG_DONTWAIT | syscall.MSG_NOSIGNAL

// txBatch is one clock shard's io_uring: the packets its tick queued, sent by flush.
// Only the shard's goroutine uses it (tests: the goroutine that ticks).
type txBatch struct {
	uring
	// sendTo: the kernel takes SEND entries with a destination (Linux 6.1), which
	// spare it a message header and an iovec to copy in per packet; else SENDMSG.
	sendTo   bool
	queued   []*txSlot // the packets of this flush, by entry index
	broken   bool      // io_uring_enter failed: every packet goes by sendmsg from now on
	m        *Metrics
	onFail   func(error) // told once when the ring breaks
	complete func(c *ioURingCQE)
	failed   int // refused sends of the current flush, counted by complete
}

// newTxBatch sets up a ring and proves it can send a datagram (a kernel without
// io_uring, a seccomp profile that forbids it, or an old kernel without SENDMSG fails
// here, and the engine sends one system call per packet instead).
func newTxBatch(m *Metrics, onFail func(error)) (*txBatch, error) {
	return newTxBatchSize(m, onFail, ringEntries)
}

// newTxBatchSize is newTxBatch with a ring of the given size (a power of two), for
// tests that fill it.
func newTxBatchSize(m *Metrics, onFail func(error), entries uint32) (*txBatch, error) {
	b := &txBatch{}
	if err := b.setup(entries); err != nil {
		return nil, err
	}
	b.queued = make([]*txSlot, 0, b.entries)
	b.complete = b.completed
	if err := b.selfTest(); err != nil {
		b.close()
		return nil, err
	}
	// SEND with a destination: kept only if the same test passes with it (an older
	// kernel refuses the entry with EINVAL, and the ring stays on SENDMSG).
	b.sendTo = true
	if err := b.selfTest(); err != nil || b.broken {
		b.sendTo, b.broken = false, false
	}
	b.m, b.onFail = m, onFail
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
	t.ready()
	return nil
}

// initRaw binds the slot to a raw socket (rxbatch_linux.go).
func (t *txSlot) initRaw(r *rawUDP) {
	t.fd, t.family = r.fd, r.family
	t.ready()
}

func (t *txSlot) ready() {
	t.msg.Name = (*byte)(unsafe.Pointer(&t.name))
	t.msg.Iov = &t.iov
	t.msg.Iovlen = 1
	t.ok = true
}

// send sends pkt to dst from the slot's socket now, with one sendmsg: a raw socket's
// packets that do not go through a batch. The slot must not be in a batch.
func (t *txSlot) send(pkt []byte, dst netip.AddrPort) error {
	if !t.ok || len(pkt) == 0 || !t.setDest(dst) {
		return fmt.Errorf("media: cannot send to %s from this socket", dst)
	}
	t.iov.Base = &pkt[0]
	t.iov.SetLen(len(pkt))
	for {
		_, _, errno := syscall.Syscall(syscall.SYS_SENDMSG, uintptr(t.fd), uintptr(unsafe.Pointer(&t.msg)), txSendFlags)
		switch errno {
		case 0:
			return nil
		case syscall.EINTR:
			continue
		}
		return errno
	}
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
	if t.queued || len(b.queued) == b.entries {
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
	if b.sendTo {
		b.push(ioURingSQE{
			opcode:   ioringOpSend,
			fd:       int32(t.fd),
			off:      uint64(uintptr(unsafe.Pointer(&t.name))),
			addr:     uint64(uintptr(unsafe.Pointer(&pkt[0]))),
			len:      uint32(len(pkt)),
			msgFlags: txSendFlags,
			userData: uint64(len(b.queued)),
			addrLen:  uint16(t.msg.Namelen),
		})
	} else {
		b.push(ioURingSQE{
			opcode:   ioringOpSendmsg,
			fd:       int32(t.fd),
			addr:     uint64(uintptr(unsafe.Pointer(&t.msg))),
			len:      1,
			msgFlags: txSendFlags,
			userData: uint64(len(b.queued)),
		})
	}
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
	submitted, completed, retries := 0, 0, 0
	b.failed = 0
	for completed < n {
		// Once everything is submitted an entry went asynchronous: wait for it.
		r, errno := b.enter(n-submitted, submitted == n)
		if b.m != nil {
			b.m.sendBatches.Inc()
		}
		switch {
		case transient(errno) && retries < maxTransient:
			retries++
		case errno != 0:
			// The submitted entries may still complete into the ring; it is never
			// read again, and closing it waits for them.
			return b.failed + b.fail(fmt.Errorf("media: io_uring_enter: %w", errno), submitted)
		case r == 0 && submitted < n:
			return b.failed + b.fail(errors.New("media: io_uring_enter took no entry"), submitted)
		default:
			submitted += r
		}
		completed += b.reap(b.complete)
	}
	b.queued = b.queued[:0]
	return b.failed
}

// completed accounts one send's completion.
func (b *txBatch) completed(c *ioURingCQE) {
	if int(c.userData) >= len(b.queued) {
		return
	}
	t := b.queued[c.userData]
	t.queued = false
	if c.res < 0 {
		t.err = syscall.Errno(-c.res)
		b.failed++
		if b.m != nil {
			b.m.sendErrors.Inc()
		}
	}
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
	if b != nil {
		b.uring.close()
	}
}
