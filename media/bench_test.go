package media

import (
	"context"
	"math"
	"net/netip"
	"testing"
	"time"

	"github.com/hotline-ivr/hotline/media/codec"
	"github.com/hotline-ivr/hotline/media/dtmf"
	"github.com/hotline-ivr/hotline/media/rtcp"
	"github.com/hotline-ivr/hotline/media/rtp"
	"github.com/hotline-ivr/hotline/media/vad"
)

// Benchmarks of the per-call media path. Each reports ns per 20 ms frame (one op is one
// frame or one packet) and proves 0 allocs/op in steady state. Reproduce with:
//
//	go test -run='^$' -bench=. -benchmem ./media/
//
// BenchmarkCallTick is the whole cost of one call for 20 ms, both directions; the
// BenchmarkStage family splits it into its stages.

// loopTone plays a tone forever without allocating.
type loopTone struct {
	pcm []int16
	off int
}

func (l *loopTone) Read(frame []int16) (int, error) {
	for i := range frame {
		frame[i] = l.pcm[l.off]
		l.off = (l.off + 1) % len(l.pcm)
	}
	return len(frame), nil
}

// codecCase is one codec as the benchmarks and codec tests run it.
type codecCase struct {
	name string
	c    codec.Codec
	pt   uint8
}

var codecCases = []codecCase{
	{"pcmu", codec.PCMU, 0},
	{"g722", codec.G722, 9},
	{"opus", codec.Opus, 111},
}

// paramsFor is sendrecv c at 20 ms towards remote, telephone-event on 101.
func paramsFor(c codecCase, remote netip.AddrPort) Params {
	return Params{Codec: c.c, PayloadType: c.pt, DTMFPayloadType: 101, Remote: remote, Send: true, Recv: true}
}

// toneAt is a sine of freq Hz at amp, n samples at rate.
func toneAt(freq, amp float64, rate, n int) []int16 {
	out := make([]int16, n)
	for i := range out {
		out[i] = int16(amp * math.Sin(2*math.Pi*freq*float64(i)/float64(rate)))
	}
	return out
}

// encodedTone is frames 20 ms payloads of a 1 kHz tone (with a little speech-like
// modulation so Opus does not go DTX) coded with c, as a caller would send them.
func encodedTone(tb testing.TB, c codec.Codec, frames int) [][]byte {
	tb.Helper()
	enc, err := c.NewEncoder()
	if err != nil {
		tb.Fatal(err)
	}
	spf := c.SampleRate() / 50
	pcm := toneAt(1000, 8000, c.SampleRate(), spf*frames)
	out := make([][]byte, frames)
	buf := make([]byte, 1500)
	for i := range out {
		n, err := enc.Encode(buf, pcm[i*spf:(i+1)*spf])
		if err != nil {
			tb.Fatal(err)
		}
		out[i] = append([]byte(nil), buf[:n]...)
	}
	return out
}

// countSink counts frames without allocating.
type countSink struct{ frames, samples int }

func (c *countSink) WriteAudio(pcm []int16)             { c.frames++; c.samples += len(pcm) }
func (c *countSink) WriteStereo(caller, engine []int16) { c.frames++ }

// callRig is a started session on a hand-driven clock, sending to a peer that does not
// read (the kernel drops what overflows, as for a caller that went away), fed packets
// through handlePacket as the receive goroutine would.
type callRig struct {
	s       *Session
	p       *sessionParams
	from    netip.AddrPort
	st      *rxState
	payload [][]byte
	pkt     []byte
	seq     uint16
	ts      uint32
	now     time.Time
	i       int
	loss    int // drop every loss-th packet (0: none)
	done    chan error
}

type rigOptions struct {
	play, vad, sinks, recvOnly bool
	cfg                        Config
}

