//go:build linux

package loadtest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// batchIO moves a socket's packets with sendmmsg and recvmmsg (Linux): one system
// call per clock tick for all the socket's calls instead of one per packet, which is
// what keeps the generator cheaper than the engine it measures. Received datagrams
// carry the kernel's arrival time (SO_TIMESTAMPNS), so a moment when the generator
// itself is slow to read does not show up as the engine's jitter.
//
// The system calls run inside syscall.RawConn's Read and Write callbacks, on the
// non-blocking socket the Go runtime already polls: EAGAIN parks the goroutine in the
// netpoller exactly as a plain conn.Read would. The callbacks are built once, so a
// tick or a batch allocates nothing.
type batchIO struct {
	rc syscall.RawConn
	v4 bool

	smsgs  [maxBatch]unix.Mmsghdr
	siov   [maxBatch]unix.Iovec
	snames [maxBatch]unix.RawSockaddrInet6
	sb     *sendBatch
	sent   int
	failed int
	sendFn func(fd uintptr) bool

	rmsgs  [recvBatch]unix.Mmsghdr
	riov   [recvBatch]unix.Iovec
	rnames [recvBatch]unix.RawSockaddrInet6
	rctrl  [recvBatch][ctrlWords]uint64 // uint64 words keep the cmsg headers aligned
	rv     recvBatchView
	rn     int
	rerr   syscall.Errno
	recvFn func(fd uintptr) bool
}

// ctrlWords sizes the control buffer of one datagram: a cmsghdr and a timespec.
const ctrlWords = 8

func (b *batchIO) init(conn *net.UDPConn, v4 bool) error {
	rc, err := conn.SyscallConn()
	if err != nil {
		return err
	}
	b.rc, b.v4 = rc, v4
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1)
	}); err != nil {
		return err
	}
	if serr != nil {
		return fmt.Errorf("SO_TIMESTAMPNS: %w", serr)
	}
	for i := range recvBatch {
		b.riov[i].Base = &b.rv.buf[i*recvSize]
		b.riov[i].SetLen(recvSize)
		h := &b.rmsgs[i].Hdr
		h.Iov = &b.riov[i]
		h.SetIovlen(1)
		h.Name = (*byte)(unsafe.Pointer(&b.rnames[i]))
		h.Control = (*byte)(unsafe.Pointer(&b.rctrl[i][0]))
	}
	for i := range maxBatch {
		h := &b.smsgs[i].Hdr
		h.Iov = &b.siov[i]
		h.SetIovlen(1)
		h.Name = (*byte)(unsafe.Pointer(&b.snames[i]))
	}
	b.sendFn = b.sendSome
	b.recvFn = b.recvSome
	return nil
}

// send writes the batch and returns how many packets left; a packet the kernel
// refuses is skipped and counted, so one bad destination cannot stall the others.
func (b *batchIO) send(_ *net.UDPConn, sb *sendBatch) (int, error) {
	for i := range sb.n {
		b.siov[i].Base = &sb.buf[i*slotSize]
		b.siov[i].SetLen(sb.lens[i])
		b.smsgs[i].Hdr.Namelen = b.putName(&b.snames[i], sb.dst[i])
		b.smsgs[i].Len = 0
	}
	b.sb, b.sent, b.failed = sb, 0, 0
	err := b.rc.Write(b.sendFn)
	b.sb = nil
	if err == nil && b.failed > 0 {
		err = errSendRefused
	}
	return b.sent, err
}

var errSendRefused = errors.New("loadtest: the kernel refused some RTP packets")

// sendSome is the RawConn.Write callback: it returns false to wait for the socket to
// become writable (EAGAIN) and true when every packet is sent or skipped.
func (b *batchIO) sendSome(fd uintptr) bool {
	n := b.sb.n
	for done := b.sent + b.failed; done < n; done = b.sent + b.failed {
		r, _, e := unix.Syscall6(unix.SYS_SENDMMSG, fd, uintptr(unsafe.Pointer(&b.smsgs[done])),
			uintptr(n-done), unix.MSG_DONTWAIT, 0, 0)
		switch e {
		case 0:
			b.sent += int(r)
		case unix.EAGAIN:
			return false
		case unix.EINTR:
		default:
			b.failed++ // the first packet of the rest was refused: skip it
		}
	}
	return true
}

