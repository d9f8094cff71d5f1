package sdp

import (
	"net/netip"
	"testing"
)

func BenchmarkParse(b *testing.B) {
	for _, name := range []string{"sipp_uac", "asterisk", "chrome_webrtc"} {
		body := loadOffer(b, name)
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if _, err := Parse(body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkMarshal(b *testing.B) {
	s, err := Parse(loadOffer(b, "chrome_webrtc"))
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 0, 8192)
	b.ReportAllocs()
	for b.Loop() {
		buf = s.AppendTo(buf[:0])
	}
}

func BenchmarkNegotiate(b *testing.B) {
	for _, name := range []string{"asterisk", "linphone_ipv6", "multi_mline"} {
		offer, err := Parse(loadOffer(b, name))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Negotiate(offer, g711); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkInboundCall is the whole answerer path for one INVITE:
// parse, negotiate, build and marshal the answer.
func BenchmarkInboundCall(b *testing.B) {
	body := loadOffer(b, "asterisk")
	local := netip.MustParseAddrPort("198.51.100.9:30000")
	b.ReportAllocs()
	for b.Loop() {
		offer, err := Parse(body)
		if err != nil {
			b.Fatal(err)
		}
		n, err := Negotiate(offer, g711)
		if err != nil {
			b.Fatal(err)
		}
		_ = Answer(offer, n, local, ourO).Marshal()
	}
}