func newCallRig(tb testing.TB, c codecCase, o rigOptions) *callRig {
	tb.Helper()
	e, _ := newTestEngine(tb, o.cfg, withManualClock())
	s, err := e.NewSession(nil)
	if err != nil {
		tb.Fatal(err)
	}
	pr := newPeer(tb, "127.0.0.1")
	p := paramsFor(c, pr.addr)
	p.Send = !o.recvOnly
	if err := s.Configure(p); err != nil {
		tb.Fatal(err)
	}
	if o.vad {
		if err := s.EnableVAD(vad.Config{}); err != nil {
			tb.Fatal(err)
		}
	}
	if o.sinks {
		s.AddSink(&countSink{})
		s.AddStereoSink(&countSink{})
	}
	s.Start()
	r := &callRig{s: s, p: s.params.Load(), from: pr.addr, st: newRxState(), payload: encodedTone(tb, c.c, 50),
		pkt: make([]byte, 1500), seq: 1, ts: 1000, now: time.Now(), done: make(chan error, 1)}
	if o.play {
		src := &loopTone{pcm: toneAt(440, 6000, c.c.SampleRate(), c.c.SampleRate())}
		go func() { r.done <- s.Play(context.Background(), src) }()
		waitPlaying(tb, s, src)
	}
	tb.Cleanup(func() {
		_ = s.Close()
		if o.play {
			<-r.done
		}
	})
	// Warm up: the first frames make the encoder, start the talkspurt, fill the VAD's
	// noise model and grow buffers to their steady size.
	for range 200 {
		r.call()
	}
	return r
}

// packet builds the next packet of the caller's stream in r.pkt.
func (r *callRig) packet() []byte {
	h := rtp.Header{PayloadType: r.p.PayloadType, SequenceNumber: r.seq, Timestamp: r.ts, SSRC: 0xCA11}
	_, _ = h.MarshalTo(r.pkt)
	pl := r.payload[r.i%len(r.payload)]
	n := copy(r.pkt[rtp.HeaderSize:], pl)
	r.i++
	r.seq++
	r.ts += r.p.tsPerFrame
	return r.pkt[:rtp.HeaderSize+n]
}

// receive hands the next caller packet to the receive path (unless it is one the
// simulated network loses).
func (r *callRig) receive() {
	pk := r.packet()
	if r.loss > 0 && r.i%r.loss == 0 {
		return
	}
	r.s.handlePacket(pk, r.from, r.now, r.st)
}

// call is 20 ms of a call: one packet in, one clock tick (a frame out, a frame played).
func (r *callRig) call() {
	r.now = r.now.Add(20 * time.Millisecond)
	r.receive()
	r.s.tick(r.now)
}

// BenchmarkCallTick is one 20 ms tick of a whole call, both directions: a packet from
// the caller parsed, checked and pushed into the jitter buffer; a prompt frame read,
// encoded and sent; a frame of the caller popped, decoded (concealed when lost), fed to
// the VAD, the in-band DTMF detector, a sink and a stereo sink.
func BenchmarkCallTick(b *testing.B) {
	for _, c := range codecCases {
		for _, loss := range []int{0, 20} {
			name := c.name
			if loss > 0 {
				name += "/loss5pct"
			}
			b.Run(name, func(b *testing.B) {
				r := newCallRig(b, c, rigOptions{play: true, vad: true, sinks: true,
					cfg: Config{InbandDTMF: InbandDTMFAlways}})
				r.loss = loss
				b.ReportAllocs()
				for b.Loop() {
					r.call()
				}
			})
		}
	}
}

// BenchmarkPlayout is the receive side alone: the caller's packet into the jitter buffer
// and one tick that plays it out to the detectors and sinks, with nothing to send
// (recvonly). With loss, every 20th packet is concealed.
func BenchmarkPlayout(b *testing.B) {
	for _, c := range codecCases {
		for _, loss := range []int{0, 20} {
			name := c.name
			if loss > 0 {
				name += "/loss5pct"
			}
			b.Run(name, func(b *testing.B) {
				r := newCallRig(b, c, rigOptions{vad: true, sinks: true, recvOnly: true,
					cfg: Config{InbandDTMF: InbandDTMFAlways}})
				r.loss = loss
				b.ReportAllocs()
				for b.Loop() {
					r.call()
				}
			})
		}
	}
}

// BenchmarkSendPath is one frame of the outgoing stream: read the source, encode,
// write the RTP header, WriteToUDPAddrPort, count; nothing is received (the playout
// side plays silence).
func BenchmarkSendPath(b *testing.B) {
	for _, c := range codecCases {
		for _, play := range []bool{false, true} {
			name := c.name + "/silence"
			if play {
				name = c.name + "/playing"
			}
			b.Run(name, func(b *testing.B) {
				r := newCallRig(b, c, rigOptions{play: play})
				b.ReportAllocs()
				for b.Loop() {
					r.now = r.now.Add(20 * time.Millisecond)
					r.s.tick(r.now)
				}
			})
		}
	}
}

