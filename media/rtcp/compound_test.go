package rtcp

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/hotline-ivr/hotline/media/rtp"
)

func TestCompoundSeeds(t *testing.T) {
	want := map[string]struct {
		report  PacketType
		blocks  int
		cname   string
		bye     bool
		skipped int
	}{
		"baresip SR+SDES":   {TypeSenderReport, 1, "sip:a@127.0.0.1:5171", false, 0},
		"baresip BYE+SDES":  {TypeUnknown, 0, "sip:a@127.0.0.1:5171", true, 0},
		"RR+SDES":           {TypeReceiverReport, 1, "6c62a75c3e4f4192", false, 0},
		"empty RR+SDES":     {TypeReceiverReport, 0, "Abc", false, 0},
		"SR+SDES items+BYE": {TypeSenderReport, 0, "alice@", true, 0},
		"RR+APP+NACK":       {TypeReceiverReport, 0, "", false, 2},
		"SR+padded SDES":    {TypeSenderReport, 0, "hi", false, 0},
	}
	var c Compound
	for _, seed := range seedPackets {
		w, ok := want[seed.name]
		if !ok {
			t.Fatalf("no expectation for %q", seed.name)
		}
		buf := mustHex(t, seed.hex)
		if !rtp.IsRTCP(buf) {
			t.Errorf("%s: rtp.IsRTCP = false", seed.name)
		}
		if err := c.Unmarshal(buf); err != nil {
			t.Errorf("%s: %v", seed.name, err)
			continue
		}
		var cname string
		if c.HasSDES && c.SourceDescription.ChunkCount > 0 {
			cname = string(c.SourceDescription.Chunks[0].CNAME)
		}
		if c.Report != w.report || len(c.Blocks()) != w.blocks || cname != w.cname ||
			c.HasGoodbye != w.bye || c.Skipped != w.skipped {
			t.Errorf("%s: report %v, %d blocks, cname %q, bye %v, skipped %d; want %+v",
				seed.name, c.Report, len(c.Blocks()), cname, c.HasGoodbye, c.Skipped, w)
		}
	}
}

