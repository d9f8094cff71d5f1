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
	rv recvBatchView
}

func (b *batchIO) init(*net.UDPConn, bool) error { return nil }

var errSendRefused = errors.New("loadtest: the kernel refused some RTP packets")

func (b *batchIO) send(conn *net.UDPConn, sb *sendBatch) (int, error) {
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

func (b *batchIO) receive(conn *net.UDPConn, deliver func(*recvBatchView)) error {
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