// BenchmarkStage times each stage of a call-tick alone, on the objects a session uses,
// so the README can say where the time goes. ns/op is ns per 20 ms frame.
func BenchmarkStage(b *testing.B) {
	for _, c := range codecCases {
		b.Run(c.name, func(b *testing.B) {
			r := newCallRig(b, c, rigOptions{vad: true, cfg: Config{InbandDTMF: InbandDTMFAlways}})
			pl := r.p.play
			spf := r.p.samplesPerFrame
			pcm := toneAt(1000, 8000, c.c.SampleRate(), spf)
			out := make([]int16, pl.maxDec)
			b.Run("receive+jitter", func(b *testing.B) {
				// Parse, latch check, RFC 3550 statistics, jitter Push, plus the Pop
				// that keeps the buffer in steady state.
				b.ReportAllocs()
				for b.Loop() {
					r.now = r.now.Add(20 * time.Millisecond)
					r.receive()
					pl.jb.Pop(r.now)
				}
			})
			b.Run("decode", func(b *testing.B) {
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					if _, err := pl.dec.Decode(out, r.payload[i%len(r.payload)]); err != nil {
						b.Fatal(err)
					}
					i++
				}
			})
			b.Run("loss", func(b *testing.B) {
				// One lost frame right after a good one, the usual 5 % loss pattern
				// (a long loss fades to silence and costs less): G.711 Appendix I's
				// history update (Good) plus its concealment, or for Opus the good
				// frame's decode plus the lost frame's recovery from the next
				// packet's in-band FEC.
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					pkt, next := r.payload[i%len(r.payload)], r.payload[(i+1)%len(r.payload)]
					if pl.plc != nil {
						pl.plc.Good(pcm)
						next = nil
					} else if _, err := pl.dec.Decode(out, pkt); err != nil {
						b.Fatal(err)
					}
					pl.decUsed = true
					pl.lose(r.s, out[:spf], next)
					i++
				}
			})
			b.Run("vad", func(b *testing.B) {
				b.ReportAllocs()
				d := r.s.vad
				fl := d.FrameLen()
				for b.Loop() {
					for off := 0; off+fl <= spf; off += fl {
						d.Process(pcm[off : off+fl])
					}
				}
			})
			b.Run("inband_dtmf", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					pl.inband.Process(pcm)
				}
			})
			b.Run("sinks", func(b *testing.B) {
				r.s.AddSink(&countSink{})
				r.s.AddStereoSink(&countSink{})
				b.ReportAllocs()
				for b.Loop() {
					for _, e := range *r.s.sinks.Load() {
						e.v.WriteAudio(pcm)
					}
					for _, e := range *r.s.stereo.Load() {
						e.v.WriteStereo(pcm, pcm)
					}
				}
			})
			b.Run("encode", func(b *testing.B) {
				b.ReportAllocs()
				buf := make([]byte, 1500)
				for b.Loop() {
					if _, err := r.p.enc.Encode(buf, pcm); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("packetize+send", func(b *testing.B) {
				plen := len(r.payload[0])
				b.ReportAllocs()
				r.s.sendMu.Lock()
				defer r.s.sendMu.Unlock()
				for b.Loop() {
					r.s.writeRTP(r.p, r.s.pkt, r.p.PayloadType, false, r.s.ts, r.s.ts, plen, r.now)
				}
			})
		})
	}
}

// BenchmarkRTCP is one report built and sent (SR with a block, SDES; every few seconds
// per call), and one report from the caller parsed and accounted.
func BenchmarkRTCP(b *testing.B) {
	r := newCallRig(b, codecCases[0], rigOptions{})
	b.Run("send_report", func(b *testing.B) {
		b.ReportAllocs()
		r.s.sendMu.Lock()
		defer r.s.sendMu.Unlock()
		for b.Loop() {
			r.s.sendReport(r.p, r.now, false)
		}
	})
	b.Run("receive_report", func(b *testing.B) {
		pkt := peerReport(b, r.s.ssrc)
		var in rtcp.Compound
		b.ReportAllocs()
		for b.Loop() {
			r.s.handleRTCP(pkt, r.from, r.now, &in, true)
		}
	})
}

