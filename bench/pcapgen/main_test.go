package main

import (
	"bytes"
	"encoding/binary"
	"os"
	"testing"
	"time"

	"github.com/hotline-ivr/hotline/media/dtmf"
	"github.com/hotline-ivr/hotline/media/rtp"
)

// readPcap returns the RTP payloads of a pcap written by writePcap and their capture
// times.
func readPcap(t *testing.T, b []byte) (pkts [][]byte, at []time.Duration) {
	t.Helper()
	le := binary.LittleEndian
	if len(b) < 24 || le.Uint32(b) != 0xa1b2c3d4 || le.Uint32(b[20:]) != 1 {
		t.Fatalf("not a little-endian Ethernet pcap")
	}
	for b = b[24:]; len(b) > 0; {
		if len(b) < 16 {
			t.Fatalf("truncated record header")
		}
		n := int(le.Uint32(b[8:]))
		at = append(at, time.Duration(le.Uint32(b))*time.Second+time.Duration(le.Uint32(b[4:]))*time.Microsecond)
		frame := b[16 : 16+n]
		if binary.BigEndian.Uint16(frame[12:]) != 0x0800 || frame[14+9] != 17 {
			t.Fatalf("record %d is not IPv4/UDP", len(pkts))
		}
		if ipChecksum(frame[14:34]) != 0 {
			t.Errorf("record %d: bad IPv4 header checksum", len(pkts))
		}
		pkts = append(pkts, frame[42:])
		b = b[16+n:]
	}
	return pkts, at
}

// TestDigitPackets checks a key press the way RFC 4733 §2.5 sends it: a marker on
// the first packet, growing durations under one timestamp, three end packets.
func TestDigitPackets(t *testing.T) {
	pkts, err := digitPackets(options{digits: "2", ssrc: 9, seq: 1000, ts: 160000, digitLength: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	writePcap(&b, pkts)
	got, at := readPcap(t, b.Bytes())
	if len(got) != 7 {
		t.Fatalf("%d packets, want 5 updates and 3 ends sharing the last (7)", len(got))
	}
	ends := 0
	for i, p := range got {
		var h rtp.Header
		payload, err := h.Unmarshal(p)
		if err != nil {
			t.Fatal(err)
		}
		ev, err := dtmf.ParseEvent(payload)
		if err != nil {
			t.Fatal(err)
		}
		if h.PayloadType != eventPT || h.Timestamp != 160000 || h.SequenceNumber != uint16(1000+i) || h.Marker != (i == 0) || ev.Code != 2 {
			t.Errorf("packet %d: %+v %+v", i, h, ev)
		}
		if want := uint16(min(i+1, 5) * frame); ev.Duration != want {
			t.Errorf("packet %d: duration %d, want %d", i, ev.Duration, want)
		}
		if ev.End {
			ends++
		}
		if at[i] != time.Duration(i)*ptime {
			t.Errorf("packet %d captured at %v, want %v", i, at[i], time.Duration(i)*ptime)
		}
	}
	if ends != 3 {
		t.Errorf("%d end packets, want 3", ends)
	}
}

// TestCommittedCaptures checks that the SIPp caller's digit and silence captures in
// testdata are what `make sipp-pcaps` writes (the phrase depends on the espeak-ng
// version, so it is not compared).
func TestCommittedCaptures(t *testing.T) {
	for _, c := range []struct {
		file string
		o    options
	}{
		{"load_digit2.pcap", options{digits: "2", seq: 1000, ts: 160000, digitLength: 100 * time.Millisecond}},
		{"load_listen_pcma.pcap", options{silence: 10 * time.Second, codecName: "PCMA", seq: 500, ts: 80000}},
		{"load_hold_pcma.pcap", options{silence: 15 * time.Second, codecName: "PCMA", seq: 1081, ts: 176000}},
	} {
		c.o.ssrc = 0x484c4f41
		var pkts [][]byte
		var err error
		if c.o.digits != "" {
			pkts, err = digitPackets(c.o)
		} else {
			pkts, err = audioPackets(t.Context(), c.o)
		}
		if err != nil {
			t.Fatal(err)
		}
		var want bytes.Buffer
		writePcap(&want, pkts)
		got, err := os.ReadFile("../../testdata/sipp/" + c.file)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want.Bytes()) {
			t.Errorf("testdata/sipp/%s differs from what bench/pcapgen writes: run make sipp-pcaps", c.file)
		}
	}
}
