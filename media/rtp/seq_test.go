package rtp

import "testing"

func TestSeqArithmetic(t *testing.T) {
	tests := []struct {
		a, b uint16
		less bool
		diff int
	}{
		{0, 0, false, 0},
		{0, 1, true, 1},
		{1, 0, false, -1},
		{65535, 0, true, 1},   // wrap forward
		{0, 65535, false, -1}, // wrap backward: 65535 is the packet before 0
		{65535, 1, true, 2},
		{65530, 5, true, 11},
		{5, 65530, false, -11},
		{100, 32867, true, 32767}, // farthest "after"
		{0, 32768, false, -32768}, // exactly half-way: ambiguous
		{32768, 0, false, -32768},
		{0, 32769, false, -32767},
		{1000, 999, false, -1}, // late/reordered packet
	}
	for _, tc := range tests {
		if got := SeqLess(tc.a, tc.b); got != tc.less {
			t.Errorf("SeqLess(%d, %d) = %v, want %v", tc.a, tc.b, got, tc.less)
		}
		if got := SeqDiff(tc.a, tc.b); got != tc.diff {
			t.Errorf("SeqDiff(%d, %d) = %d, want %d", tc.a, tc.b, got, tc.diff)
		}
	}
}

// TestSeqConsistency checks, over a sweep that crosses the wrap, that SeqLess
// agrees with the sign of SeqDiff and that a step forward is always "after".
func TestSeqConsistency(t *testing.T) {
	for a := 0; a < 1<<16; a += 251 {
		for _, d := range []int{1, 2, 100, 32767, -1, -100, -32767} {
			b := uint16(a + d)
			if got := SeqDiff(uint16(a), b); got != d {
				t.Fatalf("SeqDiff(%d, %d) = %d, want %d", a, b, got, d)
			}
			if got := SeqLess(uint16(a), b); got != (d > 0) {
				t.Fatalf("SeqLess(%d, %d) = %v, want %v", a, b, got, d > 0)
			}
		}
	}
}

func TestTSLess(t *testing.T) {
	tests := []struct {
		a, b uint32
		want bool
	}{
		{0, 0, false},
		{0, 160, true},
		{160, 0, false},
		{0xffffff60, 0, true}, // 160 ticks before the wrap
		{0, 0xffffff60, false},
		{0xfffffff0, 0x10, true},
		{0, 0x7fffffff, true},
		{0, 0x80000000, false}, // half-way: ambiguous, false both ways
		{0x80000000, 0, false},
		{0, 0x80000001, false},
	}
	for _, tc := range tests {
		if got := TSLess(tc.a, tc.b); got != tc.want {
			t.Errorf("TSLess(%#x, %#x) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}