// peerReport is a caller's SR with a block about ours and an SDES.
func peerReport(tb testing.TB, ours uint32) []byte {
	tb.Helper()
	var c rtcp.Compound
	c.Report = rtcp.TypeSenderReport
	c.SenderReport = rtcp.SenderReport{SSRC: 0xCA11, NTPTime: rtcp.NTPTime(time.Now()), PacketCount: 50, OctetCount: 8000}
	if err := c.SenderReport.AddReport(rtcp.ReceptionReport{SSRC: ours, LastSequence: 100}); err != nil {
		tb.Fatal(err)
	}
	c.HasSDES = true
	c.SourceDescription.ChunkCount = 1
	c.SourceDescription.Chunks[0] = rtcp.SDESChunk{Source: 0xCA11, CNAME: []byte("caller@example")}
	buf := make([]byte, 1500)
	n, err := c.MarshalTo(buf)
	if err != nil {
		tb.Fatal(err)
	}
	return buf[:n]
}

// recvRig is a configured session and a way to feed handlePacket directly, as the
// receive goroutine does.
func recvRig(tb testing.TB) (*Session, netip.AddrPort, *rxState) {
	e, _ := newTestEngine(tb, Config{}, withManualClock())
	s, err := e.NewSession(nil)
	if err != nil {
		tb.Fatal(err)
	}
	from := netip.MustParseAddrPort("127.0.0.1:40000")
	if err := s.Configure(pcmu(from)); err != nil {
		tb.Fatal(err)
	}
	return s, from, newRxState()
}

// BenchmarkReceivePath is one received packet: parse the header, check the source
// against the latch policy, then push audio into the jitter buffer (popped once per
// packet, as the clock would) or turn telephone-events into digits.
func BenchmarkReceivePath(b *testing.B) {
	b.Run("audio", func(b *testing.B) {
		s, from, rx := recvRig(b)
		defer s.Close()
		pkt := buildRTP(rtp.Header{PayloadType: 0, SequenceNumber: 1, Timestamp: 1, SSRC: 7}, silentFrame)
		jb := s.params.Load().play.jb
		now := time.Now()
		var seq uint16
		var ts uint32
		b.ReportAllocs()
		for b.Loop() {
			seq++
			ts += 160
			now = now.Add(20 * time.Millisecond)
			pkt[2], pkt[3] = byte(seq>>8), byte(seq)
			pkt[4], pkt[5], pkt[6], pkt[7] = byte(ts>>24), byte(ts>>16), byte(ts>>8), byte(ts)
			s.handlePacket(pkt, from, now, rx)
			jb.Pop(now)
		}
		if s.Stats().PacketsReceived == 0 {
			b.Fatal("nothing accepted")
		}
	})
	b.Run("dtmf", func(b *testing.B) {
		s, from, rx := recvRig(b)
		defer s.Close()
		pkts := dtmfPackets(b)
		now := time.Now()
		var ts uint32
		i := 0
		b.ReportAllocs()
		for b.Loop() {
			pk := pkts[i]
			// Each key press a new event (new timestamp), digits pile up in the
			// flow's buffer and then count as dropped: both without allocating.
			pk[4], pk[5], pk[6], pk[7] = byte(ts>>24), byte(ts>>16), byte(ts>>8), byte(ts)
			s.handlePacket(pk, from, now, rx)
			if i++; i == len(pkts) {
				i = 0
				ts += 1600
				now = now.Add(time.Second) // beyond the merge window: a new press
			}
		}
	})
	b.Run("foreign", func(b *testing.B) {
		s, _, rx := recvRig(b)
		defer s.Close()
		pkt := buildRTP(rtp.Header{PayloadType: 0, SSRC: 7}, silentFrame)
		stranger := netip.MustParseAddrPort("127.0.0.2:40000")
		now := time.Now()
		b.ReportAllocs()
		for b.Loop() {
			s.handlePacket(pkt, stranger, now, rx)
		}
	})
}

