package webrtc_test

import (
	"context"
	"log"
	"net/http"

	"github.com/hotline-ivr/hotline/media"
	"github.com/hotline-ivr/hotline/webrtc"
)

// Browser callers on the engine's HTTP server: /call is the click-to-call page,
// /rtc/ws its signalling. The handler is what runs each call (the flow runtime).
func ExampleNew() {
	eng, err := media.NewEngine(media.Config{})
	if err != nil {
		log.Fatal(err)
	}
	defer eng.Close()
	ep, err := webrtc.New(webrtc.Config{DefaultCalled: "100"}, eng, func(ctx context.Context, ch *webrtc.Call) {
		if err := ch.Answer(ctx); err != nil {
			return
		}
		_ = ch.Play(ctx, media.Silence(media.DefaultPtime, ch.SampleRate()))
	})
	if err != nil {
		log.Fatal(err)
	}
	defer ep.Close()
	mux := http.NewServeMux()
	ep.Register(mux)
	_ = &http.Server{Addr: ":8080", Handler: mux}
	// Output:
}
