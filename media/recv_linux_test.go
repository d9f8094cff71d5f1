//go:build linux

package media

import (
	"syscall"
	"testing"
	"time"

	"github.com/hotline-ivr/hotline/media/rtp"
)

// BenchmarkReceivePaced is the receive path as calls see it: each of 200 sessions gets
// one datagram per round, as at 50 packets a second per call. "goroutine": each
// session's receive goroutine reads its socket, and the round waits until every one
// has parked again, so every packet must wake its reader; "batched": the clock shard
// reads all the sockets in one tick (rxbatch_linux.go). One op is one round;
// cpu-ns/pkt is the process's CPU time (user and system, the sending peer included,
// which is the same in both) per packet: what a call's received packet costs the
// engine.
//
//	go test ./media -run '^$' -bench ReceivePaced -benchtime 300x
func BenchmarkReceivePaced(b *testing.B) {
	const sessions = 200
	for _, mode := range []string{"goroutine", "batched"} {
		b.Run(mode, func(b *testing.B) {
			opts := []Option{withManualClock()}
			if mode == "batched" {
				opts = append(opts, withBatchedReceive())
			}
			// Ports of their own, above the tests' blocks: 200 sessions need 400.
			e, _ := newTestEngine(b, Config{PortMin: 50000, PortMax: 51998, ClockShards: 1}, opts...)
			if e.clock.reads() != (mode == "batched") {
				b.Fatalf("the clock reads the sockets: %v", e.clock.reads())
			}
			pr := newPeer(b, "127.0.0.1")
			ss := make([]*Session, sessions)
			for i := range ss {
				s, err := e.NewSession(nil)
				if err != nil {
					b.Fatal(err)
				}
				defer s.Close()
				if err := s.Configure(pcmu(pr.addr)); err != nil {
					b.Fatal(err)
				}
				ss[i] = s
			}
			pkt := buildRTP(rtp.Header{PayloadType: 0, SSRC: 7}, silentFrame)
			var before, after syscall.Rusage
			if err := syscall.Getrusage(syscall.RUSAGE_SELF, &before); err != nil {
				b.Fatal(err)
			}
			var rounds uint64
			b.ReportAllocs()
			for b.Loop() {
				rounds++
				pkt[2], pkt[3] = byte(rounds>>8), byte(rounds)
				for _, s := range ss {
					if _, err := pr.conn.WriteToUDPAddrPort(pkt, s.LocalAddr()); err != nil {
						b.Fatal(err)
					}
				}
				if mode == "batched" {
					ss[0].shard.tick(time.Now())
				}
				for i := 0; ; i++ {
					done := 0
					for _, s := range ss {
						if s.stats.recv.Load()+s.stats.garbage.Load() >= rounds {
							done++
						}
					}
					if done == sessions {
						break
					}
					if i == 100000 {
						b.Fatalf("round %d: %d of %d sessions received their packet", rounds, done, sessions)
					}
					time.Sleep(20 * time.Microsecond)
				}
				time.Sleep(time.Millisecond) // every reader parks again before the next round
			}
			b.StopTimer()
			if err := syscall.Getrusage(syscall.RUSAGE_SELF, &after); err != nil {
				b.Fatal(err)
			}
			cpu := time.Duration(after.Utime.Nano() + after.Stime.Nano() - before.Utime.Nano() - before.Stime.Nano())
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(rounds*sessions), "cpu-ns/pkt")
		})
	}
}

// TestReceiveLoopBurstsAndAllocations sends bursts larger than one recvmmsg batch and
// single packets to a session's real socket: every datagram is accepted (the loop
// reads on while batches come back full, and parks without losing one that arrives
// after its last read), and the loop allocates nothing per packet.
func TestReceiveLoopBurstsAndAllocations(t *testing.T) {
	e, _ := newTestEngine(t, Config{}, withManualClock())
	pr := newPeer(t, "127.0.0.1")
	s, err := e.NewSession(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Configure(pcmu(pr.addr)); err != nil {
		t.Fatal(err)
	}
	pkt := buildRTP(rtp.Header{PayloadType: 0, SSRC: 7}, silentFrame)
	var sent uint64
	send := func(n int) {
		t.Helper()
		for range n {
			sent++
			pkt[2], pkt[3] = byte(sent>>8), byte(sent)
			if _, err := pr.conn.WriteToUDPAddrPort(pkt, s.LocalAddr()); err != nil {
				t.Fatal(err)
			}
		}
		for i := 0; s.stats.recv.Load() < sent; i++ {
			if i == 20000 {
				t.Fatalf("%d of %d datagrams accepted: the receive loop lost packets", s.stats.recv.Load(), sent)
			}
			time.Sleep(100 * time.Microsecond)
		}
	}
	send(3 * mmsgBatch)   // full batches, then a partial one
	send(1)               // the loop parked after a partial batch: one packet must wake it
	send(mmsgBatch - 1)   // a partial batch
	send(2*mmsgBatch + 1) // and full ones again
	if got := s.Stats().Garbage; got != 0 {
		t.Errorf("%d datagrams counted as garbage", got)
	}
	if n := testing.AllocsPerRun(200, func() { send(1) }); n != 0 {
		t.Errorf("receive loop: %v allocations per packet", n)
	}
}
