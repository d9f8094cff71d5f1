package loadtest

import (
	"log/slog"
	"net"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hotline-ivr/hotline/media/audio"
	"github.com/hotline-ivr/hotline/media/codec"
	"github.com/hotline-ivr/hotline/media/dtmf"
	"github.com/hotline-ivr/hotline/media/rtp"
)

// toneClip is n frames of a 440 Hz tone at about -9 dBFS, μ-law: speech as far as
// the detector is concerned.
func toneClip(t testing.TB, n int) *clip {
	t.Helper()
	cl, err := encodeClip(codec.PCMU, audio.Tone(440, 8000, time.Duration(n)*20*time.Millisecond, 0.5), 160)
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

func silenceClip(t testing.TB) *clip {
	t.Helper()
	cl, err := encodeClip(codec.PCMU, make([]int16, 160), 160)
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

func testParams(remote netip.AddrPort, idle *clip) streamParams {
	return streamParams{
		remote: remote, sending: true, pt: 0, dtmfPT: 101, hasDTMF: true,
		clockRate: 8000, dtmfRate: 8000, tsPerFrame: 160, ptimeMs: 20,
		energy: mulawEnergy, idle: idle, digitDur: 100 * time.Millisecond,
	}
}

// peer is the far end of a stream on loopback: it records what the stream sends.
type peer struct {
	conn *net.UDPConn
	mu   sync.Mutex
	pkts []received
	done chan struct{}
}

type received struct {
	h       rtp.Header
	payload []byte
	at      time.Time
}

func newPeer(t *testing.T) *peer {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	p := &peer{conn: conn, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		buf := make([]byte, 2048)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return
			}
			var h rtp.Header
			pl, err := h.Unmarshal(buf[:n])
			if err != nil {
				continue
			}
			p.mu.Lock()
			p.pkts = append(p.pkts, received{h, append([]byte(nil), pl...), time.Now()})
			p.mu.Unlock()
		}
	}()
	t.Cleanup(func() { conn.Close(); <-p.done })
	return p
}

func (p *peer) addr() netip.AddrPort { return p.conn.LocalAddr().(*net.UDPAddr).AddrPort() }

func (p *peer) packets() []received {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]received(nil), p.pkts...)
}

func newTestPool(t *testing.T) *mediaPool {
	t.Helper()
	before := runtime.NumGoroutine()
	pool, err := newMediaPool(netip.MustParseAddr("127.0.0.1"), 1, 5*time.Millisecond, 20*time.Millisecond, time.Now(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		pool.close()
		pool.close() // idempotent
		deadline := time.Now().Add(2 * time.Second)
		for runtime.NumGoroutine() > before+1 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if n := runtime.NumGoroutine(); n > before+1 {
			t.Errorf("goroutines: %d after close, %d before", n, before)
		}
	})
	return pool
}

// nextEvent waits for the stream's next event of kind k.
func nextEvent(t *testing.T, st *stream, k eventKind, within time.Duration) event {
	t.Helper()
	deadline := time.After(within)
	for {
		select {
		case e := <-st.events:
			if e.kind == k {
				return e
			}
		case <-deadline:
			t.Fatalf("no %s event within %v", k, within)
		}
	}
}