// putName writes dst as a sockaddr for the socket's family and returns its length.
func (b *batchIO) putName(sa *unix.RawSockaddrInet6, dst netip.AddrPort) uint32 {
	port := dst.Port()
	if b.v4 {
		sa4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		sa4.Family = unix.AF_INET
		binary.BigEndian.PutUint16((*[2]byte)(unsafe.Pointer(&sa4.Port))[:], port)
		sa4.Addr = dst.Addr().Unmap().As4()
		return unix.SizeofSockaddrInet4
	}
	sa.Family = unix.AF_INET6
	binary.BigEndian.PutUint16((*[2]byte)(unsafe.Pointer(&sa.Port))[:], port)
	sa.Addr = dst.Addr().As16()
	sa.Scope_id = 0
	sa.Flowinfo = 0
	return unix.SizeofSockaddrInet6
}

// receive waits for at least one datagram, reads up to recvBatch and hands them to
// deliver. It returns an error only when the socket is closed or broken.
func (b *batchIO) receive(_ *net.UDPConn, deliver func(*recvBatchView)) error {
	for i := range recvBatch {
		h := &b.rmsgs[i].Hdr
		h.Namelen = unix.SizeofSockaddrInet6
		h.SetControllen(ctrlWords * 8)
		h.Flags = 0
	}
	b.rn, b.rerr = 0, 0
	if err := b.rc.Read(b.recvFn); err != nil {
		return err
	}
	switch b.rerr {
	case 0:
	case unix.EINTR, unix.ECONNREFUSED, unix.EHOSTUNREACH, unix.ENETUNREACH:
		return nil // transient, or an ICMP error for an earlier send: read on
	default:
		return b.rerr
	}
	now := time.Now().UnixNano() // only used if the kernel gave no timestamp
	for i := range b.rn {
		m := &b.rmsgs[i]
		b.rv.lens[i] = int(m.Len)
		b.rv.from[i] = b.name(&b.rnames[i])
		ctrl := unsafe.Slice((*byte)(unsafe.Pointer(&b.rctrl[i][0])), ctrlWords*8)
		if at, ok := cmsgTime(ctrl[:min(int(m.Hdr.Controllen), len(ctrl))]); ok {
			b.rv.at[i] = at
		} else {
			b.rv.at[i] = now
		}
	}
	b.rv.n = b.rn
	deliver(&b.rv)
	return nil
}

// recvSome is the RawConn.Read callback.
func (b *batchIO) recvSome(fd uintptr) bool {
	r, _, e := unix.Syscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&b.rmsgs[0])),
		recvBatch, unix.MSG_DONTWAIT, 0, 0)
	if e == unix.EAGAIN {
		return false
	}
	if e == 0 {
		b.rn = int(r)
	}
	b.rerr = e
	return true
}

// name converts a received sockaddr to an address and port.
func (b *batchIO) name(sa *unix.RawSockaddrInet6) netip.AddrPort {
	switch sa.Family {
	case unix.AF_INET:
		sa4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		port := binary.BigEndian.Uint16((*[2]byte)(unsafe.Pointer(&sa4.Port))[:])
		return netip.AddrPortFrom(netip.AddrFrom4(sa4.Addr), port)
	case unix.AF_INET6:
		port := binary.BigEndian.Uint16((*[2]byte)(unsafe.Pointer(&sa.Port))[:])
		return netip.AddrPortFrom(netip.AddrFrom16(sa.Addr).Unmap(), port)
	}
	return netip.AddrPort{}
}

// cmsgTime finds the SCM_TIMESTAMPNS control message and returns its time in ns
// since the Unix epoch.
func cmsgTime(b []byte) (int64, bool) {
	for len(b) >= unix.SizeofCmsghdr {
		h, data, rest, err := unix.ParseOneSocketControlMessage(b)
		if err != nil {
			return 0, false
		}
		if h.Level == unix.SOL_SOCKET && h.Type == unix.SCM_TIMESTAMPNS {
			// tv_sec and tv_nsec have the same width: 8 octets each on 64-bit Linux ABIs,
			// 4 on 32-bit ones.
			switch size := int(unsafe.Sizeof(unix.Timespec{})); {
			case size == 16 && len(data) >= 16:
				sec := int64(binary.NativeEndian.Uint64(data[:8]))
				nsec := int64(binary.NativeEndian.Uint64(data[8:16]))
				return sec*1e9 + nsec, true
			case size == 8 && len(data) >= 8:
				sec := int64(int32(binary.NativeEndian.Uint32(data[:4])))
				nsec := int64(int32(binary.NativeEndian.Uint32(data[4:8])))
				return sec*1e9 + nsec, true
			}
			return 0, false
		}
		b = rest
	}
	return 0, false
}
