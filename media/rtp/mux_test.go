package rtp

import "testing"

func TestIsRTCP(t *testing.T) {
	tests := []struct {
		name string
		hex  string
		want bool
	}{
		{"empty", "", false},
		{"one octet", "80", false},
		{"SR (200)", "80c80006", true},
		{"RR (201)", "81c90007", true},
		{"SDES (202)", "81ca0002", true},
		{"BYE (203)", "81cb0001", true},
		{"APP (204)", "80cc0002", true},
		{"RTPFB (205)", "81cd0003", true},
		{"PSFB (206)", "81ce0002", true},
		{"XR (207)", "80cf0004", true},
		{"top of range (223)", "80df0000", true},
		{"RTP PT 0", "80000001", false},
		{"RTP PT 8 with marker", "80880001", false},
		{"RTP PT 101 with marker", "80e51f30", false},
		{"RTP PT 63", "803f0000", false},
		{"RTP PT 96", "80600000", false},
		{"RTP PT 96 with marker", "80e00000", false},
		{"RTCP type with version 0", "00c80006", false},
		{"STUN binding request", "00010000", false},
		{"DTLS handshake", "16fefd00", false},
	}
	for _, tc := range tests {
		if got := IsRTCP(mustHex(t, tc.hex)); got != tc.want {
			t.Errorf("%s: IsRTCP = %v, want %v", tc.name, got, tc.want)
		}
	}
}