// dtmfPackets is one 100 ms key press as dtmf.Sender makes it: 4 updates, 3 ends.
func dtmfPackets(tb testing.TB) [][]byte {
	var snd dtmf.Sender
	if err := snd.Start('5', 100*time.Millisecond, 8000, 20); err != nil {
		tb.Fatal(err)
	}
	var out [][]byte
	buf := make([]byte, dtmf.EventSize)
	for seq := uint16(0); ; seq++ {
		n, marker, done := snd.Next(buf)
		out = append(out, buildRTP(rtp.Header{PayloadType: 101, Marker: marker, SequenceNumber: seq, SSRC: 9}, buf[:n]))
		if done {
			return out
		}
	}
}

// BenchmarkReceiveLoop sends real datagrams over loopback to a session and waits until
// its receive goroutine accepted them all: the whole receive path, socket included.
func BenchmarkReceiveLoop(b *testing.B) {
	e, _ := newTestEngine(b, Config{}, withManualClock())
	pr := newPeer(b, "127.0.0.1")
	s, err := e.NewSession(nil)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if err := s.Configure(pcmu(pr.addr)); err != nil {
		b.Fatal(err)
	}
	pkt := buildRTP(rtp.Header{PayloadType: 0, SSRC: 7}, silentFrame)
	to := s.LocalAddr()
	b.ReportAllocs()
	var n uint64
	for b.Loop() {
		n++
		pkt[2], pkt[3] = byte(n>>8), byte(n)
		if _, err := pr.conn.WriteToUDPAddrPort(pkt, to); err != nil {
			b.Fatal(err)
		}
		// Stay within the socket buffer: wait for the loop every 64 packets.
		if n%64 == 0 {
			for s.Stats().PacketsReceived+s.Stats().Garbage < n {
				time.Sleep(10 * time.Microsecond)
			}
		}
	}
}

// TestPacketPathsDoNotAllocate keeps the benchmarks' promise in the ordinary test run:
// for every codec, a whole call-tick (with and without loss), the send path, the
// receive path and RTCP reports allocate nothing in steady state.
func TestPacketPathsDoNotAllocate(t *testing.T) {
	for _, c := range codecCases {
		for _, loss := range []int{0, 20} {
			r := newCallRig(t, c, rigOptions{play: true, vad: true, sinks: true,
				cfg: Config{InbandDTMF: InbandDTMFAlways}})
			r.loss = loss
			if n := testing.AllocsPerRun(300, r.call); n != 0 {
				t.Errorf("%s call tick (loss 1/%d): %v allocations per frame", c.name, loss, n)
			}
			if c.name == "pcmu" && loss == 0 {
				if n := testing.AllocsPerRun(50, func() {
					r.s.sendMu.Lock()
					r.s.sendReport(r.p, r.now, false)
					r.s.sendMu.Unlock()
				}); n != 0 {
					t.Errorf("RTCP report: %v allocations", n)
				}
				pkt := peerReport(t, r.s.ssrc)
				var in rtcp.Compound
				if n := testing.AllocsPerRun(50, func() { r.s.handleRTCP(pkt, r.from, r.now, &in, true) }); n != 0 {
					t.Errorf("RTCP receive: %v allocations", n)
				}
			}
		}
	}
	s, from, rx := recvRig(t)
	defer s.Close()
	pkts := dtmfPackets(t)
	now := time.Now()
	i := 0
	var ts uint32
	if n := testing.AllocsPerRun(500, func() {
		pk := pkts[i]
		pk[4], pk[5], pk[6], pk[7] = byte(ts>>24), byte(ts>>16), byte(ts>>8), byte(ts)
		s.handlePacket(pk, from, now, rx)
		if i++; i == len(pkts) {
			i, ts = 0, ts+1600
			now = now.Add(time.Second)
		}
	}); n != 0 {
		t.Errorf("receive path, dtmf: %v allocations per packet", n)
	}
}

// BenchmarkDigit delivers one digit to the flow (SIP INFO route, shared with RFC 4733):
// no allocation even though a debug log line is written when debug is on.
func BenchmarkDigit(b *testing.B) {
	s, _, _ := recvRig(b)
	defer s.Close()
	b.ReportAllocs()
	for b.Loop() {
		s.InjectDigit('5')
		<-s.Digits()
	}
}
