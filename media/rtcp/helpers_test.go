package rtcp

import (
	"bufio"
	"encoding/hex"
	"os"
	"strconv"
	"strings"
	"testing"
)

// mustHex decodes a hex string, ignoring spaces, for readable packet literals.
func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

// captured is one datagram of testdata/baresip.txt.
type captured struct {
	at   float64 // seconds since the first packet
	port int     // UDP source port
	data []byte
}

// loadCapture reads testdata/baresip.txt: real RTCP from two baresip
// endpoints in a 20 s PCMU call.
func loadCapture(t testing.TB) []captured {
	t.Helper()
	f, err := os.Open("testdata/baresip.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []captured
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) != 3 {
			t.Fatalf("bad capture line %q", line)
		}
		at, err1 := strconv.ParseFloat(fields[0], 64)
		port, err2 := strconv.Atoi(fields[1])
		if err1 != nil || err2 != nil {
			t.Fatalf("bad capture line %q", line)
		}
		out = append(out, captured{at: at, port: port, data: mustHex(t, fields[2])})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// seedPackets are RTCP datagrams for tests and the fuzz corpus, constructed
// after what real endpoints send (see also testdata/baresip.txt).
var seedPackets = []struct {
	name string
	hex  string
}{
	// baresip 1.0 SR with one block and its SDES CNAME (captured).
	{"baresip SR+SDES", "81c8000c717c1f1feeadf8968179e16d00017fc2000000fa00009c40bad798680000000000005b6100000009f89680690000010681ca0007717c1f1f01147369703a61403132372e302e302e313a353137310000"},
	// baresip BYE first, then SDES (captured; tolerated, see Compound).
	{"baresip BYE+SDES", "81cb0003717c1f1f0441646a6f00000081ca0007717c1f1f01147369703a61403132372e302e302e313a353137310000"},
	// Asterisk-style: RR with one block (5 % loss, LSR/DLSR) and SDES
	// with a 16-octet hex CNAME.
	{"RR+SDES", "81c90007 2f4e1a5b 7e3b9c01 0c00001a 00010c35 00000023 e1a41c00 00012000 81ca0006 2f4e1a5b 0110 36633632 61373563 33653466 34313932 0000"},
	// An empty RR (no RTP received yet) with SDES, as sent at call start.
	{"empty RR+SDES", "80c90001 11223344 81ca0003 11223344 01034162 63000000"},
	// SR + SDES with NAME and TOOL items around the CNAME + BYE with no
	// reason, as a softphone hangs up.
	{"SR+SDES items+BYE", "80c80006 0a0b0c0d e1a41c52 8f5c28f5 0012d687 00000096 00005dc0 81ca0007 0a0b0c0d 0203426f62 0106616c69636540 06056261726573 00000000 81cb0001 0a0b0c0d"},
	// RR + APP (PINGPONG, baresip's keepalive) + RTPFB (generic NACK):
	// skipped types.
	{"RR+APP+NACK", "80c90001 01020304 80cc0003 01020304 50494e47 504f4e47 81cd0003 01020304 05060708 00100000"},
	// SR whose last packet (SDES) is padded, as SRTCP senders may.
	{"SR+padded SDES", "80c80006 01020304 e1a41c52 00000000 00000000 00000000 00000000 a1ca0004 01020304 01026869 00000000 00000004"},
}
