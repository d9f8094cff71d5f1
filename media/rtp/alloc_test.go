package rtp

import "testing"

// TestZeroAllocs keeps the per-packet promise in the ordinary test run, not
// only in benchmarks that CI may skip.
func TestZeroAllocs(t *testing.T) {
	pkt := mustHex(t, "b1e50006 00001000 00000005 eeeeeeee 01000002 01020304 05060708 99 0002")
	out := make([]byte, HeaderSize)
	var h Header
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := h.Unmarshal(pkt); err != nil {
			t.Fatal(err)
		}
		h.CSRCCount, h.Extension = 0, false
		if _, err := h.MarshalTo(out); err != nil {
			t.Fatal(err)
		}
		_ = IsRTCP(pkt)
		_ = SeqLess(h.SequenceNumber, 7)
	})
	if allocs != 0 {
		t.Errorf("%v allocations per packet, want 0", allocs)
	}
}
