//go:build linux

package media

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestBatchedSendKeepsOrder: with the clock's packets sent in io_uring batches, a
// late tick that catches up five frames still sends five distinct packets in order
// (the session's one packet buffer is flushed before it is written again), and the
// batching shows in the metrics.
func TestBatchedSendKeepsOrder(t *testing.T) {
	m, pr := startManual(t, Config{}, nil)
	if !m.s.eng.clock.batched() {
		t.Fatal("the engine does not batch its RTP: io_uring is unavailable on this machine (see the engine's log)")
	}
	reg := metricsOf(t, m.s)
	m.shardTick(0)
	first := pr.must(time.Second)
	m.shardTick(10) // frames 1..5 of the 10 due
	var prev = first
	for i := range maxCatchUpFrames {
		pk := pr.must(time.Second)
		if pk.h.SequenceNumber != prev.h.SequenceNumber+1 || pk.h.Timestamp != prev.h.Timestamp+160 {
			t.Fatalf("packet %d of the catch-up: seq %d ts %d after seq %d ts %d", i,
				pk.h.SequenceNumber, pk.h.Timestamp, prev.h.SequenceNumber, prev.h.Timestamp)
		}
		prev = pk
	}
	pr.none(5 * time.Millisecond)
	if v := metric(t, reg, "hotline_rtp_send_batching"); v != 1 {
		t.Errorf("hotline_rtp_send_batching %v, want 1", v)
	}
	if v := metric(t, reg, "hotline_rtp_send_batches_total"); v < 2 {
		t.Errorf("hotline_rtp_send_batches_total %v, want at least 2", v)
	}
	if v := metric(t, reg, "hotline_rtp_packets_sent_total"); v != 1+maxCatchUpFrames {
		t.Errorf("hotline_rtp_packets_sent_total %v, want %d", v, 1+maxCatchUpFrames)
	}
}

// TestBatchedSendOff: rtp.send_batching off sends one system call per packet.
func TestBatchedSendOff(t *testing.T) {
	m, pr := startManual(t, Config{SendBatching: SendBatchingOff}, nil)
	if m.s.eng.clock.batched() {
		t.Fatal("batching is on although it was turned off")
	}
	reg := metricsOf(t, m.s)
	m.shardTick(0)
	pr.must(time.Second)
	if v := metric(t, reg, "hotline_rtp_send_batching"); v != 0 {
		t.Errorf("hotline_rtp_send_batching %v, want 0", v)
	}
	if err := (Config{SendBatching: "sometimes"}).Validate(); err == nil {
		t.Error("an unknown batching policy was accepted")
	}
}

// batchSockets is n sending sockets with their slots and one receiving socket each.
func batchSockets(t *testing.T, n int) (slots []*txSlot, rx []*net.UDPConn) {
	t.Helper()
	for range n {
		tx, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { tx.Close() })
		var slot txSlot
		if err := slot.init(tx); err != nil {
			t.Fatal(err)
		}
		r, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Close() })
		slots, rx = append(slots, &slot), append(rx, r)
	}
	return slots, rx
}

func recvString(t *testing.T, c *net.UDPConn) string {
	t.Helper()
	buf := make([]byte, 64)
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	n, err := c.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	return string(buf[:n])
}

// TestBatchFullRingAndFailure: more packets than the ring holds go out in several
// submissions; a ring that breaks (its descriptor gone) still delivers the queued
// packets by sendmsg, says so once, and sends nothing through the ring afterwards.
func TestBatchFullRingAndFailure(t *testing.T) {
	forEachSendEntry(t, testBatchFullRingAndFailure)
}

// forEachSendEntry runs f as a subtest with each kind of send entry, which it sets
// with setKind on the batch it made: SEND with a destination (this machine's kernel
// must take it) and SENDMSG.
func forEachSendEntry(t *testing.T, f func(t *testing.T, setKind func(*txBatch))) {
	for _, sendTo := range []bool{true, false} {
		name := "sendmsg"
		if sendTo {
			name = "send"
		}
		t.Run(name, func(t *testing.T) {
			f(t, func(b *txBatch) {
				if sendTo && !b.sendTo {
					t.Fatal("the kernel refused SEND entries with a destination (Linux 6.1 and later take them)")
				}
				b.sendTo = sendTo
			})
		})
	}
}

