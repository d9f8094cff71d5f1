//go:build linux

package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hotline-ivr/hotline/media/audio"
	"github.com/hotline-ivr/hotline/media/codec"
	"github.com/hotline-ivr/hotline/media/rtp"
)

// sniffer captures the UDP datagrams sent to one port on the loopback interface, the
// way tshark would: an AF_PACKET socket (SOCK_DGRAM, so it reads IP packets), a
// classic BPF filter for the port so other tests' traffic stays in the kernel, and
// kernel receive timestamps. Loopback shows every packet twice, outgoing and incoming;
// only the incoming copy (PACKET_HOST) is kept. It needs root (CAP_NET_RAW).
type sniffer struct {
	fd   int
	port int

	mu   sync.Mutex
	pkts []capturedPacket
	err  error

	stopOnce sync.Once
	stop     chan struct{}
	done     chan struct{}
}

// capturedPacket is one UDP datagram as it crossed the wire.
type capturedPacket struct {
	at       time.Time // kernel receive time
	src, dst netip.AddrPort
	payload  []byte
}

const (
	ethPIP          = 0x0800
	sniffBuffer     = 4 << 20 // default UDP buffers dropped most of a 2,000-datagram burst here
	sniffReadTimout = 100 * time.Millisecond
)

// startSniffer captures datagrams to dstPort on lo until the test ends (or stop).
func startSniffer(t testing.TB, dstPort int) *sniffer {
	t.Helper()
	requireE2E(t)
	lo, err := net.InterfaceByName("lo")
	if err != nil {
		t.Fatalf("sniffer: loopback interface: %v", err)
	}
	// Protocol 0: the socket receives nothing until bind, so the filter is in place
	// before the first packet.
	fd, err := syscall.Socket(syscall.AF_PACKET, syscall.SOCK_DGRAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("sniffer: AF_PACKET socket (needs root): %v", err)
	}
	fail := func(what string, err error) {
		syscall.Close(fd)
		t.Fatalf("sniffer: %s: %v", what, err)
	}
	if err := syscall.AttachLsf(fd, udpDstPortFilter(uint16(dstPort))); err != nil {
		fail("attach BPF filter", err)
	}
	if err := syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_RCVBUFFORCE, sniffBuffer); err != nil {
		_ = syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_RCVBUF, sniffBuffer)
	}
	if err := syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_TIMESTAMPNS, 1); err != nil {
		fail("SO_TIMESTAMPNS", err)
	}
	tv := syscall.NsecToTimeval(int64(sniffReadTimout))
	if err := syscall.SetsockoptTimeval(fd, syscall.SOL_SOCKET, syscall.SO_RCVTIMEO, &tv); err != nil {
		fail("SO_RCVTIMEO", err)
	}
	if err := syscall.Bind(fd, &syscall.SockaddrLinklayer{Protocol: htons(ethPIP), Ifindex: lo.Index}); err != nil {
		fail("bind to lo", err)
	}
	s := &sniffer{fd: fd, port: dstPort, stop: make(chan struct{}), done: make(chan struct{})}
	go s.loop()
	t.Cleanup(s.close)
	return s
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// udpDstPortFilter is a classic BPF program over an IPv4 packet (the network header is
// at offset 0 on a SOCK_DGRAM packet socket): accept unfragmented UDP to port.
func udpDstPortFilter(port uint16) []syscall.SockFilter {
	const (
		ldAbsB = syscall.BPF_LD | syscall.BPF_B | syscall.BPF_ABS
		ldAbsH = syscall.BPF_LD | syscall.BPF_H | syscall.BPF_ABS
		ldIndH = syscall.BPF_LD | syscall.BPF_H | syscall.BPF_IND
		ldxMsh = syscall.BPF_LDX | syscall.BPF_B | syscall.BPF_MSH
		andK   = syscall.BPF_ALU | syscall.BPF_AND | syscall.BPF_K
		jeqK   = syscall.BPF_JMP | syscall.BPF_JEQ | syscall.BPF_K
		jsetK  = syscall.BPF_JMP | syscall.BPF_JSET | syscall.BPF_K
		retK   = syscall.BPF_RET | syscall.BPF_K
	)
	return []syscall.SockFilter{
		{Code: ldAbsB, K: 0},                   // 0: version and IHL
		{Code: andK, K: 0xf0},                  // 1
		{Code: jeqK, K: 0x40, Jt: 0, Jf: 8},    // 2: IPv4, else drop
		{Code: ldAbsB, K: 9},                   // 3: protocol
		{Code: jeqK, K: 17, Jt: 0, Jf: 6},      // 4: UDP, else drop
		{Code: ldAbsH, K: 6},                   // 5: flags and fragment offset
		{Code: jsetK, K: 0x1fff, Jt: 4, Jf: 0}, // 6: a later fragment has no UDP header: drop
		{Code: ldxMsh, K: 0},                   // 7: X = IP header length
		{Code: ldIndH, K: 2},                   // 8: UDP destination port
		{Code: jeqK, K: uint32(port), Jf: 1},   // 9
		{Code: retK, K: 0xffff},                // 10: accept
		{Code: retK, K: 0},                     // 11: drop
	}
}

