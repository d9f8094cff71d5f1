// Command pcapgen writes the RTP captures the SIPp load caller plays
// (testdata/sipp/load_caller.xml, SIPp's play_pcap_audio): a phrase spoken by
// espeak-ng and encoded with the project's own G.711 encoder, the silence a phone
// keeps sending while its user listens, and RFC 4733 telephone-event packets for
// DTMF digits. The captures are generated, not
// recorded, so anyone can rebuild them (make sipp-pcaps) and they hold exactly the
// audio `hotline loadtest` sends, which is what makes the two load sources
// comparable.
//
//	go run ./bench/pcapgen -text "check my balance" -out testdata/sipp/load_phrase_pcma.pcap
//	go run ./bench/pcapgen -digits 2 -out testdata/sipp/load_digit2.pcap
//	go run ./bench/pcapgen -silence 10s -out testdata/sipp/load_listen_pcma.pcap
//
// Each packet is Ethernet, IPv4 and UDP around RTP, 20 ms apart in the capture's
// timestamps (SIPp replays them at that pace and rewrites the addresses and ports).
package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/hotline-ivr/hotline/media/audio"
	"github.com/hotline-ivr/hotline/media/codec"
	"github.com/hotline-ivr/hotline/media/dtmf"
	"github.com/hotline-ivr/hotline/media/rtp"
)

const (
	sampleRate = 8000
	frame      = 160 // samples per 20 ms packet at 8 kHz
	ptime      = 20 * time.Millisecond
	// eventPT is the telephone-event payload type the SIPp scenario offers.
	eventPT = 101
)

// options say what to write.
type options struct {
	text, voice, codecName, digits, out string
	ssrc                                uint32
	seq                                 uint16
	ts                                  uint32
	digitLength, silence                time.Duration
}

