package auth_test

import (
	"context"
	"fmt"
	"net/netip"

	"github.com/hotline-ivr/hotline/sip/auth"
)

// A registrar's handshake: no credentials, a challenge, the phone's answer.
func Example() {
	ctx := context.Background()
	users, err := auth.NewStaticUsers("hotline", map[string]auth.UserConfig{"agent1": {Password: "secret"}})
	if err != nil {
		panic(err)
	}
	a, err := auth.New("hotline", users)
	if err != nil {
		panic(err)
	}
	src := netip.MustParseAddr("192.0.2.10") // the socket's source address
	req := auth.Request{Method: "REGISTER", URI: "sip:pbx.example.com", Source: src}

	res, _ := a.Verify(ctx, req)
	fmt.Println("first REGISTER:", res.Reason)
	code, _ := a.Status()
	challenges := a.Challenge(src, res.Stale())
	fmt.Println(code, a.ChallengeHeader(), len(challenges))

	// The phone answers the first challenge it supports: SHA-256.
	ch, _ := auth.ParseChallenge(challenges[0])
	c := auth.Credentials{Username: "agent1", Realm: ch.Realm, Nonce: ch.Nonce, URI: "sip:pbx.example.com",
		Algorithm: ch.Algorithm, QOP: "auth", NC: "00000001", CNonce: "0a4f113b"}
	ha1 := auth.HA1(auth.SHA256, "agent1", ch.Realm, "secret")
	c.Response = auth.Response(auth.SHA256, ha1, c.Nonce, c.NC, c.CNonce, c.QOP, "REGISTER", c.URI)
	req.Credentials = []string{c.String()}

	res, _ = a.Verify(ctx, req)
	fmt.Println("second REGISTER:", res.OK, res.Username, res.Algorithm)
	res, _ = a.Verify(ctx, req)
	fmt.Println("the same again:", res.OK, res.Reason)
	// Output:
	// first REGISTER: missing
	// 401 WWW-Authenticate 2
	// second REGISTER: true agent1 SHA-256
	// the same again: false replay
}

// A trunk's inbound calls are challenged as a proxy does, MD5 only for a carrier
// that knows nothing else.
func ExampleWithProxy() {
	users := auth.UsersFunc(func(_ context.Context, user, _ string, _ auth.Algorithm) (auth.Credential, error) {
		if user != "carrier" {
			return auth.Credential{}, auth.ErrUnknownUser
		}
		return auth.Credential{Password: "trunk-secret"}, nil
	})
	a, err := auth.New("trunk.example.com", users, auth.WithProxy(), auth.WithAlgorithms(auth.MD5))
	if err != nil {
		panic(err)
	}
	code, reason := a.Status()
	fmt.Println(code, reason)
	fmt.Println(a.ChallengeHeader(), "/", a.CredentialsHeader())
	ch, _ := auth.ParseChallenge(a.Challenge(netip.MustParseAddr("203.0.113.5"), false)[0])
	fmt.Println(ch.Algorithm, ch.QOP)
	// Output:
	// 407 Proxy Authentication Required
	// Proxy-Authenticate / Proxy-Authorization
	// MD5 [auth]
}