func testBatchFullRingAndFailure(t *testing.T, setKind func(*txBatch)) {
	var failures []error
	b, err := newTxBatchSize(nil, func(err error) { failures = append(failures, err) }, 4)
	if err != nil {
		t.Fatal(err)
	}
	defer b.close()
	setKind(b)
	slots, rx := batchSockets(t, 10)
	payload := func(i int) []byte { return []byte{'p', byte('0' + i)} }
	for i, sl := range slots {
		if !b.queue(sl, payload(i), rx[i].LocalAddr().(*net.UDPAddr).AddrPort()) {
			t.Fatalf("packet %d not queued", i)
		}
	}
	if failed := b.flush(); failed != 0 {
		t.Fatalf("%d sends failed", failed)
	}
	for i := range slots {
		if got := recvString(t, rx[i]); got != string(payload(i)) {
			t.Fatalf("socket %d got %q", i, got)
		}
	}

	// Break the ring: its descriptor is closed under it.
	for i, sl := range slots[:3] {
		b.queue(sl, payload(i), rx[i].LocalAddr().(*net.UDPAddr).AddrPort())
	}
	if err := syscall.Close(b.fd); err != nil {
		t.Fatal(err)
	}
	b.flush()
	b.fd = -1
	for i := range 3 {
		if got := recvString(t, rx[i]); got != string(payload(i)) {
			t.Fatalf("after the failure, socket %d got %q", i, got)
		}
	}
	if len(failures) != 1 || !errors.Is(failures[0], syscall.EBADF) {
		t.Errorf("failures reported: %v, want one EBADF", failures)
	}
	if b.queue(slots[0], payload(0), rx[0].LocalAddr().(*net.UDPAddr).AddrPort()) {
		t.Error("a broken ring took a packet")
	}
}

// TestBatchChunks: packets written in place into the batch's buffers (buffer, then
// queue) reach their own peers with their own contents when a tick has more of them
// than one chunk, and when a socket sends twice in one chunk (a late tick catching
// up), both go out, in order.
func TestBatchChunks(t *testing.T) {
	forEachSendEntry(t, func(t *testing.T, setKind func(*txBatch)) {
		b, err := newTxBatch(nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer b.close()
		setKind(b)
		n := 2*txChunk + 5
		slots, rx := batchSockets(t, n)
		send := func(i int, what string) {
			buf := b.buffer(slots[i])
			if buf == nil {
				t.Fatalf("no buffer for packet %d", i)
			}
			k := copy(buf, what)
			if !b.queue(slots[i], buf[:k], rx[i].LocalAddr().(*net.UDPAddr).AddrPort()) {
				t.Fatalf("packet %d not queued", i)
			}
		}
		for i := range n {
			send(i, fmt.Sprintf("first %d", i))
			if i%10 == 0 {
				send(i, fmt.Sprintf("second %d", i))
			}
		}
		if failed := b.flush(); failed != 0 {
			t.Fatalf("%d sends failed", failed)
		}
		for i := range n {
			if got, want := recvString(t, rx[i]), fmt.Sprintf("first %d", i); got != want {
				t.Fatalf("socket %d got %q, want %q", i, got, want)
			}
			if i%10 == 0 {
				if got, want := recvString(t, rx[i]), fmt.Sprintf("second %d", i); got != want {
					t.Fatalf("socket %d got %q second, want %q", i, got, want)
				}
			}
		}
	})
}

// TestBatchDestinations: an IPv4 socket reaches IPv4 (and v4-mapped) peers and refuses
// IPv6 ones, which the session then sends the ordinary way.
func TestBatchDestinations(t *testing.T) {
	forEachSendEntry(t, testBatchDestinations)
}

func testBatchDestinations(t *testing.T, setKind func(*txBatch)) {
	b, err := newTxBatchSize(nil, nil, 8)
	if err != nil {
		t.Fatal(err)
	}
	defer b.close()
	setKind(b)
	slots, rx := batchSockets(t, 1)
	to := rx[0].LocalAddr().(*net.UDPAddr).AddrPort()
	mapped := netip.AddrPortFrom(netip.AddrFrom16(to.Addr().As16()), to.Port())
	if !b.queue(slots[0], []byte("mapped"), mapped) {
		t.Fatal("a v4-mapped destination was refused")
	}
	b.flush()
	if got := recvString(t, rx[0]); got != "mapped" {
		t.Fatalf("got %q", got)
	}
	if b.queue(slots[0], []byte("v6"), netip.MustParseAddrPort("[::1]:9")) {
		t.Error("an IPv4 socket queued a packet for an IPv6 peer")
	}
	if b.queue(slots[0], []byte("zone"), netip.MustParseAddrPort("[fe80::1%lo]:9")) {
		t.Error("a destination with a zone was queued")
	}
}

// TestBatchedTickAllocates: a shard's tick over several calls, batched, allocates
// nothing.
func TestBatchedTickAllocates(t *testing.T) {
	e, _ := newTestEngine(t, Config{ClockShards: 1}, withManualClock())
	if !e.clock.batched() {
		t.Fatal("the engine does not batch its RTP")
	}
	pr := newPeer(t, "127.0.0.1")
	var s *Session
	for range 8 {
		s = newTestSession(t, e)
		if err := s.Configure(pcmu(pr.addr)); err != nil {
			t.Fatal(err)
		}
		s.Start()
	}
	sh, t0, k := s.shard, time.Now(), 0
	step := func() {
		sh.tick(t0.Add(time.Duration(k) * 20 * time.Millisecond))
		k++
	}
	for range 50 {
		step()
	}
	if n := testing.AllocsPerRun(100, step); n != 0 {
		t.Errorf("a batched tick of 8 calls allocates %v times", n)
	}
}

// TestBatchedCloseWhileTicking: calls come and go while the real clock sends their
// packets in batches; a socket is only closed between ticks (the race detector and
// the engine's leak checks watch).
func TestBatchedCloseWhileTicking(t *testing.T) {
	e, reg := newTestEngine(t, Config{Quarantine: time.Nanosecond})
	pr := newPeer(t, "127.0.0.1")
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 10 {
				s, err := e.NewSession(nil)
				if err != nil {
					t.Error(err)
					return
				}
				if err := s.Configure(pcmu(pr.addr)); err != nil {
					t.Error(err)
				}
				s.Start()
				time.Sleep(time.Duration(10+7*w+i) * time.Millisecond)
				s.Close()
			}
		})
	}
	wg.Wait()
	if v := metric(t, reg, "hotline_rtp_send_errors_total"); v != 0 {
		t.Errorf("%v send errors", v)
	}
	if v := metric(t, reg, "hotline_rtp_packets_sent_total"); v == 0 {
		t.Error("no packet was sent")
	}
}

