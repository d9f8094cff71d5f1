package record_test

import (
	"fmt"
	"log"
	"os"
	"time"

	"github.com/hotline-ivr/hotline/media/record"
)

// The media session feeds the recorder from its clock; the flow pauses it
// while the caller reads a card number; teardown closes it and stores the
// Info in the call record.
func Example() {
	dir, err := os.MkdirTemp("", "recordings")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	start := time.Date(2026, 5, 17, 9, 30, 0, 0, time.UTC)
	path := record.Path(dir, "a84b4c76e66710@pc33.example.com", start)
	rec, err := record.Create(path, 8000)
	if err != nil {
		log.Fatal(err)
	}
	caller, prompt := make([]int16, 160), make([]int16, 160) // 20 ms at 8 kHz
	for range 50 {
		rec.WriteStereo(caller, prompt)
	}
	rec.Pause() // "please enter your card number"
	for range 25 {
		rec.WriteStereo(caller, prompt)
	}
	rec.Resume()
	info, err := rec.Close()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(path[len(dir):])
	fmt.Println(info.Duration, info.Channels, info.Bytes, info.Dropped)
	fmt.Println(info.Pauses[0].Offset, info.Pauses[0].Length)
	// Output:
	// /2026/05/17/a84b4c76e66710@pc33.example.com.wav
	// 1.5s 2 48044 0
	// 1s 500ms
}
