//go:build !linux

package media

import (
	"errors"
	"net/netip"
	"time"
)

// rxBatch exists on Linux only (rxbatch_linux.go): elsewhere each call has a receive
// goroutine. newRxBatch never makes one, so early is never called.
type rxBatch struct{ early func(*Session) }

// rawUDP and rxSlot are never made where receives are not batched.
type rawUDP struct{ fd, family int }

type rxSlot struct{}

func newRxBatch(*Metrics, func(error)) (*rxBatch, error) { return nil, errors.ErrUnsupported }

func listenRaw(netip.Addr, int, int) (*rawUDP, error) { return nil, errors.ErrUnsupported }
func newRxSlot(int, time.Time) *rxSlot                { return nil }
func (r *rawUDP) Close() error                        { return errors.ErrUnsupported }
func (b *rxBatch) receive([]*Session)                 {}
func (b *rxBatch) close()                             {}

func (b *rxBatch) register(*Session) error { return errors.ErrUnsupported }
func (b *rxBatch) unregister(*Session)     {}

func lockForMultishot(*rxBatch) error { return errors.ErrUnsupported }
