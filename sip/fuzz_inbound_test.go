package sip

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"testing"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/hotline-ivr/hotline/media"
	"github.com/hotline-ivr/hotline/sip/guard"
)

type noMedia struct{}

func (noMedia) NewSession(*slog.Logger) (*media.Session, error) {
	return nil, errors.New("no media in this test")
}

// FuzzInbound feeds raw bytes through the path a datagram takes in the server before
// a call exists: the transport read filter, sipgo's parser, the guard, the
// validation layer, the inbound policy (trunk matching, digest verification) and
// the routing. No input may panic. Seeds: the RFC 4475 torture messages and
// testdata/fuzz/FuzzInbound.
func FuzzInbound(f *testing.F) {
	files, _ := filepath.Glob("testdata/torture/*/*.dat")
	for _, file := range files {
		if b, err := os.ReadFile(file); err == nil {
			f.Add(b)
		}
	}
	g, err := guard.New(guard.Config{BlockScanners: true})
	if err != nil {
		f.Fatal(err)
	}
	router, err := NewRouter([]RouteConfig{{Number: "+1NXXNXXXXXX", Trunk: "carrier", Flow: "a"}, {Regex: `^\d+$`, Flow: "b"}})
	if err != nil {
		f.Fatal(err)
	}
	s, err := NewServer(Config{Listen: []Listen{{"udp", "127.0.0.1:0"}}, Guard: g, Route: router.Route,
		Inbound: InboundConfig{Trunks: []InboundTrunk{
			{Name: "carrier", Sources: []string{"127.0.0.0/8"}, Numbers: NumberPlan{CountryCode: "1", NationalPrefix: "1"}},
			{Name: "pbx", Username: "pbx", Password: "pw"},
		}}}, noMedia{}, HandlerFunc(func(context.Context, *Call) {}),
		WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		f.Fatal(err)
	}
	parser := gosip.NewParser()
	remote := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5070}
	f.Fuzz(func(t *testing.T, data []byte) {
		data, _ = s.readFilter(gosip.TransportReadProps{Transport: "UDP", RemoteAddr: remote}, data)
		if len(data) == 0 {
			return
		}
		msg, err := parser.ParseSIP(data)
		if err != nil {
			return
		}
		req, ok := msg.(*gosip.Request)
		if !ok {
			return
		}
		req.SetSource(remote.String())
		req.SetTransport("UDP")
		if code, _, _, _ := s.validate(req); code != 0 {
			return
		}
		if !req.IsInvite() {
			return
		}
		if _, _, _, ok := s.checkInvite(req); !ok {
			return
		}
		adm := s.admit(context.Background(), req)
		if adm.code != 0 {
			return
		}
		info := s.inviteInfo(req)
		if adm.trunk != nil {
			adm.trunk.apply(&info)
		}
		_, _ = router.Route(info)
	})
}