// BenchmarkShardTick is one clock tick of a shard with 200 calls, each sending its
// packet to a peer socket that another goroutine drains: batched (one io_uring
// submission per tick, "auto") against one system call per packet ("off"). The rest
// of a tick (playout, RTCP scheduling) is the same in both, so the difference is the
// cost of sending. cpu-ns/pkt is the process's CPU per packet sent, drain included:
//
//	go test ./media -run '^$' -bench ShardTick -benchtime 2000x
func BenchmarkShardTick(b *testing.B) {
	const sessions = 200
	for _, name := range []string{SendBatchingAuto, "sendmsg", SendBatchingOff} {
		b.Run(name, func(b *testing.B) {
			mode := name
			if name == "sendmsg" { // auto, with SENDMSG entries instead of SEND
				mode = SendBatchingAuto
			}
			e, _ := newTestEngine(b, Config{PortMin: 52000, PortMax: 53998, ClockShards: 1, SendBatching: mode}, withManualClock())
			if name == "sendmsg" {
				e.clock.shards[0].tx.sendTo = false
			}
			if e.clock.batched() != (mode == SendBatchingAuto) {
				b.Fatalf("batching %v with send_batching %s", e.clock.batched(), mode)
			}
			pr := newPeer(b, "127.0.0.1")
			go func() {
				buf := make([]byte, 2048)
				for {
					if _, err := pr.conn.Read(buf); err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
						return
					}
				}
			}()
			var s *Session
			for range sessions {
				var err error
				if s, err = e.NewSession(nil); err != nil {
					b.Fatal(err)
				}
				defer s.Close()
				if err := s.Configure(pcmu(pr.addr)); err != nil {
					b.Fatal(err)
				}
				s.Start()
			}
			sh, t0, k := s.shard, time.Now(), 0
			var before, after syscall.Rusage
			if err := syscall.Getrusage(syscall.RUSAGE_SELF, &before); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				sh.tick(t0.Add(time.Duration(k) * 20 * time.Millisecond))
				k++
			}
			b.StopTimer()
			if err := syscall.Getrusage(syscall.RUSAGE_SELF, &after); err != nil {
				b.Fatal(err)
			}
			cpu := time.Duration(after.Utime.Nano() + after.Stime.Nano() - before.Utime.Nano() - before.Stime.Nano())
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(k*sessions), "cpu-ns/pkt")
		})
	}
}
