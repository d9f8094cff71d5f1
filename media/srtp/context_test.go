package srtp

import (
	"bytes"
	"crypto/aes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	pionrtcp "github.com/pion/rtcp"
	pionrtp "github.com/pion/rtp"
	pion "github.com/pion/srtp/v3"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// RFC 3711 Appendix B.3: key derivation.
func TestKeyDerivationRFC3711B3(t *testing.T) {
	master, err := aes.NewCipher(unhex(t, "E1F97A0D3E018BE0D64FA32C06DE4139"))
	if err != nil {
		t.Fatal(err)
	}
	var salt [SaltLen]byte
	copy(salt[:], unhex(t, "0EC675AD498AFEEBB6960B3AABE6"))
	for _, tc := range []struct {
		label byte
		want  string
	}{
		{labelRTPKey, "C61E7A93744F39EE10734AFE3FF7A087"},
		{labelRTPSalt, "30CBBC08863D8C85D49DB34A9AE1"},
		{labelRTPAuth, "CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4"},
	} {
		want := unhex(t, tc.want)
		got := make([]byte, len(want))
		derive(master, &salt, tc.label, got)
		if !bytes.Equal(got, want) {
			t.Errorf("label %d: got %X, want %X", tc.label, got, want)
		}
	}
}

// RFC 3711 Appendix B.2: the AES-CM keystream for session key 2B7E…, salt F0F1…FD,
// SSRC 0 and index 0, including the counter blocks at 0xFEFF to 0xFF01.
func TestKeystreamRFC3711B2(t *testing.T) {
	b, err := aes.NewCipher(unhex(t, "2B7E151628AED2A6ABF7158809CF4F3C"))
	if err != nil {
		t.Fatal(err)
	}
	h := &half{block: b}
	copy(h.salt[:], unhex(t, "F0F1F2F3F4F5F6F7F8F9FAFBFCFD"))
	ks := make([]byte, 0xFF02*aes.BlockSize)
	h.xorKeystream(ks, 0, 0)
	want := map[int]string{
		0x0000: "E03EAD0935C95E80E166B16DD92B4EB4",
		0x0001: "D23513162B02D0F72A43A2FE4A5F97AB",
		0x0002: "41E95B3BB0A2E8DD477901E4FCA894C0",
		0xFEFF: "EC8CDF7398607CB0F2D21675EA9EA1E4",
		0xFF00: "362B7C3C6773516318A077D7FC5073AE",
		0xFF01: "6A2CC3787889374FBEB4C81B17BA6C44",
	}
	for blk, w := range want {
		got := ks[blk*aes.BlockSize : (blk+1)*aes.BlockSize]
		if !bytes.Equal(got, unhex(t, w)) {
			t.Errorf("block %04X: got %X, want %s", blk, got, w)
		}
	}
}

func testKeying(t testing.TB, suite Suite) Keying {
	t.Helper()
	k, err := ParseInline(suite, "WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz")
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func rtpPacket(seq uint16, ts uint32, payload byte, size int) []byte {
	p := pionrtp.Packet{
		Header:  pionrtp.Header{Version: 2, PayloadType: 0, SequenceNumber: seq, Timestamp: ts, SSRC: 0x11223344},
		Payload: bytes.Repeat([]byte{payload}, size),
	}
	b, _ := p.Marshal()
	return b
}

func pionContext(t testing.TB, k Keying) *pion.Context {
	t.Helper()
	prof := pion.ProtectionProfileAes128CmHmacSha1_80
	if k.Suite == AES_CM_128_HMAC_SHA1_32 {
		prof = pion.ProtectionProfileAes128CmHmacSha1_32
	}
	c, err := pion.CreateContext(k.Key[:], k.Salt[:], prof)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Interoperability with pion/srtp, an independent implementation: what one protects
// the other unprotects, for both suites, across a sequence number wrap (ROC 0 → 1).
func TestInteropPion(t *testing.T) {
	for _, suite := range Suites {
		t.Run(suite.String(), func(t *testing.T) {
			k := testKeying(t, suite)
			ours, err := NewContext(k)
			if err != nil {
				t.Fatal(err)
			}
			ourRx, _ := NewContext(k)
			theirs, theirRx := pionContext(t, k), pionContext(t, k)
			buf := make([]byte, 1500)
			for i := 0; i < 40; i++ {
				seq := uint16(65520 + i) // wraps after 16 packets
				plain := rtpPacket(seq, uint32(i*160), byte(i), 160)
				// ours → pion
				n := copy(buf, plain)
				n, err := ours.ProtectRTP(buf, n)
				if err != nil {
					t.Fatal(err)
				}
				want, err := theirs.EncryptRTP(nil, plain, nil)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(buf[:n], want) {
					t.Fatalf("seq %d: our SRTP differs from pion's", seq)
				}
				got, err := theirRx.DecryptRTP(nil, buf[:n], nil)
				if err != nil || !bytes.Equal(got, plain) {
					t.Fatalf("seq %d: pion cannot decrypt ours: %v", seq, err)
				}
				// pion → ours
				n = copy(buf, want)
				n, err = ourRx.UnprotectRTP(buf[:n])
				if err != nil || !bytes.Equal(buf[:n], plain) {
					t.Fatalf("seq %d: cannot decrypt pion's: %v", seq, err)
				}
			}
			// SRTCP both ways.
			for i := 0; i < 3; i++ {
				rr := &pionrtcp.ReceiverReport{SSRC: 0x11223344, Reports: []pionrtcp.ReceptionReport{{SSRC: 7, LastSequenceNumber: uint32(i)}}}
				plain, _ := rr.Marshal()
				n := copy(buf, plain)
				n, err := ours.ProtectRTCP(buf, n)
				if err != nil {
					t.Fatal(err)
				}
				want, err := theirs.EncryptRTCP(nil, plain, nil)
				if err != nil {
					t.Fatal(err)
				}
				// pion numbers SRTCP from 1, RFC 3711 §3.4 from 0: the packets
				// differ, so each side decrypting the other's is the check.
				got, err := theirRx.DecryptRTCP(nil, buf[:n], nil)
				if err != nil || !bytes.Equal(got, plain) {
					t.Fatalf("SRTCP %d: pion cannot decrypt ours: %v", i, err)
				}
				n = copy(buf, want)
				n, err = ourRx.UnprotectRTCP(buf[:n])
				if err != nil || !bytes.Equal(buf[:n], plain) {
					t.Fatalf("SRTCP %d: cannot decrypt pion's: %v", i, err)
				}
			}
		})
	}
}

func TestTamperReplayAndWrongKey(t *testing.T) {
	k := testKeying(t, AES_CM_128_HMAC_SHA1_80)
	tx, _ := NewContext(k)
	rx, _ := NewContext(k)
	other, _ := NewKeying(AES_CM_128_HMAC_SHA1_80)
	wrong, _ := NewContext(other)
	buf := make([]byte, 1500)
	n := copy(buf, rtpPacket(1, 0, 1, 160))
	n, err := tx.ProtectRTP(buf, n)
	if err != nil {
		t.Fatal(err)
	}
	pkt := append([]byte(nil), buf[:n]...)

	if _, err := wrong.UnprotectRTP(append([]byte(nil), pkt...)); !errors.Is(err, ErrAuth) {
		t.Errorf("wrong key: %v, want ErrAuth", err)
	}
	bad := append([]byte(nil), pkt...)
	bad[20] ^= 1
	if _, err := rx.UnprotectRTP(bad); !errors.Is(err, ErrAuth) {
		t.Errorf("tampered: %v, want ErrAuth", err)
	}
	if _, err := rx.UnprotectRTP(pkt[:10]); !errors.Is(err, ErrShort) {
		t.Errorf("short: %v, want ErrShort", err)
	}
	if _, err := rx.UnprotectRTP(append([]byte(nil), pkt...)); err != nil {
		t.Fatalf("genuine after tampered copy: %v", err)
	}
	if _, err := rx.UnprotectRTP(append([]byte(nil), pkt...)); !errors.Is(err, ErrReplay) {
		t.Errorf("replay: %v, want ErrReplay", err)
	}
	// Out of order within the window is fine; far behind is a replay.
	var late []byte
	for seq := uint16(2); seq < 100; seq++ {
		n := copy(buf, rtpPacket(seq, 0, 1, 20))
		n, _ = tx.ProtectRTP(buf, n)
		if seq == 50 {
			late = append([]byte(nil), buf[:n]...)
			continue
		}
		if _, err := rx.UnprotectRTP(buf[:n]); err != nil {
			t.Fatalf("seq %d: %v", seq, err)
		}
	}
	if _, err := rx.UnprotectRTP(late); err != nil {
		t.Errorf("reordered packet 49 behind: %v", err)
	}
	// SRTCP tamper and replay.
	rr := &pionrtcp.ReceiverReport{SSRC: 9}
	plain, _ := rr.Marshal()
	n = copy(buf, plain)
	n, _ = tx.ProtectRTCP(buf, n)
	pkt = append([]byte(nil), buf[:n]...)
	bad = append([]byte(nil), pkt...)
	bad[len(bad)-1] ^= 1
	if _, err := rx.UnprotectRTCP(bad); !errors.Is(err, ErrAuth) {
		t.Errorf("tampered SRTCP: %v", err)
	}
	if _, err := rx.UnprotectRTCP(append([]byte(nil), pkt...)); err != nil {
		t.Errorf("SRTCP: %v", err)
	}
	if _, err := rx.UnprotectRTCP(pkt); !errors.Is(err, ErrReplay) {
		t.Errorf("SRTCP replay: %v", err)
	}
}

func TestKeyingRedactedAndInline(t *testing.T) {
	k, err := NewKeying(AES_CM_128_HMAC_SHA1_32)
	if err != nil {
		t.Fatal(err)
	}
	in := k.Inline()
	if len(in) != 40 {
		t.Errorf("inline %d chars, want 40", len(in))
	}
	back, err := ParseInline(k.Suite, in)
	if err != nil || back != k {
		t.Errorf("round trip: %v", err)
	}
	if _, err := ParseInline(k.Suite, strings.TrimRight(in, "=")); err != nil {
		t.Errorf("unpadded: %v", err)
	}
	for _, s := range []string{k.String(), k.LogValue().String(), k.GoString()} {
		if strings.Contains(s, in[:8]) || !strings.Contains(s, "redacted") {
			t.Errorf("keying printed as %q", s)
		}
	}
	if _, err := ParseInline(k.Suite, "c2hvcnQ="); !errors.Is(err, ErrKeying) {
		t.Errorf("short key: %v", err)
	}
}

func TestAllocs(t *testing.T) {
	k := testKeying(t, AES_CM_128_HMAC_SHA1_80)
	tx, _ := NewContext(k)
	rx, _ := NewContext(k)
	buf := make([]byte, 1500)
	plain := rtpPacket(1, 0, 1, 160)
	seq := uint16(0)
	allocs := testing.AllocsPerRun(100, func() {
		seq++
		n := copy(buf, plain)
		buf[2], buf[3] = byte(seq>>8), byte(seq)
		n, _ = tx.ProtectRTP(buf, n)
		if _, err := rx.UnprotectRTP(buf[:n]); err != nil {
			t.Fatal(err)
		}
		n, _ = tx.ProtectRTCP(buf[:1500], 40)
		if _, err := rx.UnprotectRTCP(buf[:n]); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per packet, want 0", allocs)
	}
}

func BenchmarkProtectRTP(b *testing.B) {
	tx, _ := NewContext(testKeying(b, AES_CM_128_HMAC_SHA1_80))
	buf := make([]byte, 1500)
	plain := rtpPacket(1, 0, 1, 160) // G.711 20 ms
	b.ReportAllocs()
	b.SetBytes(int64(len(plain)))
	for i := 0; b.Loop(); i++ {
		n := copy(buf, plain)
		buf[2], buf[3] = byte(i>>8), byte(i)
		if _, err := tx.ProtectRTP(buf, n); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUnprotectRTP(b *testing.B) {
	k := testKeying(b, AES_CM_128_HMAC_SHA1_80)
	tx, _ := NewContext(k)
	rx, _ := NewContext(k)
	const count = 1 << 12
	pkts := make([][]byte, count)
	for i := range pkts {
		buf := make([]byte, 1500)
		n := copy(buf, rtpPacket(uint16(i), 0, 1, 160))
		n, _ = tx.ProtectRTP(buf, n)
		pkts[i] = buf[:n]
	}
	work := make([]byte, 1500)
	b.ReportAllocs()
	b.SetBytes(int64(len(pkts[0])))
	for i := 0; b.Loop(); i++ {
		if i%count == 0 && i > 0 {
			rx, _ = NewContext(k) // restart: the same indexes would be replays
		}
		p := pkts[i%count]
		n := copy(work, p)
		if _, err := rx.UnprotectRTP(work[:n]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPionEncryptRTP is the reference: pion/srtp's EncryptRTP on the same packet
// into a reused buffer.
func BenchmarkPionEncryptRTP(b *testing.B) {
	c := pionContext(b, testKeying(b, AES_CM_128_HMAC_SHA1_80))
	plain := rtpPacket(1, 0, 1, 160)
	dst := make([]byte, 0, 1500)
	b.ReportAllocs()
	b.SetBytes(int64(len(plain)))
	for i := 0; b.Loop(); i++ {
		plain[2], plain[3] = byte(i>>8), byte(i)
		if _, err := c.EncryptRTP(dst, plain, nil); err != nil {
			b.Fatal(err)
		}
	}
}