func (s *sniffer) loop() {
	defer close(s.done)
	buf := make([]byte, 65536)
	oob := make([]byte, 128)
	for {
		select {
		case <-s.stop:
			return
		default:
		}
		n, oobn, _, from, err := syscall.Recvmsg(s.fd, buf, oob, 0)
		if err != nil {
			if errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EINTR) {
				continue
			}
			s.mu.Lock()
			s.err = err
			s.mu.Unlock()
			return
		}
		if ll, ok := from.(*syscall.SockaddrLinklayer); !ok || ll.Pkttype != syscall.PACKET_HOST {
			continue // the outgoing copy of a loopback packet
		}
		at := kernelTime(oob[:oobn])
		if p, ok := parseUDP(buf[:n], at); ok && int(p.dst.Port()) == s.port {
			s.mu.Lock()
			s.pkts = append(s.pkts, p)
			s.mu.Unlock()
		}
	}
}

// kernelTime reads the SO_TIMESTAMPNS control message, or falls back to now.
func kernelTime(oob []byte) time.Time {
	msgs, err := syscall.ParseSocketControlMessage(oob)
	if err == nil {
		for _, m := range msgs {
			if m.Header.Level == syscall.SOL_SOCKET && m.Header.Type == syscall.SO_TIMESTAMPNS && len(m.Data) >= 16 {
				sec := int64(binary.NativeEndian.Uint64(m.Data[0:8]))
				nsec := int64(binary.NativeEndian.Uint64(m.Data[8:16]))
				return time.Unix(sec, nsec)
			}
		}
	}
	return time.Now()
}

// parseUDP reads an IPv4 packet carrying UDP.
func parseUDP(b []byte, at time.Time) (capturedPacket, bool) {
	if len(b) < 20 || b[0]>>4 != 4 || b[9] != 17 {
		return capturedPacket{}, false
	}
	ihl := int(b[0]&0x0f) * 4
	total := int(binary.BigEndian.Uint16(b[2:4]))
	if ihl < 20 || total > len(b) || total < ihl+8 {
		return capturedPacket{}, false
	}
	src := netip.AddrFrom4([4]byte(b[12:16]))
	dst := netip.AddrFrom4([4]byte(b[16:20]))
	u := b[ihl:total]
	ulen := int(binary.BigEndian.Uint16(u[4:6]))
	if ulen < 8 || ulen > len(u) {
		return capturedPacket{}, false
	}
	return capturedPacket{
		at:      at,
		src:     netip.AddrPortFrom(src, binary.BigEndian.Uint16(u[0:2])),
		dst:     netip.AddrPortFrom(dst, binary.BigEndian.Uint16(u[2:4])),
		payload: slices.Clone(u[8:ulen]),
	}, true
}

// close stops the capture; it is idempotent.
func (s *sniffer) close() {
	s.stopOnce.Do(func() {
		close(s.stop)
		<-s.done
		syscall.Close(s.fd)
	})
}

