//go:build !linux

package loadtest

import (
	"errors"
	"net"
	"net/netip"
	"time"
)

// batchIO without Linux's sendmmsg and recvmmsg: one system call per packet and the
// arrival time read after the fact. It keeps the generator usable elsewhere; figures
// for the record come from Linux, where batch_linux.go is used.
type batchIO struct {
	conn *net.UDPConn
	rv   recvBatchView
}

// open binds the socket; closing stop does not end receive, close does.
func (b *batchIO) open(ip netip.Addr, _ <-chan struct{}, _ time.Duration) (netip.AddrPort, error) {
	conn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, 0)))
	if err != nil {
		return netip.AddrPort{}, err
	}
	_ = conn.SetReadBuffer(socketBuffer)
	_ = conn.SetWriteBuffer(socketBuffer)
	b.conn = conn
	return conn.LocalAddr().(*net.UDPAddr).AddrPort(), nil
}

func (b *batchIO) close() {
	if b.conn != nil {
		b.conn.Close()
	}
}

var errSendRefused = errors.New("loadtest: the kernel refused some RTP packets")

func (b *batchIO) send(sb *sendBatch) (int, error) {
	conn := b.conn
	sent, failed := 0, 0
	for i := range sb.n {
		if _, err := conn.WriteToUDPAddrPort(sb.buf[i*slotSize:i*slotSize+sb.lens[i]], sb.dst[i]); err != nil {
			if errors.Is(err, net.ErrClosed) {
				return sent, err
			}
			failed++
			continue
		}
		sent++
	}
	if failed > 0 {
		return sent, errSendRefused
	}
	return sent, nil
}

func (b *batchIO) receive(deliver func(*recvBatchView)) error {
	conn := b.conn
	n, from, err := conn.ReadFromUDPAddrPort(b.rv.buf[:recvSize])
	if err != nil {
		if errors.Is(err, net.ErrClosed) {
			return err
		}
		return nil
	}
	b.rv.n = 1
	b.rv.lens[0] = n
	b.rv.from[0] = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
	b.rv.at[0] = time.Now().UnixNano()
	deliver(&b.rv)
	return nil
}

// stopReceive ends a receive blocked on the socket.
func (b *batchIO) stopReceive() { b.close() }
