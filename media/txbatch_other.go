//go:build !linux

package media

import (
	"errors"
	"net"
	"net/netip"
)

// txBatch exists on Linux only (txbatch_linux.go): elsewhere every packet is its own
// system call.
type txBatch struct{}

// txSlot is empty where packets are not batched.
type txSlot struct{}

func newTxBatch(*Metrics, func(error)) (*txBatch, error) {
	return nil, errors.ErrUnsupported
}

func (t *txSlot) init(*net.UDPConn) error                     { return nil }
func (t *txSlot) initRaw(*rawUDP)                             {}
func (t *txSlot) send([]byte, netip.AddrPort) error           { return errors.ErrUnsupported }
func (b *txBatch) queue(*txSlot, []byte, netip.AddrPort) bool { return false }
func (b *txBatch) buffer(*txSlot) []byte                      { return nil }
func (b *txBatch) flush() int                                 { return 0 }
func (b *txBatch) close()                                     {}
