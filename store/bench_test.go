package store_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/hotline-ivr/hotline/store"
)

// BenchmarkInsertFinish is the synchronous cost of one call's record: StartCall
// and FinishCall (every field set), each its own transaction, as a caller without
// the Writer would pay it. Reported as calls/s.
func BenchmarkInsertFinish(b *testing.B) {
	for _, name := range store.Drivers() {
		b.Run(name, func(b *testing.B) {
			s := db{driver: name, dsn: newDSN[name](b)}.open(b, "")
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				id := fmt.Sprintf("b-%d", i)
				start := at(time.Duration(i) * time.Millisecond)
				i++
				if err := s.Write(ctx, store.StartCall{Record: startRecord(id, start)}); err != nil {
					b.Fatal(err)
				}
				if err := s.Write(ctx, store.FinishCall{Record: fullRecord(id, start)}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
		})
	}
}

// BenchmarkWriter is the same two writes per call through the Writer, which
// batches them: the engine's path. The time includes the final Flush.
func BenchmarkWriter(b *testing.B) {
	for _, name := range store.Drivers() {
		b.Run(name, func(b *testing.B) {
			s := db{driver: name, dsn: newDSN[name](b)}.open(b, "")
			w, err := store.NewWriter(s)
			if err != nil {
				b.Fatal(err)
			}
			defer w.Close()
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				id := fmt.Sprintf("b-%d", i)
				start := at(time.Duration(i) * time.Millisecond)
				i++
				if err := w.Submit(store.StartCall{Record: startRecord(id, start)}, store.FinishCall{Record: fullRecord(id, start)}); err != nil {
					b.Fatal(err)
				}
			}
			if err := w.Flush(ctx); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
		})
	}
}

// BenchmarkCallWithTimeline is one call as the engine records it under load: its
// record started, sixteen timeline events (ten of them the SIP ladder) and the
// record finished, seven calls to a transaction as the Writer gathers them at
// 300 calls/s. Reported as calls/s; the CPU per call is what churn costs the
// engine in records.
func BenchmarkCallWithTimeline(b *testing.B) {
	const perTx = 7
	for _, name := range store.Drivers() {
		b.Run(name, func(b *testing.B) {
			s := db{driver: name, dsn: newDSN[name](b)}.open(b, "")
			b.ReportAllocs()
			ops := make([]store.Op, 0, perTx*18)
			i := 0
			for b.Loop() {
				id := fmt.Sprintf("b-%d", i)
				start := at(time.Duration(i) * time.Millisecond)
				i++
				ops = append(ops, store.StartCall{Record: startRecord(id, start)})
				for e := range 16 {
					kind := store.KindSIP
					if e >= 10 {
						kind = store.KindNode
					}
					ops = append(ops, store.CallEvent{CallID: id, At: start.Add(time.Duration(e) * time.Millisecond),
						Kind: kind, Name: "← 200 OK (INVITE)", Detail: "sip:ivr@127.0.0.1:5060, from 127.0.0.1:40000 (udp)"})
				}
				ops = append(ops, store.FinishCall{Record: fullRecord(id, start)})
				if i%perTx == 0 {
					if err := s.Write(ctx, ops...); err != nil {
						b.Fatal(err)
					}
					ops = ops[:0]
				}
			}
			if len(ops) > 0 {
				if err := s.Write(ctx, ops...); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
		})
	}
}