func main() {
	var o options
	var ssrc uint
	var seq uint
	var ts uint
	flag.StringVar(&o.text, "text", "", "phrase espeak-ng speaks (G.711 audio packets)")
	flag.StringVar(&o.voice, "voice", "en-us", "espeak-ng voice")
	flag.StringVar(&o.codecName, "codec", "PCMA", "PCMA or PCMU")
	flag.StringVar(&o.digits, "digits", "", "DTMF digits to send as RFC 4733 events (payload type 101) instead of audio")
	flag.DurationVar(&o.silence, "silence", 0, "G.711 silence of this length instead of a phrase")
	flag.DurationVar(&o.digitLength, "digit-length", 100*time.Millisecond, "length of each digit; 100 ms of silence follow it")
	flag.UintVar(&ssrc, "ssrc", 0x484c4f41, "RTP SSRC")
	flag.UintVar(&seq, "seq", 1000, "first RTP sequence number")
	flag.UintVar(&ts, "ts", 160000, "first RTP timestamp")
	flag.StringVar(&o.out, "out", "", "pcap file to write")
	flag.Parse()
	o.ssrc, o.seq, o.ts = uint32(ssrc), uint16(seq), uint32(ts)
	if err := run(context.Background(), o); err != nil {
		fmt.Fprintln(os.Stderr, "pcapgen:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options) error {
	kinds := 0
	for _, set := range []bool{o.text != "", o.digits != "", o.silence > 0} {
		if set {
			kinds++
		}
	}
	if o.out == "" || kinds != 1 {
		return errors.New("need -out and exactly one of -text, -silence and -digits")
	}
	var pkts [][]byte
	var err error
	switch {
	case o.digits != "":
		pkts, err = digitPackets(o)
	default:
		pkts, err = audioPackets(ctx, o)
	}
	if err != nil {
		return err
	}
	var b bytes.Buffer
	writePcap(&b, pkts)
	if err := os.WriteFile(o.out, b.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", o.out, err)
	}
	fmt.Printf("%s: %d RTP packets, %v\n", o.out, len(pkts), time.Duration(len(pkts))*ptime)
	return nil
}

// audioPackets renders the phrase (or the silence) and packetizes it as G.711.
func audioPackets(ctx context.Context, o options) ([][]byte, error) {
	var pt uint8
	var encode func(dst []byte, src []int16) int
	switch strings.ToUpper(o.codecName) {
	case "PCMA":
		pt, encode = 8, codec.EncodeAlaw
	case "PCMU":
		pt, encode = 0, codec.EncodeMulaw
	default:
		return nil, fmt.Errorf("codec %q: want PCMA or PCMU", o.codecName)
	}
	pcm := make([]int16, int(o.silence/ptime)*frame)
	if o.text != "" {
		var err error
		if pcm, err = speak(ctx, o.voice, o.text); err != nil {
			return nil, err
		}
	}
	var out [][]byte
	buf := make([]int16, frame)
	for off, i := 0, 0; off < len(pcm); off, i = off+frame, i+1 {
		clear(buf)
		copy(buf, pcm[off:])
		h := rtp.Header{Version: 2, Marker: i == 0, PayloadType: pt, SequenceNumber: o.seq + uint16(i),
			Timestamp: o.ts + uint32(i*frame), SSRC: o.ssrc}
		pkt := make([]byte, rtp.HeaderSize+frame)
		if _, err := h.MarshalTo(pkt); err != nil {
			return nil, err
		}
		encode(pkt[rtp.HeaderSize:], buf)
		out = append(out, pkt)
	}
	return out, nil
}

// speak has espeak-ng say text into a WAV file and returns it at 8 kHz.
func speak(ctx context.Context, voice, text string) ([]int16, error) {
	bin, err := exec.LookPath("espeak-ng")
	if err != nil {
		return nil, fmt.Errorf("espeak-ng is needed (apt-get install espeak-ng): %w", err)
	}
	dir, err := os.MkdirTemp("", "pcapgen-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	wav := filepath.Join(dir, "phrase.wav")
	// -s 150 as hotline loadtest speaks, so both tools send the same audio.
	if out, err := exec.CommandContext(ctx, bin, "-v", voice, "-s", "150", "-w", wav, text).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("espeak-ng %q: %w: %s", text, err, strings.TrimSpace(string(out)))
	}
	f, err := os.Open(wav)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	pcm, rate, err := audio.ReadWAV(f)
	if err != nil {
		return nil, fmt.Errorf("read espeak-ng output: %w", err)
	}
	if rate != sampleRate {
		if pcm, err = audio.Resample(pcm, rate, sampleRate); err != nil {
			return nil, fmt.Errorf("resample %d Hz to %d Hz: %w", rate, sampleRate, err)
		}
	}
	return pcm, nil
}

// digitPackets writes each digit as RFC 4733 §2.5 sends it: one packet per 20 ms
// with the growing duration, the first with the marker bit, three end packets, all
// under the event's timestamp; digits are digit-length apart plus as much silence.
func digitPackets(o options) ([][]byte, error) {
	var out [][]byte
	seq, ts := o.seq, o.ts
	steps := int(o.digitLength / ptime)
	if steps < 1 {
		return nil, fmt.Errorf("digit length %v is under one packet", o.digitLength)
	}
	for _, d := range []byte(o.digits) {
		code, ok := dtmf.CodeFromDigit(d)
		if !ok {
			return nil, fmt.Errorf("%q is not a DTMF digit", d)
		}
		for i := 1; i <= steps+2; i++ {
			end := i >= steps
			dur := min(i, steps) * frame
			h := rtp.Header{Version: 2, Marker: i == 1, PayloadType: eventPT, SequenceNumber: seq, Timestamp: ts, SSRC: o.ssrc}
			seq++
			pkt := make([]byte, rtp.HeaderSize+dtmf.EventSize)
			if _, err := h.MarshalTo(pkt); err != nil {
				return nil, err
			}
			if _, err := (dtmf.Event{Code: code, End: end, Volume: 10, Duration: uint16(dur)}).MarshalTo(pkt[rtp.HeaderSize:]); err != nil {
				return nil, err
			}
			out = append(out, pkt)
		}
		ts += uint32(2 * steps * frame)
		// The pause between digits: nothing is sent, so pad the pacing with a gap
		// that writePcap sees as missing packets (nil).
		for range steps - 2 {
			out = append(out, nil)
		}
	}
	return out, nil
}

// writePcap writes pkts (RTP, nil for a 20 ms gap) as a classic pcap of Ethernet
// frames, one every 20 ms.
func writePcap(b *bytes.Buffer, pkts [][]byte) {
	le := binary.LittleEndian
	var hdr [24]byte
	le.PutUint32(hdr[0:], 0xa1b2c3d4)
	le.PutUint16(hdr[4:], 2)
	le.PutUint16(hdr[6:], 4)
	le.PutUint32(hdr[16:], 65535)
	le.PutUint32(hdr[20:], 1) // LINKTYPE_ETHERNET
	b.Write(hdr[:])
	src, dst := [4]byte{127, 0, 0, 1}, [4]byte{127, 0, 0, 1}
	for i, rtpPkt := range pkts {
		if rtpPkt == nil {
			continue
		}
		at := time.Duration(i) * ptime
		frameLen := 14 + 20 + 8 + len(rtpPkt)
		var rec [16]byte
		le.PutUint32(rec[0:], uint32(at/time.Second))
		le.PutUint32(rec[4:], uint32(at%time.Second/time.Microsecond))
		le.PutUint32(rec[8:], uint32(frameLen))
		le.PutUint32(rec[12:], uint32(frameLen))
		b.Write(rec[:])
		eth := make([]byte, 14)
		binary.BigEndian.PutUint16(eth[12:], 0x0800)
		b.Write(eth)
		ip := make([]byte, 20)
		ip[0] = 0x45
		binary.BigEndian.PutUint16(ip[2:], uint16(20+8+len(rtpPkt)))
		binary.BigEndian.PutUint16(ip[4:], uint16(i))
		ip[8], ip[9] = 64, 17 // TTL, UDP
		copy(ip[12:], src[:])
		copy(ip[16:], dst[:])
		binary.BigEndian.PutUint16(ip[10:], ipChecksum(ip))
		b.Write(ip)
		udp := make([]byte, 8)
		binary.BigEndian.PutUint16(udp[0:], 6000)
		binary.BigEndian.PutUint16(udp[2:], 6000)
		binary.BigEndian.PutUint16(udp[4:], uint16(8+len(rtpPkt)))
		b.Write(udp) // checksum 0: none (RFC 768)
		b.Write(rtpPkt)
	}
}

func ipChecksum(h []byte) uint16 {
	var sum uint32
	for i := 0; i+1 < len(h); i += 2 {
		sum += uint32(binary.BigEndian.Uint16(h[i:]))
	}
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}
