package rtcp

import (
	"bytes"
	"testing"
)

// FuzzUnmarshal feeds arbitrary datagrams to every parser. Beyond not
// panicking it checks that parsing leaves the input alone, that text fields
// alias the input, and that whatever Compound accepts marshals back into a
// datagram that parses to the same packets. Seeds are the packets of
// seedPackets, the baresip capture, and testdata/fuzz/FuzzUnmarshal.
func FuzzUnmarshal(f *testing.F) {
	for _, s := range seedPackets {
		f.Add(mustHex(f, s.hex))
	}
	for _, p := range loadCapture(f) {
		f.Add(p.data)
	}
	out := make([]byte, 1<<18) // the largest packet a length field can describe
	f.Fuzz(func(t *testing.T, buf []byte) {
		orig := bytes.Clone(buf)
		var c Compound
		err := c.Unmarshal(buf)
		if !bytes.Equal(buf, orig) {
			t.Fatal("Unmarshal modified its input")
		}
		// The single-packet parsers and the walker must survive anything.
		var sr SenderReport
		var rr ReceiverReport
		var sd SourceDescription
		var bye Goodbye
		_ = sr.Unmarshal(buf)
		_ = rr.Unmarshal(buf)
		_ = sd.Unmarshal(buf)
		_ = bye.Unmarshal(buf)
		for rest := buf; len(rest) > 0; {
			_, pkt, next, err := NextPacket(rest)
			if err != nil {
				break
			}
			if len(pkt) < HeaderSize || len(pkt)%4 != 0 {
				t.Fatalf("NextPacket returned %d octets", len(pkt))
			}
			rest = next
		}
		if err != nil {
			return
		}
		if c.HasSDES {
			for _, ch := range c.SourceDescription.Valid() {
				if len(ch.CNAME) > 0 && !within(ch.CNAME, buf) {
					t.Fatal("CNAME does not alias the input")
				}
			}
		}
		if c.HasGoodbye && len(c.Goodbye.Reason) > 0 && !within(c.Goodbye.Reason, buf) {
			t.Fatal("BYE reason does not alias the input")
		}
		if c.Report == TypeUnknown {
			// A compound packet that started with a BYE: we never
			// write one, so give it an empty RR to lead with.
			c.Report, c.ReceiverReport = TypeReceiverReport, ReceiverReport{}
		}
		n, err := c.MarshalTo(out)
		if err != nil {
			t.Fatalf("MarshalTo of a parsed packet: %v", err)
		}
		if n != c.MarshalSize() {
			t.Fatalf("MarshalTo wrote %d, MarshalSize %d", n, c.MarshalSize())
		}
		var again Compound
		if err := again.Unmarshal(out[:n]); err != nil {
			t.Fatalf("re-parse: %v\n%x", err, out[:n])
		}
		if !compoundEqual(&again, &c) {
			t.Fatalf("round trip differs:\n got %+v\nwant %+v", again, c)
		}
	})
}

// within reports whether sub lies inside buf's memory.
func within(sub, buf []byte) bool {
	for i := range buf {
		if &buf[i] == &sub[0] {
			return i+len(sub) <= len(buf)
		}
	}
	return false
}
