//go:build linux

package media

import (
	"encoding/binary"
	"net"
	"net/netip"
	"syscall"
	"time"
	"unsafe"
)

// mmsgBatch is how many datagrams one recvmmsg may return: one per wake-up in steady
// state (a call's packets come 20 ms apart), more when the reader was held up.
const mmsgBatch = 4

// mmsgReader is the Linux receive loop's reader: recvmmsg inside a syscall.RawConn
// read callback, on the non-blocking socket the Go runtime polls. It saves a system
// call per packet over net.UDPConn.ReadFromUDPAddrPort, which after every datagram
// reads again until EAGAIN before it parks: the callback hands the datagrams to
// handlePacket itself and, when recvmmsg returned fewer than mmsgBatch (the queue was
// empty), returns false at once so the runtime parks the goroutine without that
// extra read. No packet can be missed: RawConn.Read arms the poller once and then
// waits on it only between calls of the callback, and a datagram that arrives after
// recvmmsg raises a new edge-triggered readiness event, which either wakes the
// parked goroutine or, if it came while the callback ran, makes the next wait return
// at once. Everything is allocated once per session.
type mmsgReader struct {
	s    *Session
	st   *rxState
	rc   syscall.RawConn
	next time.Time // housekeeping due: the callback returns to the loop then
	fn   func(fd uintptr) bool
	err  syscall.Errno

	msgs  [mmsgBatch]mmsghdr
	iov   [mmsgBatch]syscall.Iovec
	names [mmsgBatch]syscall.RawSockaddrInet6
	buf   [mmsgBatch][receiveBuffer]byte
}

// mmsghdr is struct mmsghdr of recvmmsg(2): a message header and the length the
// kernel received into it (Go pads the struct to the header's alignment, as C does).
type mmsghdr struct {
	hdr syscall.Msghdr
	len uint32
}

// newReader returns the session's RTP socket reader.
func newReader(s *Session, st *rxState) (reader, error) {
	rc, err := s.conn.SyscallConn()
	if err != nil {
		return nil, err
	}
	r := &mmsgReader{s: s, st: st, rc: rc}
	for i := range mmsgBatch {
		r.iov[i].Base = &r.buf[i][0]
		r.iov[i].SetLen(receiveBuffer)
		h := &r.msgs[i].hdr
		h.Iov = &r.iov[i]
		h.Iovlen = 1
		h.Name = (*byte)(unsafe.Pointer(&r.names[i]))
	}
	r.fn = r.recv
	return r, nil
}

// read hands every datagram that arrives to handlePacket until housekeeping is due
// at next, the socket's read deadline passes or the socket is closed (the error).
func (r *mmsgReader) read(next time.Time) error {
	r.next, r.err = next, 0
	if err := r.rc.Read(r.fn); err != nil {
		return err
	}
	if r.err != 0 {
		// A transient error such as an ICMP report for a packet we sent: the loop
		// goes on.
		return &net.OpError{Op: "read", Net: "udp", Err: r.err}
	}
	return nil
}

// recv is the RawConn.Read callback: false parks the goroutine until the socket is
// readable (or the deadline passes), true returns from read.
func (r *mmsgReader) recv(fd uintptr) bool {
	for {
		for i := range mmsgBatch {
			r.msgs[i].hdr.Namelen = syscall.SizeofSockaddrInet6
			r.msgs[i].hdr.Flags = 0
			r.msgs[i].len = 0
		}
		n, _, e := syscall.Syscall6(syscall.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&r.msgs[0])), mmsgBatch,
			syscall.MSG_DONTWAIT, 0, 0)
		switch e {
		case 0:
		case syscall.EAGAIN:
			return false
		case syscall.EINTR:
			continue
		default:
			r.err = e
			return true
		}
		now := time.Now()
		for i := range int(n) {
			r.s.handlePacket(r.buf[i][:r.msgs[i].len], sockaddrPort(&r.names[i]), now, r.st)
		}
		if !now.Before(r.next) {
			return true // housekeeping is due
		}
		if n < mmsgBatch {
			return false // the queue was empty: park without another read
		}
	}
}

// sockaddrPort converts a received sockaddr to an address and port.
func sockaddrPort(sa *syscall.RawSockaddrInet6) netip.AddrPort {
	switch sa.Family {
	case syscall.AF_INET:
		sa4 := (*syscall.RawSockaddrInet4)(unsafe.Pointer(sa))
		port := binary.BigEndian.Uint16((*[2]byte)(unsafe.Pointer(&sa4.Port))[:])
		return netip.AddrPortFrom(netip.AddrFrom4(sa4.Addr), port)
	case syscall.AF_INET6:
		port := binary.BigEndian.Uint16((*[2]byte)(unsafe.Pointer(&sa.Port))[:])
		return netip.AddrPortFrom(netip.AddrFrom16(sa.Addr), port)
	}
	return netip.AddrPort{}
}