// packets stops the capture and returns what it saw, failing the test if the capture
// itself broke.
func (s *sniffer) packets(t testing.TB) []capturedPacket {
	t.Helper()
	s.close()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		t.Fatalf("sniffer on port %d: %v", s.port, s.err)
	}
	return slices.Clone(s.pkts)
}

// ---------------------------------------------------------------------------------
// What the caller heard

// heardPacket is one RTP packet the caller received, decoded to PCM.
type heardPacket struct {
	at  time.Time
	src netip.AddrPort
	hdr rtp.Header
	pcm []int16
}

// decodeRTP parses captured datagrams as RTP and decodes the audio. Every datagram
// must be RTP with payload type pt (0 PCMU or 8 PCMA) from one source.
func decodeRTP(t testing.TB, caps []capturedPacket, pt uint8) []heardPacket {
	t.Helper()
	var out []heardPacket
	var bad []string
	for i, c := range caps {
		var h rtp.Header
		payload, err := h.Unmarshal(c.payload)
		if err != nil {
			bad = append(bad, fmt.Sprintf("#%d from %v: not RTP: %v", i, c.src, err))
			continue
		}
		if h.PayloadType != pt {
			bad = append(bad, fmt.Sprintf("#%d from %v: payload type %d, want %d", i, c.src, h.PayloadType, pt))
			continue
		}
		pcm := make([]int16, len(payload))
		switch pt {
		case 0:
			codec.DecodeMulaw(pcm, payload)
		case 8:
			codec.DecodeAlaw(pcm, payload)
		default:
			t.Fatalf("decodeRTP: no decoder for payload type %d", pt)
		}
		out = append(out, heardPacket{at: c.at, src: c.src, hdr: h, pcm: pcm})
	}
	if len(bad) > 0 {
		t.Errorf("%d of %d datagrams to the caller's media port are not the negotiated RTP stream, e.g.:\n%s",
			len(bad), len(caps), strings.Join(bad[:min(5, len(bad))], "\n"))
	}
	return out
}

// audioCheck is what a caller notices about the audio it receives.
type audioCheck struct {
	pt          uint8
	minPackets  int
	ports       [2]int // the engine's RTP range: the stream must come from it
	speechFrom  int    // look for speech in packets [speechFrom, speechTo)
	speechTo    int    // 0: all packets
	speechDBFS  float64
	speechFrame int // at least this many 20 ms frames louder than speechDBFS-5
}