// TestBaresipCapture parses every datagram two baresip endpoints exchanged
// in a real call and checks the figures they reported.
func TestBaresipCapture(t *testing.T) {
	var c Compound
	var srs, byes int
	for _, p := range loadCapture(t) {
		err := c.Unmarshal(p.data)
		if bytes.Equal(p.data[8:16], []byte("PINGPONG")) {
			// An APP packet alone is not a valid compound packet.
			if !errors.Is(err, ErrBadFirstPacket) {
				t.Errorf("%.3f s APP alone: %v, want ErrBadFirstPacket", p.at, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%.3f s: %v", p.at, err)
		}
		if c.Report == TypeSenderReport {
			srs++
			sr := &c.SenderReport
			// 50 packets of 160 octets a second; reports every 5 s.
			if sr.OctetCount != 160*sr.PacketCount || sr.ReportCount != 1 {
				t.Errorf("%.3f s: %d packets, %d octets, %d blocks", p.at, sr.PacketCount, sr.OctetCount, sr.ReportCount)
			}
			b := sr.Reports[0]
			if b.FractionLost != 0 || b.TotalLost != 0 || b.Jitter > 16 {
				t.Errorf("%.3f s: loopback block %+v", p.at, b)
			}
		}
		if c.HasGoodbye {
			byes++
			if string(c.Goodbye.Reason) != "Adjo" || c.Goodbye.SourceCount != 1 {
				t.Errorf("BYE %+v", c.Goodbye)
			}
		}
		if !c.HasSDES || !bytes.HasPrefix(c.SourceDescription.Chunks[0].CNAME, []byte("sip:")) {
			t.Errorf("%.3f s: no CNAME", p.at)
		}
	}
	if srs != 6 || byes != 2 {
		t.Errorf("%d SRs and %d BYEs, want 6 and 2", srs, byes)
	}
}

func TestCompoundRoundTrip(t *testing.T) {
	var c Compound
	c.Report = TypeSenderReport
	c.SenderReport = SenderReport{SSRC: 1, NTPTime: 2, RTPTime: 3, PacketCount: 4, OctetCount: 5}
	_ = c.SenderReport.AddReport(sampleBlock(3))
	c.HasSDES = true
	c.SourceDescription.Chunks[0] = SDESChunk{Source: 1, CNAME: []byte("hotline@ivr")}
	c.SourceDescription.ChunkCount = 1
	c.HasGoodbye = true
	c.Goodbye.Sources[0], c.Goodbye.SourceCount, c.Goodbye.Reason = 1, 1, []byte("call ended")
	buf := make([]byte, c.MarshalSize())
	n, err := c.MarshalTo(buf)
	if err != nil || n != len(buf) {
		t.Fatalf("MarshalTo = %d, %v; size %d", n, err, len(buf))
	}
	var got Compound
	if err := got.Unmarshal(buf); err != nil {
		t.Fatal(err)
	}
	if !compoundEqual(&got, &c) {
		t.Fatalf("round trip differs:\n got %+v\nwant %+v", got, c)
	}
	if b, ok := got.ReportAbout(sampleBlock(3).SSRC); !ok || b != sampleBlock(3) {
		t.Errorf("ReportAbout = %+v, %v", b, ok)
	}
	// The same with an RR and nothing else.
	c = Compound{Report: TypeReceiverReport, ReceiverReport: ReceiverReport{SSRC: 9}}
	n, err = c.MarshalTo(buf)
	if err != nil || n != 8 {
		t.Fatalf("empty RR: %d, %v", n, err)
	}
	if err := got.Unmarshal(buf[:n]); err != nil || got.Report != TypeReceiverReport || got.HasSDES {
		t.Fatalf("empty RR: %v %+v", err, got.Report)
	}
	if _, err := c.MarshalTo(buf[:7]); !errors.Is(err, ErrShortBuffer) {
		t.Errorf("short buffer: %v", err)
	}
}

// compoundEqual compares the decoded parts of two compound packets.
func compoundEqual(a, b *Compound) bool {
	if a.Report != b.Report || a.HasSDES != b.HasSDES || a.HasGoodbye != b.HasGoodbye {
		return false
	}
	switch a.Report {
	case TypeSenderReport:
		if a.SenderReport.SSRC != b.SenderReport.SSRC || a.SenderReport.NTPTime != b.SenderReport.NTPTime ||
			a.SenderReport.RTPTime != b.SenderReport.RTPTime || a.SenderReport.PacketCount != b.SenderReport.PacketCount ||
			a.SenderReport.OctetCount != b.SenderReport.OctetCount {
			return false
		}
	case TypeReceiverReport:
		if a.ReceiverReport.SSRC != b.ReceiverReport.SSRC {
			return false
		}
	}
	ab, bb := a.Blocks(), b.Blocks()
	if len(ab) != len(bb) {
		return false
	}
	for i := range ab {
		if ab[i] != bb[i] {
			return false
		}
	}
	if a.HasSDES {
		ac, bc := a.SourceDescription.Valid(), b.SourceDescription.Valid()
		if len(ac) != len(bc) {
			return false
		}
		for i := range ac {
			if ac[i].Source != bc[i].Source || !bytes.Equal(ac[i].CNAME, bc[i].CNAME) {
				return false
			}
		}
	}
	if a.HasGoodbye {
		ag, bg := &a.Goodbye, &b.Goodbye
		if ag.SourceCount != bg.SourceCount || ag.Sources != bg.Sources || !bytes.Equal(ag.Reason, bg.Reason) {
			return false
		}
	}
	return true
}

func TestCompoundValidity(t *testing.T) {
	sdes := "81ca0003 11223344 01034162 63000000"
	rr := "80c90001 11223344"
	for _, tc := range []struct {
		name string
		hex  string
		want error
	}{
		{"empty", "", ErrTooShort},
		{"SDES first", sdes + rr, ErrBadFirstPacket},
		{"APP first", "80cc0003 01020304 50494e47 504f4e47", ErrBadFirstPacket},
		{"bad version in second", rr + "41ca0003 11223344 01034162 63000000", ErrBadVersion},
		{"padding on first", "a0c90002 11223344 00000004" + sdes, ErrBadPadding},
		{"padding on last", rr + "a1ca0004 11223344 01034162 63000000 00000004", nil},
		{"padding count 0", rr + "a1ca0004 11223344 01034162 63000000 00000000", ErrBadPadding},
		{"padding count too big", rr + "a1ca0004 11223344 01034162 63000000 00000011", ErrBadPadding},
		{"length past end", "80c90002 11223344", ErrBadLength},
		{"trailing garbage", rr + sdes + "00", ErrTooShort},
		{"trailing header", rr + sdes + "80c90001", ErrBadLength},
		{"RC beyond length", "81c90001 11223344" + sdes, ErrBadLength},
		{"second RR skipped", rr + sdes + rr, nil},
	} {
		var c Compound
		err := c.Unmarshal(mustHex(t, tc.hex))
		if !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
}

// TestTruncatedEverywhere cuts every seed at every octet: each prefix must
// fail cleanly (no panic) unless it happens to be a whole compound packet.
func TestTruncatedEverywhere(t *testing.T) {
	var c Compound
	for _, seed := range seedPackets {
		full := mustHex(t, seed.hex)
		boundaries := map[int]bool{}
		for rest := full; len(rest) > 0; {
			_, _, next, err := NextPacket(rest)
			if err != nil {
				t.Fatal(err)
			}
			rest = next
			boundaries[len(full)-len(rest)] = true
		}
		for n := range len(full) {
			err := c.Unmarshal(full[:n])
			if boundaries[n] {
				if err != nil {
					t.Errorf("%s cut at packet boundary %d: %v", seed.name, n, err)
				}
				continue
			}
			if err == nil {
				t.Errorf("%s cut at %d of %d: no error", seed.name, n, len(full))
			}
		}
	}
}

// TestEveryLengthField rewrites the length field of each packet of each
// seed to every value up to 63 words. Nothing may panic, and a length that
// reaches past the datagram must be ErrBadLength.
func TestEveryLengthField(t *testing.T) {
	var c Compound
	for _, seed := range seedPackets {
		full := mustHex(t, seed.hex)
		for off := 0; off < len(full); {
			h, pkt, _, err := NextPacket(full[off:])
			if err != nil {
				t.Fatal(err)
			}
			for l := range 64 {
				mod := bytes.Clone(full)
				mod[off+2], mod[off+3] = 0, byte(l)
				err := c.Unmarshal(mod)
				if off+4*(l+1) > len(full) && !errors.Is(err, ErrBadLength) {
					t.Errorf("%s: length %d (was %d) at %d: %v, want ErrBadLength", seed.name, l, h.Length, off, err)
				}
			}
			off += len(pkt)
		}
	}
}

// TestFuzzCorpus checks the hand-made entries of testdata/fuzz/FuzzUnmarshal
// fail for the reason their names give (go test also runs them through
// FuzzUnmarshal).
func TestFuzzCorpus(t *testing.T) {
	want := map[string]error{
		"baresip_sr_sdes":      nil,
		"baresip_bye_sdes":     nil,
		"baresip_app_only":     ErrBadFirstPacket,
		"sr_truncated_block":   ErrBadLength,
		"sr_rc31_short":        ErrBadLength,
		"padding_not_last":     ErrBadPadding,
		"padding_zero":         ErrBadPadding,
		"sdes_item_overrun":    ErrBadSDES,
		"sdes_no_terminator":   ErrBadSDES,
		"bye_reason_overrun":   ErrBadLength,
		"length_past_end":      ErrBadLength,
		"version1":             ErrBadVersion,
		"rr_then_garbage_tail": ErrTooShort,
	}
	var c Compound
	for name, wantErr := range want {
		raw, err := os.ReadFile(filepath.Join("testdata", "fuzz", "FuzzUnmarshal", name))
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
		quoted := strings.TrimSuffix(strings.TrimPrefix(lines[len(lines)-1], "[]byte("), ")")
		data, err := strconv.Unquote(quoted)
		if len(lines) != 2 || err != nil {
			t.Fatalf("%s: not a corpus file: %v", name, err)
		}
		if err := c.Unmarshal([]byte(data)); !errors.Is(err, wantErr) || (wantErr == nil && err != nil) {
			t.Errorf("%s: %v, want %v", name, err, wantErr)
		}
	}
}
