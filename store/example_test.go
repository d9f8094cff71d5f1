package store_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/hotline-ivr/hotline/store"
	_ "github.com/hotline-ivr/hotline/store/sqlite" // registers the driver "sqlite"
)

// Example is the life of the store in an engine process: open (migrating), finish
// what the last run left active, write through a Writer as calls come and go,
// flush at shutdown, and read a record back as `hotline calls show` does.
func Example() {
	dir, _ := os.MkdirTemp("", "hotline-example-")
	defer os.RemoveAll(dir)
	ctx := context.Background()

	cfg := store.Config{Driver: "sqlite", DSN: filepath.Join(dir, "hotline.db"), RetentionDays: 90}
	s, err := store.Open(ctx, cfg, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()
	if _, err := s.RecoverActive(ctx, time.Now()); err != nil { // before taking calls
		fmt.Println(err)
		return
	}
	w, err := store.NewWriter(s, cfg.WriterOptions()...)
	if err != nil {
		fmt.Println(err)
		return
	}

	// A call arrives: its record exists before it is answered.
	start := time.Date(2026, 5, 22, 9, 30, 0, 0, time.UTC)
	rec := store.CallRecord{ID: "c-1", StartedAt: start, Direction: store.DirectionInbound,
		Caller: "+15550100", Called: "+15550199", Transport: "udp", Codec: "PCMU"}
	w.Submit(store.StartCall{Record: rec},
		store.CallEvent{CallID: "c-1", At: start, Kind: store.KindSIP, Name: "INVITE"})

	// Answered and in the flow: a checkpoint with the whole record so far.
	rec.AnsweredAt, rec.Flow, rec.NodePath = start.Add(200*time.Millisecond), "hotline", []string{"welcome"}
	w.Submit(store.UpdateCall{Record: rec})

	// Hung up: the final record, every field.
	rec.EndedAt, rec.Disposition, rec.Contained = start.Add(31*time.Second), store.DispositionResolved, true
	rec.HangupCause, rec.HangupSide = "normal_clearing", store.HangupCaller
	rec.Quality = store.Quality{PacketsReceived: 1540, MOS: 4.3}
	w.Submit(store.FinishCall{Record: rec})

	if err := w.Close(); err != nil { // at shutdown: writes what is queued
		fmt.Println(err)
		return
	}
	got, err := s.Call(ctx, "c-1")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(got.State, got.Disposition, got.Duration(), got.Quality.MOS)
	// Output: ended resolved 31s 4.3
}
