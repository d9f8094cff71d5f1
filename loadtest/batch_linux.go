//go:build linux

package loadtest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
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
// The socket is a raw non-blocking descriptor that Go's netpoller never sees, read
// every poll interval (the pool's clock tick) until it is empty. A socket in the
// netpoller would have the engine's every packet wake the generator's idle thread:
// on loopback that wake-up runs in the engine's send call, on the engine's core, and
// would be charged to the engine although no real caller costs it that. The arrival
// timestamps keep the reading delay out of the measurements. Everything is allocated
// once, so a tick or a batch allocates nothing.
type batchIO struct {
	fd   int
	v4   bool
	stop <-chan struct{}
	poll *time.Ticker

	smsgs  [maxBatch]unix.Mmsghdr
	siov   [maxBatch]unix.Iovec
	snames [maxBatch]unix.RawSockaddrInet6

	rmsgs  [recvBatch]unix.Mmsghdr
	riov   [recvBatch]unix.Iovec
	rnames [recvBatch]unix.RawSockaddrInet6
	rctrl  [recvBatch][ctrlWords]uint64 // uint64 words keep the cmsg headers aligned
	rv     recvBatchView
}

// ctrlWords sizes the control buffer of one datagram: a cmsghdr and a timespec.
const ctrlWords = 8

// open binds a UDP socket on ip (an ephemeral port) with large buffers and arrival
// timestamps; receive reads it every poll until stop is closed.
func (b *batchIO) open(ip netip.Addr, stop <-chan struct{}, poll time.Duration) (netip.AddrPort, error) {
	b.fd, b.stop = -1, stop
	family := unix.AF_INET6
	var sa unix.Sockaddr = &unix.SockaddrInet6{Addr: ip.As16()}
	if ip.Is4() || ip.Is4In6() {
		family, sa, b.v4 = unix.AF_INET, &unix.SockaddrInet4{Addr: ip.Unmap().As4()}, true
	}
	fd, err := unix.Socket(family, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.IPPROTO_UDP)
	if err != nil {
		return netip.AddrPort{}, err
	}
	for _, o := range [][2]int{{unix.SO_RCVBUF, socketBuffer}, {unix.SO_SNDBUF, socketBuffer}, {unix.SO_TIMESTAMPNS, 1}} {
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, o[0], o[1]); err != nil {
			unix.Close(fd)
			return netip.AddrPort{}, fmt.Errorf("setsockopt %d: %w", o[0], err)
		}
	}
	if err := unix.Bind(fd, sa); err != nil {
		unix.Close(fd)
		return netip.AddrPort{}, err
	}
	local, err := unix.Getsockname(fd)
	if err != nil {
		unix.Close(fd)
		return netip.AddrPort{}, err
	}
	b.fd = fd
	b.poll = time.NewTicker(poll)
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
	switch a := local.(type) {
	case *unix.SockaddrInet4:
		return netip.AddrPortFrom(netip.AddrFrom4(a.Addr), uint16(a.Port)), nil
	case *unix.SockaddrInet6:
		return netip.AddrPortFrom(netip.AddrFrom16(a.Addr), uint16(a.Port)), nil
	}
	return netip.AddrPort{}, fmt.Errorf("socket address %T", local)
}

// close releases the socket once its goroutines have stopped.
func (b *batchIO) close() {
	if b.poll != nil {
		b.poll.Stop()
	}
	if b.fd >= 0 {
		unix.Close(b.fd)
		b.fd = -1
	}
}

// send writes the batch and returns how many packets left; a packet the kernel
// refuses is skipped and counted, so one bad destination cannot stall the others. A
// full socket buffer waits (poll(2)) up to sendWait for room.
func (b *batchIO) send(sb *sendBatch) (int, error) {
	for i := range sb.n {
		b.siov[i].Base = &sb.buf[i*slotSize]
		b.siov[i].SetLen(sb.lens[i])
		b.smsgs[i].Hdr.Namelen = b.putName(&b.snames[i], sb.dst[i])
		b.smsgs[i].Len = 0
	}
	sent, failed := 0, 0
	for done := 0; done < sb.n; done = sent + failed {
		r, _, e := unix.Syscall6(unix.SYS_SENDMMSG, uintptr(b.fd), uintptr(unsafe.Pointer(&b.smsgs[done])),
			uintptr(sb.n-done), unix.MSG_DONTWAIT, 0, 0)
		switch e {
		case 0:
			sent += int(r)
		case unix.EAGAIN:
			fds := []unix.PollFd{{Fd: int32(b.fd), Events: unix.POLLOUT}}
			if n, _ := unix.Poll(fds, int(sendWait/time.Millisecond)); n <= 0 {
				failed += sb.n - done // no room: the rest of the tick is dropped
			}
		case unix.EINTR:
		case unix.EBADF:
			return sent, net.ErrClosed
		default:
			failed++ // the first packet of the rest was refused: skip it
		}
	}
	if failed > 0 {
		return sent, errSendRefused
	}
	return sent, nil
}

// sendWait is how long a tick's send waits for room in a full socket buffer.
const sendWait = 100 * time.Millisecond

var errSendRefused = errors.New("loadtest: the kernel refused some RTP packets")

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

// receive reads up to recvBatch datagrams, waiting poll intervals while the socket
// is empty, and hands them to deliver. It returns net.ErrClosed once stop is closed,
// another error only when the socket is broken.
func (b *batchIO) receive(deliver func(*recvBatchView)) error {
	var n int
	for {
		for i := range recvBatch {
			h := &b.rmsgs[i].Hdr
			h.Namelen = unix.SizeofSockaddrInet6
			h.SetControllen(ctrlWords * 8)
			h.Flags = 0
		}
		r, _, e := unix.Syscall6(unix.SYS_RECVMMSG, uintptr(b.fd), uintptr(unsafe.Pointer(&b.rmsgs[0])),
			recvBatch, unix.MSG_DONTWAIT, 0, 0)
		if e == 0 {
			n = int(r)
			break
		}
		switch e {
		case unix.EAGAIN:
			select {
			case <-b.stop:
				return net.ErrClosed
			case <-b.poll.C:
			}
		case unix.EINTR, unix.ECONNREFUSED, unix.EHOSTUNREACH, unix.ENETUNREACH:
			// transient, or an ICMP error for an earlier send: read on
		default:
			return e
		}
	}
	now := time.Now().UnixNano() // only used if the kernel gave no timestamp
	for i := range n {
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
	b.rv.n = n
	deliver(&b.rv)
	return nil
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

// stopReceive does nothing here: receive sees stop closed within a poll interval.
func (b *batchIO) stopReceive() {}
