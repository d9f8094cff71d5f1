//go:build linux

package loadtest

import (
	"encoding/binary"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

func TestCmsgTime(t *testing.T) {
	for _, b := range [][]byte{nil, {1, 2, 3}, []byte(strings.Repeat("\xff", 40))} {
		if _, ok := cmsgTime(b); ok {
			t.Errorf("cmsgTime(%x) found a timestamp in garbage", b)
		}
	}
	if unsafe.Sizeof(unix.Timespec{}) != 16 {
		t.Skip("the hand-built message below is for 64-bit ABIs")
	}
	// A SOL_SOCKET/SCM_TIMESTAMPNS message of 1.5 s, as the kernel writes it.
	b := make([]byte, unix.CmsgSpace(16))
	h := (*unix.Cmsghdr)(unsafe.Pointer(&b[0]))
	h.Level, h.Type = unix.SOL_SOCKET, unix.SCM_TIMESTAMPNS
	h.SetLen(unix.CmsgLen(16))
	off := unix.CmsgLen(0)
	binary.NativeEndian.PutUint64(b[off:], 1)
	binary.NativeEndian.PutUint64(b[off+8:], 500_000_000)
	if at, ok := cmsgTime(b); !ok || at != 1_500_000_000 {
		t.Errorf("cmsgTime = %d, %v; want 1500000000", at, ok)
	}
}
