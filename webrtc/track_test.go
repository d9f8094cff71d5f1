package webrtc

import (
	"testing"

	"github.com/pion/rtp"
)

// countingWriter stands in for pion's SRTP writer.
type countingWriter struct {
	n       int
	lastPT  uint8
	lastSSR uint32
}

func (w *countingWriter) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	w.n++
	w.lastPT, w.lastSSR = h.PayloadType, h.SSRC
	return len(payload), nil
}
func (w *countingWriter) Write(b []byte) (int, error) { return len(b), nil }

func testPacket(pt uint8) []byte {
	p := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: pt, SequenceNumber: 7, Timestamp: 960, SSRC: 0x1234}, Payload: make([]byte, 60)}
	b, _ := p.Marshal()
	return b
}

// TestTrackKeepsPayloadTypeAndSetsSSRC: telephone-events keep their payload type
// (pion's TrackLocalStaticRTP would rewrite it), the SSRC becomes the announced one,
// and nothing is sent before the track is bound.
func TestTrackKeepsPayloadTypeAndSetsSSRC(t *testing.T) {
	tr := newRTPTrack("x")
	w := &countingWriter{}
	if err := tr.WriteRTP(testPacket(111)); err != nil || w.n != 0 {
		t.Fatalf("unbound write: %v", err)
	}
	tr.w, tr.ssrc, tr.bound = w, 0xabcdef, true
	if err := tr.WriteRTP(testPacket(110)); err != nil {
		t.Fatal(err)
	}
	if w.lastPT != 110 || w.lastSSR != 0xabcdef {
		t.Errorf("sent PT %d SSRC %x, want 110 and abcdef", w.lastPT, w.lastSSR)
	}
	if err := tr.WriteRTP([]byte{0x80}); err == nil {
		t.Error("a truncated packet should be an error")
	}
}

// The outgoing packet path runs on the media clock for every call: no allocation.
func TestTrackWriteDoesNotAllocate(t *testing.T) {
	tr := newRTPTrack("x")
	tr.w, tr.ssrc, tr.bound = &countingWriter{}, 1, true
	pkt := testPacket(111)
	if n := testing.AllocsPerRun(1000, func() { _ = tr.WriteRTP(pkt) }); n != 0 {
		t.Errorf("WriteRTP allocates %v times per packet", n)
	}
}

func BenchmarkTrackWriteRTP(b *testing.B) {
	tr := newRTPTrack("x")
	tr.w, tr.ssrc, tr.bound = &countingWriter{}, 1, true
	pkt := testPacket(111)
	b.ReportAllocs()
	for b.Loop() {
		_ = tr.WriteRTP(pkt)
	}
}