// requireAudio asserts that caps is one well-formed, paced RTP stream with speech in
// it, and returns the decoded packets.
func requireAudio(t testing.TB, caps []capturedPacket, want audioCheck) []heardPacket {
	t.Helper()
	pkts := decodeRTP(t, caps, want.pt)
	if len(pkts) < max(want.minPackets, 2) {
		t.Fatalf("caller received %d RTP packets (payload type %d), want at least %d", len(pkts), want.pt, want.minPackets)
	}
	// Stretches in which a busy neighbour kept this process off the CPU are left out
	// of the timing checks below (sched_test.go).
	excused, stallSummary := excusedWindows(pkts[0].at, pkts[len(pkts)-1].at)
	judged := func(i int) bool { return !inWindows(pkts[i].at, excused) }

	// One stream from the engine's RTP range; each packet one 20 ms frame after the
	// previous one: sequence +1, timestamp +160 (8 kHz). After a stall the media clock
	// skips frames rather than burst them: a larger timestamp step, counted here.
	srcs := map[netip.AddrPort]int{}
	ssrcs := map[uint32]int{}
	skipped := 0
	for i, p := range pkts {
		srcs[p.src]++
		ssrcs[p.hdr.SSRC]++
		if port := int(p.src.Port()); port < want.ports[0] || port > want.ports[1] {
			t.Errorf("RTP packet from %v: not from the engine's RTP range %d-%d", p.src, want.ports[0], want.ports[1])
			break
		}
		if len(p.pcm) != 160 {
			t.Errorf("RTP packet %d carries %d samples, want 160 (20 ms at 8 kHz)", i, len(p.pcm))
			break
		}
		if i == 0 {
			continue
		}
		prev := pkts[i-1].hdr
		dseq := p.hdr.SequenceNumber - prev.SequenceNumber
		dts := p.hdr.Timestamp - prev.Timestamp
		switch {
		case dseq == 1 && dts == 160:
		case dseq == 1 && dts%160 == 0 && !judged(i):
			// frames skipped after the host starved the process: not counted
		case dseq == 1 && dts%160 == 0 && p.at.Sub(pkts[i-1].at) > 400*time.Millisecond:
			// a deliberate pause (hold): the timestamp kept time while nothing was sent
		case dseq == 1 && dts%160 == 0:
			// The media clock fell behind and resynchronised (media/send.go resyncAfter):
			// a stall of the whole test process (the engine runs in it) that the
			// run-queue detector did not see, as under a loaded full suite; the packets
			// read late arrive close together. Counted: the bound below fails a clock
			// that skips for no reason.
			skipped += int(dts/160) - 1
		default:
			t.Errorf("RTP packet %d: sequence +%d, timestamp +%d, %v after the previous one (want +1, +160, 20 ms)",
				i, dseq, dts, p.at.Sub(pkts[i-1].at))
		}
	}
	if !pkts[0].hdr.Marker {
		t.Errorf("the first RTP packet of the stream has no marker bit (RFC 3551 section 4.1: start of a talk spurt)")
	}
	if len(srcs) != 1 || len(ssrcs) != 1 {
		t.Errorf("caller received %d sources %v and %d SSRCs, want one stream", len(srcs), srcs, len(ssrcs))
	}
	if skipped*100 > len(pkts)*15 {
		t.Errorf("the engine skipped %d frames for %d it sent: the caller hears gaps", skipped, len(pkts))
	}

	// Pacing, as the caller's jitter buffer sees it (kernel arrival times): the gaps
	// between packets, how close each arrives to the time its RTP timestamp says (the
	// 20 ms grid), the RFC 3550 interarrival jitter, and the speed of the audio. Only
	// the speed is asserted (see below); the rest is logged.
	var gaps []time.Duration
	paced, n := 0, 0
	var hist [5]int // <5, 5-15, 15-25, 25-35, >35 ms
	var jitter float64
	for i := 1; i < len(pkts); i++ {
		if !judged(i) || !judged(i-1) {
			continue
		}
		g := pkts[i].at.Sub(pkts[i-1].at)
		gaps = append(gaps, g)
		if g >= 15*time.Millisecond && g <= 25*time.Millisecond {
			paced++
		}
		hist[min(4, int((g+5*time.Millisecond)/(10*time.Millisecond)))]++
		d := g.Seconds()*8000 - float64(pkts[i].hdr.Timestamp-pkts[i-1].hdr.Timestamp)
		jitter += (math.Abs(d) - jitter) / 16 // RFC 3550 section 6.4.1, in 8 kHz units
	}
	var offsets []time.Duration
	var offsetIdx []int
	for i, p := range pkts {
		if !judged(i) {
			continue
		}
		rtpTime := time.Duration(int64(p.hdr.Timestamp-pkts[0].hdr.Timestamp) * int64(time.Second) / 8000)
		offsets = append(offsets, p.at.Sub(pkts[0].at)-rtpTime)
		offsetIdx = append(offsetIdx, i)
	}
	n = len(offsets)
	if n < 20 || len(gaps) < 10 {
		t.Errorf("cannot judge the RTP pacing: this machine kept the test process off the CPU for most of the "+
			"stream (%s; %d of %d packets left to judge, want 20)", stallSummary, n, len(pkts))
		return pkts
	}
	slices.Sort(gaps)
	median := gaps[len(gaps)/2]
	sorted := slices.Clone(offsets)
	slices.Sort(sorted)
	ref, onGrid := sorted[len(sorted)/2], 0
	for _, o := range offsets {
		if d := o - ref; d >= -15*time.Millisecond && d <= 15*time.Millisecond {
			onGrid++
		}
	}
	span := pkts[len(pkts)-1].at.Sub(pkts[0].at)
	speed := float64(pkts[len(pkts)-1].hdr.Timestamp-pkts[0].hdr.Timestamp) / 8000 / span.Seconds()
	jitterMS := jitter / 8
	t.Logf("RTP to the caller: %d packets PT %d over %v, speed %.3f, %d frames skipped, median gap %v, "+
		"%d%% of gaps 15-25 ms (<5/5-15/15-25/25-35/>35 ms: %v), %d%% within 15 ms of the 20 ms grid, jitter %.1f ms; "+
		"%d packets judged (%s)",
		len(pkts), want.pt, span.Round(time.Millisecond), speed, skipped, median, 100*paced/len(gaps), hist,
		100*onGrid/n, jitterMS, n, stallSummary)
	// Fine-grained pacing (median gap, the 20 ms grid, interarrival jitter) is logged
	// above, not asserted: on a loaded 2-core CI box the test process and the engine
	// are descheduled for tens of milliseconds, and timings belong in benchmarks
	// (`hotline loadtest` reports gaps and jitter percentiles). What a caller would
	// notice even on such a box is asserted: the audio plays at real-time speed, not
	// sent all at once nor stretched.
	if speed < 0.75 || speed > 1.33 {
		t.Errorf("RTP timestamps advanced %.2f times as fast as the wall clock: the audio does not play in real time", speed)
	}

	// Speech: the loudest half second is far above silence.
	to := want.speechTo
	if to == 0 || to > len(pkts) {
		to = len(pkts)
	}
	loudest, frames := speechLevel(pkts[min(want.speechFrom, to):to], 25, want.speechDBFS-5)
	t.Logf("speech: loudest 500 ms at %.1f dBFS, %d frames above %.0f dBFS in packets %d-%d",
		loudest, frames, want.speechDBFS-5, want.speechFrom, to)
	if loudest < want.speechDBFS {
		t.Errorf("loudest 500 ms of packets %d-%d is %.1f dBFS, want above %.0f dBFS: the caller hears silence",
			want.speechFrom, to, loudest, want.speechDBFS)
	}
	if frames < want.speechFrame {
		t.Errorf("%d frames of packets %d-%d above %.0f dBFS, want at least %d: the caller hears next to no speech",
			frames, want.speechFrom, to, want.speechDBFS-5, want.speechFrame)
	}
	return pkts
}