// TestStreamReceive sends the stream 60 packets at 20 ms with one missing: ten of
// silence, twenty of tone, then silence. The stream must count the loss, date the
// speech onset and the offset after the gap, and measure the gaps.
func TestStreamReceive(t *testing.T) {
	pool := newTestPool(t)
	p := newPeer(t)
	st := newStream(testParams(p.addr(), silenceClip(t)), meanSquareThreshold(DefaultSpeechDBFS), 200*time.Millisecond, 20*time.Millisecond)
	st.sending = false
	st.start(pool.socks[0], time.Now())
	defer st.stop()

	tone, silence := toneClip(t, 20), silenceClip(t)
	buf := make([]byte, 200)
	var onsetSent time.Time
	for i := range 60 {
		if i == 15 {
			time.Sleep(20 * time.Millisecond)
			continue // lost
		}
		h := rtp.Header{PayloadType: 0, SequenceNumber: uint16(65500 + i), Timestamp: uint32(160 * i), SSRC: 7}
		n, _ := h.MarshalTo(buf)
		pl := silence.frames[0]
		if i >= 10 && i < 30 {
			pl = tone.frames[i-10]
			if i == 10 {
				onsetSent = time.Now()
			}
		}
		n += copy(buf[n:], pl)
		if _, err := p.conn.WriteToUDPAddrPort(buf[:n], pool.socks[0].local); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	on := nextEvent(t, st, evOnset, time.Second)
	if d := time.Unix(0, on.at).Sub(onsetSent); d < -5*time.Millisecond || d > 50*time.Millisecond {
		t.Errorf("onset dated %v after the first tone packet left", d)
	}
	off := nextEvent(t, st, evOffset, time.Second)
	if speech := time.Duration(off.at - on.at); speech < 300*time.Millisecond || speech > 500*time.Millisecond {
		t.Errorf("speech lasted %v, want about 400ms (20 frames)", speech)
	}
	time.Sleep(50 * time.Millisecond)
	st.stop()
	r := st.result()
	if r.received != 59 || r.expected != 60 || r.lost != 1 {
		t.Errorf("received %d expected %d lost %d; want 59, 60, 1 (across the sequence wrap)", r.received, r.expected, r.lost)
	}
	if r.speechFrames != 19 && r.speechFrames != 20 {
		t.Errorf("speech frames %d, want 20 (19 if the lost one was tone)", r.speechFrames)
	}
	if r.maxGap < int64(30*time.Millisecond) {
		t.Errorf("max gap %v: the lost packet's 40 ms gap is missing", time.Duration(r.maxGap))
	}
	agg := pool.aggregate()
	if agg.gaps.n != 58 || len(agg.series) == 0 {
		t.Errorf("aggregate: %d gaps, %d seconds of series", agg.gaps.n, len(agg.series))
	}
}

// TestStreamSend checks what a stream puts on the wire: paced idle audio, two key
// presses as RFC 4733 events (marker on the first packet, one timestamp per event,
// three end packets) and a phrase, each followed by its event for the script.
func TestStreamSend(t *testing.T) {
	pool := newTestPool(t)
	p := newPeer(t)
	st := newStream(testParams(p.addr(), silenceClip(t)), meanSquareThreshold(DefaultSpeechDBFS), time.Second, 20*time.Millisecond)
	st.start(pool.socks[0], time.Now())
	defer st.stop()

	time.Sleep(200 * time.Millisecond)
	st.send(&command{digits: "12"})
	nextEvent(t, st, evDigitSent, 2*time.Second)
	phrase := toneClip(t, 5)
	st.send(&command{clip: phrase})
	nextEvent(t, st, evPhraseSent, 2*time.Second)
	time.Sleep(100 * time.Millisecond)
	st.stop()
	time.Sleep(50 * time.Millisecond) // the last packet is still on its way

	pkts := p.packets()
	var events []dtmf.Event
	var eventTS []uint32
	var markers, tones int
	for i, pk := range pkts {
		if i > 0 && pk.h.SequenceNumber != pkts[i-1].h.SequenceNumber+1 {
			t.Fatalf("sequence jumps from %d to %d", pkts[i-1].h.SequenceNumber, pk.h.SequenceNumber)
		}
		switch pk.h.PayloadType {
		case 101:
			ev, err := dtmf.ParseEvent(pk.payload)
			if err != nil {
				t.Fatal(err)
			}
			events = append(events, ev)
			eventTS = append(eventTS, pk.h.Timestamp)
			if pk.h.Marker {
				markers++
			}
		case 0:
			if len(pk.payload) != 160 {
				t.Fatalf("PCMU payload of %d octets", len(pk.payload))
			}
			if strings.Trim(string(pk.payload), string([]byte{codec.MulawSilence})) != "" {
				tones++
			}
		}
	}
	// 100 ms at 20 ms: four updates and the end packet three times (RFC 4733 §2.5.1.4).
	if len(events) != 14 || markers != 2 {
		t.Fatalf("%d telephone-event packets with %d markers, want 14 and 2", len(events), markers)
	}
	if events[0].Code != 1 || events[7].Code != 2 || !events[6].End || events[3].End || eventTS[0] == eventTS[7] || eventTS[0] != eventTS[6] {
		t.Errorf("events: %+v, timestamps %v", events, eventTS)
	}
	if tones != 5 {
		t.Errorf("%d phrase frames on the wire, want 5", tones)
	}
	var gaps []time.Duration
	for i := 1; i < len(pkts); i++ {
		gaps = append(gaps, pkts[i].at.Sub(pkts[i-1].at))
	}
	var sum time.Duration
	for _, g := range gaps {
		sum += g
	}
	if mean := sum / time.Duration(len(gaps)); mean < 18*time.Millisecond || mean > 22*time.Millisecond {
		t.Errorf("mean packet spacing %v, want 20ms", mean)
	}
	if r := st.result(); r.sent != uint64(len(pkts)) {
		t.Errorf("stream counted %d sent, the peer got %d", r.sent, len(pkts))
	}
}

// TestStreamUnknownSource: packets from a port no call uses, or RTCP, never reach a
// stream.
func TestStreamUnknownSource(t *testing.T) {
	pool := newTestPool(t)
	p := newPeer(t)
	buf := make([]byte, 172)
	h := rtp.Header{SequenceNumber: 1, SSRC: 9}
	n, _ := h.MarshalTo(buf)
	_, _ = p.conn.WriteToUDPAddrPort(buf[:n+160], pool.socks[0].local)
	rr := []byte{0x80, 201, 0, 1, 0, 0, 0, 9} // an empty RTCP receiver report
	_, _ = p.conn.WriteToUDPAddrPort(rr, pool.socks[0].local)
	deadline := time.Now().Add(time.Second)
	for {
		a := pool.aggregate()
		if a.stray == 1 && a.rtcp == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("stray %d rtcp %d, want 1 and 1", a.stray, a.rtcp)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
