package rtcp

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

func sampleBlock(i int) ReceptionReport {
	return ReceptionReport{
		SSRC:             0x10000000 + uint32(i),
		FractionLost:     uint8(i * 7),
		TotalLost:        int32(i*1000 - 3000), // negative for small i
		LastSequence:     0x00020000 + uint32(i),
		Jitter:           uint32(i * 11),
		LastSenderReport: 0xabcd0000 + uint32(i),
		Delay:            uint32(i) << 16,
	}
}

func TestSenderReportRoundTrip(t *testing.T) {
	for _, n := range []int{0, 1, 2, MaxReports} {
		sr := SenderReport{SSRC: 0xdeadbeef, NTPTime: 0xe1a41c528f5c28f5, RTPTime: 1234567,
			PacketCount: 150, OctetCount: 24000}
		for i := range n {
			if err := sr.AddReport(sampleBlock(i)); err != nil {
				t.Fatal(err)
			}
		}
		buf := make([]byte, sr.MarshalSize())
		m, err := sr.MarshalTo(buf)
		if err != nil || m != len(buf) || m != 28+24*n {
			t.Fatalf("%d blocks: MarshalTo = %d, %v; want %d", n, m, err, 28+24*n)
		}
		var got SenderReport
		if err := got.Unmarshal(buf); err != nil {
			t.Fatalf("%d blocks: %v", n, err)
		}
		if got != sr {
			t.Fatalf("%d blocks: round trip\n got %+v\nwant %+v", n, got, sr)
		}
	}
}

