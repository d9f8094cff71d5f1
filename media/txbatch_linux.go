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
// calls and mmap. The shard owns the packet buffers, addresses and message headers of
// one chunk of sends (txChunk), allocated once: a session writes its packet straight
// into the next entry's buffer (buffer), and a full chunk is sent before the next
// packet is written, so the packet path allocates nothing and a tick keeps reusing the
// same few cache lines instead of touching a buffer of every call. The kernel copies
// the datagram during io_uring_enter (sends on UDP sockets complete inline,
// MSG_DONTWAIT makes a full socket buffer an error instead of a deferred retry), and
// flush waits for every completion before it returns, so the buffers are free again
// for the next chunk.
//
// A socket's descriptor is used outside Go's reference counting, so a session closes
// its socket only while holding its shard's flush lock (Session.Close): no entry can
// point at a descriptor that was closed or reused.

// txSendFlags: never wait for a full socket buffer (the packet is dropped and
// counted), never raise SIGPIPE.
const txSendFlags = syscall.MSG_DONTWAIT | syscall.MSG_NOSIGNAL

// txChunk is how many packets a batch holds before it is sent: 64 buffers of which a
// G.711 packet uses three cache lines each.
const txChunk = 64

// txBatch is one clock shard's io_uring: the packets its tick queued, sent by flush.
// Only the shard's goroutine uses it (tests: the goroutine that ticks).
type txBatch struct {
	uring
	// sendTo: the kernel takes SEND entries with a destination (Linux 6.1), which
	// spare it a message header and an iovec to copy in per packet; else SENDMSG.
	sendTo   bool
	queued   []*txSlot // the sockets of this flush's packets, by entry index
	chunk    int       // packets per flush: txChunk, or the ring's size if smaller
	bufs     [txChunk][rtpPacketSize]byte
	names    [txChunk]syscall.RawSockaddrInet6
	msgs     [txChunk]syscall.Msghdr
	iov      [txChunk]syscall.Iovec
	broken   bool // io_uring_enter failed: every packet goes by sendmsg from now on
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
	b.chunk = min(txChunk, int(b.entries))
	b.queued = make([]*txSlot, 0, b.chunk)
	for k := range b.msgs {
		h := &b.msgs[k]
		h.Name = (*byte)(unsafe.Pointer(&b.names[k]))
		h.Iov = &b.iov[k]
		h.Iovlen = 1
		b.iov[k].Base = &b.bufs[k][0]
	}
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

// txSlot is a session's side of sending from its own socket: the descriptor and, for
// a packet sent at once with one sendmsg (send), its message header, iovec and
// destination.
type txSlot struct {
	fd     int
	family int // the socket's: AF_INET, or AF_INET6 (which also reaches IPv4 peers)
	msg    syscall.Msghdr
	iov    syscall.Iovec
	name   syscall.RawSockaddrInet6 // holds a RawSockaddrInet4 for AF_INET sockets
	ok     bool                     // init succeeded: the slot can be queued
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
	if !t.ok || len(pkt) == 0 || !putAddr(&t.name, &t.msg, t.family, dst) {
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

// putAddr writes dst into name, in the socket's family, and its length into msg; false
// for an address the socket cannot reach this way (IPv6 from an IPv4 socket, a zone).
func putAddr(name *syscall.RawSockaddrInet6, msg *syscall.Msghdr, family int, dst netip.AddrPort) bool {
	a := dst.Addr()
	if a.Zone() != "" {
		return false
	}
	port := dst.Port()
	if family == syscall.AF_INET {
		a = a.Unmap()
		if !a.Is4() {
			return false
		}
		sa := (*syscall.RawSockaddrInet4)(unsafe.Pointer(name))
		sa.Family = syscall.AF_INET
		sa.Port = port<<8 | port>>8
		sa.Addr = a.As4()
		msg.Namelen = syscall.SizeofSockaddrInet4
		return true
	}
	*name = syscall.RawSockaddrInet6{Family: syscall.AF_INET6, Port: port<<8 | port>>8, Addr: a.As16()}
	msg.Namelen = syscall.SizeofSockaddrInet6
	return true
}

// buffer returns the buffer the batch's next packet from t's socket is to be written
// in, sending a full chunk first; nil when the batch takes no packet from t (no batch,
// a broken one, a socket the slot does not know). The packet is then queued with
// queue, before anything else asks for a buffer.
func (b *txBatch) buffer(t *txSlot) []byte {
	if b == nil || b.broken || !t.ok {
		return nil
	}
	if len(b.queued) == b.chunk {
		b.flush()
		if b.broken {
			return nil
		}
	}
	return b.bufs[len(b.queued)][:]
}

// queue adds pkt for dst from the slot's socket to the batch; false means send it some
// other way now (the batch cannot take it). pkt is either what buffer returned, written
// in place, or any other buffer, which is copied. A full batch is sent to make room.
func (b *txBatch) queue(t *txSlot, pkt []byte, dst netip.AddrPort) bool {
	if len(pkt) == 0 || len(pkt) > rtpPacketSize {
		return false
	}
	buf := b.buffer(t)
	if buf == nil {
		return false
	}
	k := len(b.queued)
	if !putAddr(&b.names[k], &b.msgs[k], t.family, dst) {
		return false
	}
	if &buf[0] != &pkt[0] {
		copy(buf, pkt)
	}
	b.iov[k].SetLen(len(pkt))
	if b.sendTo {
		b.push(ioURingSQE{
			opcode:   ioringOpSend,
			fd:       int32(t.fd),
			off:      uint64(uintptr(unsafe.Pointer(&b.names[k]))),
			addr:     uint64(uintptr(unsafe.Pointer(&buf[0]))),
			len:      uint32(len(pkt)),
			msgFlags: txSendFlags,
			userData: uint64(k),
			addrLen:  uint16(b.msgs[k].Namelen),
		})
	} else {
		b.push(ioURingSQE{
			opcode:   ioringOpSendmsg,
			fd:       int32(t.fd),
			addr:     uint64(uintptr(unsafe.Pointer(&b.msgs[k]))),
			len:      1,
			msgFlags: txSendFlags,
			userData: uint64(k),
		})
	}
	b.queued = append(b.queued, t)
	return true
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
	for k := submitted; k < len(b.queued); k++ {
		t := b.queued[k]
		if _, _, errno := syscall.Syscall(syscall.SYS_SENDMSG, uintptr(t.fd), uintptr(unsafe.Pointer(&b.msgs[k])), txSendFlags); errno != 0 {
			t.err = errno
			failed++
			if b.m != nil {
				b.m.sendErrors.Inc()
			}
		}
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