// speechLevel returns the level of the loudest window of n packets and how many single
// frames are louder than frameDBFS.
func speechLevel(pkts []heardPacket, n int, frameDBFS float64) (loudest float64, frames int) {
	loudest = math.Inf(-1)
	for _, p := range pkts {
		if audio.DBFS(p.pcm) > frameDBFS {
			frames++
		}
	}
	for i := 0; i+n <= len(pkts); i++ {
		var w []int16
		for _, p := range pkts[i : i+n] {
			w = append(w, p.pcm...)
		}
		loudest = max(loudest, audio.DBFS(w))
	}
	if len(pkts) < n && len(pkts) > 0 {
		var w []int16
		for _, p := range pkts {
			w = append(w, p.pcm...)
		}
		loudest = audio.DBFS(w)
	}
	return loudest, frames
}

// longestGap returns the longest silence on the wire between two packets and the index
// of the packet that ended it.
func longestGap(pkts []heardPacket) (time.Duration, int) {
	var gap time.Duration
	idx := 0
	for i := 1; i < len(pkts); i++ {
		if g := pkts[i].at.Sub(pkts[i-1].at); g > gap {
			gap, idx = g, i
		}
	}
	return gap, idx
}

// requireQuietAfter fails if the caller received RTP more than 100 ms after end: the
// call is over, and so is its audio.
func requireQuietAfter(t testing.TB, pkts []heardPacket, end time.Time) {
	t.Helper()
	if len(pkts) == 0 || end.IsZero() {
		return
	}
	last := pkts[len(pkts)-1].at
	if late := last.Sub(end); late > 100*time.Millisecond {
		n := 0
		for _, p := range pkts {
			if p.at.After(end) {
				n++
			}
		}
		t.Errorf("the caller received %d RTP packets after the call ended, the last %v later", n, late.Round(time.Millisecond))
	}
}