func TestReceiverReportRoundTrip(t *testing.T) {
	rr := ReceiverReport{SSRC: 7}
	for i := range MaxReports {
		if err := rr.AddReport(sampleBlock(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := rr.AddReport(sampleBlock(99)); !errors.Is(err, ErrTooMany) {
		t.Fatalf("32nd block: %v, want ErrTooMany", err)
	}
	buf := make([]byte, rr.MarshalSize())
	if _, err := rr.MarshalTo(buf); err != nil {
		t.Fatal(err)
	}
	var got ReceiverReport
	if err := got.Unmarshal(buf); err != nil {
		t.Fatal(err)
	}
	if got != rr {
		t.Fatal("round trip differs")
	}
	if b, ok := got.Find(0x10000000 + 30); !ok || b != sampleBlock(30) {
		t.Errorf("Find = %+v, %v", b, ok)
	}
	if _, ok := got.Find(42); ok {
		t.Error("Find found an absent source")
	}
}

func TestTotalLostSignAndClamp(t *testing.T) {
	for _, tc := range []struct{ in, want int32 }{
		{0, 0}, {-1, -1}, {5, 5}, {1<<23 - 1, 1<<23 - 1}, {-1 << 23, -1 << 23},
		{1 << 30, 1<<23 - 1}, {-1 << 30, -1 << 23},
	} {
		var buf [ReportBlockSize]byte
		in := ReceptionReport{TotalLost: tc.in, FractionLost: 0xff}
		in.marshal(buf[:])
		var out ReceptionReport
		out.unmarshal(buf[:])
		if out.TotalLost != tc.want || out.FractionLost != 0xff {
			t.Errorf("TotalLost %d -> %d (fraction %d), want %d", tc.in, out.TotalLost, out.FractionLost, tc.want)
		}
	}
}

func TestSDESRoundTrip(t *testing.T) {
	var s SourceDescription
	names := []string{"", "a", "ab", "abc", "abcd", "user@host.example", string(bytes.Repeat([]byte{'x'}, 255))}
	for i, n := range names {
		s.Chunks[i] = SDESChunk{Source: uint32(i + 1), CNAME: []byte(n)}
	}
	s.ChunkCount = uint8(len(names))
	buf := make([]byte, s.MarshalSize())
	if n, err := s.MarshalTo(buf); err != nil || n != len(buf) || n%4 != 0 {
		t.Fatalf("MarshalTo = %d, %v (size %d)", n, err, len(buf))
	}
	var got SourceDescription
	if err := got.Unmarshal(buf); err != nil {
		t.Fatal(err)
	}
	if got.ChunkCount != s.ChunkCount {
		t.Fatalf("%d chunks, want %d", got.ChunkCount, s.ChunkCount)
	}
	for i, n := range names {
		c := got.Chunks[i]
		if c.Source != uint32(i+1) || string(c.CNAME) != n {
			t.Errorf("chunk %d = %d %q, want %d %q", i, c.Source, c.CNAME, i+1, n)
		}
	}
	if cn, ok := got.CNAME(6); !ok || string(cn) != "user@host.example" {
		t.Errorf("CNAME(6) = %q, %v", cn, ok)
	}
	if _, ok := got.CNAME(1); ok {
		t.Error("a chunk without CNAME item has a CNAME")
	}
	s.Chunks[0].CNAME = bytes.Repeat([]byte{'x'}, 256)
	if _, err := s.MarshalTo(buf); !errors.Is(err, ErrTooLong) {
		t.Errorf("256-octet CNAME: %v, want ErrTooLong", err)
	}
}

func TestGoodbyeRoundTrip(t *testing.T) {
	for _, reason := range []string{"", "x", "bye", "hangup", "Adjo"} {
		g := Goodbye{Reason: []byte(reason)}
		g.Sources[0], g.Sources[1], g.SourceCount = 0x11, 0x22, 2
		buf := make([]byte, g.MarshalSize())
		if _, err := g.MarshalTo(buf); err != nil {
			t.Fatal(err)
		}
		var got Goodbye
		if err := got.Unmarshal(buf); err != nil {
			t.Fatalf("%q: %v", reason, err)
		}
		if got.SourceCount != 2 || !got.Has(0x22) || got.Has(0x33) || string(got.Reason) != reason {
			t.Errorf("%q: got %+v", reason, got)
		}
	}
	g := Goodbye{Reason: make([]byte, 256)}
	if _, err := g.MarshalTo(make([]byte, 512)); !errors.Is(err, ErrTooLong) {
		t.Errorf("long reason: %v", err)
	}
}

func TestMarshalErrors(t *testing.T) {
	sr := SenderReport{ReportCount: 2}
	if _, err := sr.MarshalTo(make([]byte, sr.MarshalSize()-1)); !errors.Is(err, ErrShortBuffer) ||
		!errors.Is(err, io.ErrShortBuffer) {
		t.Errorf("short buffer: %v", err)
	}
	for name, m := range map[string]interface{ MarshalTo([]byte) (int, error) }{
		"SR":   &SenderReport{ReportCount: 32},
		"RR":   &ReceiverReport{ReportCount: 200},
		"SDES": &SourceDescription{ChunkCount: 32},
		"BYE":  &Goodbye{SourceCount: 40},
		"hdr":  &Header{Count: 32},
	} {
		if _, err := m.MarshalTo(make([]byte, 4096)); !errors.Is(err, ErrTooMany) {
			t.Errorf("%s with count > 31: %v, want ErrTooMany", name, err)
		}
	}
	// A count above 31 set by hand must not make the accessors panic.
	rr := ReceiverReport{ReportCount: 255}
	if len(rr.Blocks()) != MaxReports {
		t.Error("Blocks did not clamp")
	}
	var c Compound
	if _, err := c.MarshalTo(make([]byte, 64)); !errors.Is(err, ErrBadFirstPacket) {
		t.Errorf("compound without report: %v", err)
	}
}

func TestUnmarshalSingleErrors(t *testing.T) {
	rr := mustHex(t, "81c90007 2f4e1a5b 7e3b9c01 0c00001a 00010c35 00000023 e1a41c00 00012000")
	var r ReceiverReport
	if err := r.Unmarshal(rr); err != nil {
		t.Fatal(err)
	}
	var sr SenderReport
	if err := sr.Unmarshal(rr); !errors.Is(err, ErrWrongType) {
		t.Errorf("RR as SR: %v", err)
	}
	bad := bytes.Clone(rr)
	bad[0] = 0x41 // version 1
	if err := r.Unmarshal(bad); !errors.Is(err, ErrBadVersion) {
		t.Errorf("version 1: %v", err)
	}
	if err := r.Unmarshal(append(bytes.Clone(rr), 0, 0, 0, 0)); !errors.Is(err, ErrBadLength) {
		t.Errorf("trailing octets: %v", err)
	}
	bad = bytes.Clone(rr)
	bad[0] = 0x82 // RC 2, but room for one block
	if err := r.Unmarshal(bad); !errors.Is(err, ErrBadLength) {
		t.Errorf("RC beyond length: %v", err)
	}
	bad = bytes.Clone(rr)
	bad[0] |= 0x20 // P set, last octet 0x00 is not a padding count
	if err := r.Unmarshal(bad); !errors.Is(err, ErrBadPadding) {
		t.Errorf("zero padding count: %v", err)
	}
	bad[len(bad)-1] = 29 // more than the 28-octet body
	if err := r.Unmarshal(bad); !errors.Is(err, ErrBadPadding) {
		t.Errorf("padding beyond packet: %v", err)
	}
	if err := sr.Unmarshal(mustHex(t, "80c80001 01020304")); !errors.Is(err, ErrTooShort) {
		t.Errorf("SR without sender info: %v", err)
	}
	var s SourceDescription
	for _, h := range []string{
		"81ca0001 01020304",          // no null item
		"81ca0002 01020304 01050000", // item longer than packet
		"81ca0002 01020304 01",       // length field says 12, packet is 9
		"82ca0002 01020304 00000000", // SC 2, one chunk
	} {
		if err := s.Unmarshal(mustHex(t, h)); err == nil {
			t.Errorf("SDES %s: no error", h)
		}
	}
	// A NAME item whose text is two null octets is still an item: the list
	// ends at the null item after it.
	if err := s.Unmarshal(mustHex(t, "81ca0003 01020304 02020000 00000000")); err != nil ||
		s.ChunkCount != 1 || s.Chunks[0].CNAME != nil {
		t.Errorf("NAME with null text: %v %+v", err, s.Chunks[0])
	}
	var g Goodbye
	for _, h := range []string{"81cb0000", "80cb0001 01020304 05000000", "81cb0002 01020304 05616263"} {
		if err := g.Unmarshal(mustHex(t, h)); err == nil {
			t.Errorf("BYE %s: no error", h)
		}
	}
}

func TestPacketTypeString(t *testing.T) {
	for typ, want := range map[PacketType]string{
		TypeSenderReport: "SR", TypeReceiverReport: "RR", TypeSourceDescription: "SDES",
		TypeGoodbye: "BYE", TypeApplicationDefined: "APP", TypeTransportFeedback: "RTPFB",
		TypePayloadFeedback: "PSFB", TypeExtendedReport: "XR", TypeUnknown: "unknown", 99: "unknown",
	} {
		if got := typ.String(); got != want {
			t.Errorf("%d: %q, want %q", typ, got, want)
		}
	}
}
