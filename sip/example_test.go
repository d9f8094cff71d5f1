package sip_test

import (
	"context"
	"log"
	"net/netip"
	"os/signal"
	"syscall"

	"github.com/hotline-ivr/hotline/media"
	"github.com/hotline-ivr/hotline/sip"
)

// A server that rings, answers and hangs up when the caller presses #.
func ExampleServer() {
	eng, err := media.NewEngine(media.Config{BindIP: netip.MustParseAddr("127.0.0.1")})
	if err != nil {
		log.Fatal(err)
	}
	defer eng.Close()
	handler := sip.HandlerFunc(func(ctx context.Context, c *sip.Call) {
		if err := c.Ring(ctx); err != nil {
			return
		}
		if err := c.Answer(ctx); err != nil {
			return // the caller hung up, or never sent the ACK
		}
		for {
			select {
			case d := <-c.Digits():
				if d == '#' {
					_ = c.Hangup(ctx)
					return
				}
			case <-ctx.Done():
				return
			}
		}
	})
	srv, err := sip.NewServer(sip.Config{Listen: []sip.Listen{{Transport: "udp", Addr: "127.0.0.1:5060"}}}, eng, handler)
	if err != nil {
		log.Fatal(err)
	}
	if err := srv.Listen(); err != nil {
		log.Fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := srv.Serve(ctx); err != nil { // until SIGINT/SIGTERM, then every call is hung up
		log.Fatal(err)
	}
}
