package registrar_test

import (
	"context"
	"fmt"
	"net/netip"

	"github.com/hotline-ivr/hotline/sip/registrar"
)

// The ACD's view: agent1's two phones, the preferred one first, and the address each
// is reachable at.
func ExampleMemory() {
	m, err := registrar.NewMemory()
	if err != nil {
		panic(err)
	}
	defer m.Close()
	aor := registrar.AOR("agent1", "PBX.example.com")
	ctx := context.Background()
	for i, q := range []float64{0.5, 1} {
		uri := fmt.Sprintf("sip:agent1@192.168.1.%d:5060", 20+i)
		_, err := m.Register(ctx, registrar.Request{
			AOR: aor, CallID: fmt.Sprintf("phone-%d", i), CSeq: 1, Expires: 600,
			Contacts:  []registrar.Contact{{URI: uri, Value: "<" + uri + ">", Expires: registrar.NoExpires, Q: q}},
			Source:    netip.MustParseAddrPort(fmt.Sprintf("203.0.113.7:%d", 40000+i)),
			Transport: "udp",
		})
		if err != nil {
			panic(err)
		}
	}
	fmt.Println(aor)
	for _, b := range m.Lookup(aor) {
		fmt.Println(b.URI, b.Q, "via", b.Transport, b.Source)
	}
	// Output:
	// sip:agent1@pbx.example.com
	// sip:agent1@192.168.1.21:5060 1 via udp 203.0.113.7:40001
	// sip:agent1@192.168.1.20:5060 0.5 via udp 203.0.113.7:40000
}
