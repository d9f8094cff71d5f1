package webrtc

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestTURNCredentialsVectors checks the TURN REST API credentials against vectors
// computed independently with OpenSSL:
//
//	printf '%s' 1700000000:alice | openssl dgst -sha1 -hmac turn-shared-secret-0123 -binary | base64
func TestTURNCredentialsVectors(t *testing.T) {
	const secret = "turn-shared-secret-0123"
	for _, c := range []struct {
		user               string
		expires            int64
		wantUser, wantCred string
	}{
		{"alice", 1700000000, "1700000000:alice", "Al3QrJs3891RZD9W96+E2ZbvRTM="},
		{"webrtc", 1700000000, "1700000000:webrtc", "9zcwoMeXjnPWZ4PAJE9aHUf+SGQ="},
		{"a:b", 1234567890, "1234567890:a_b", "tOgxRwKc9fZQ6ZlefbCEBaRR2Rc="}, // the colon would split the expiry
	} {
		u, cred := TURNCredentials(secret, c.user, time.Unix(c.expires, 0))
		if u != c.wantUser || cred != c.wantCred {
			t.Errorf("TURNCredentials(%q, %d) = %q, %q; want %q, %q", c.user, c.expires, u, cred, c.wantUser, c.wantCred)
		}
	}
}

// TestTURNCredentialsInICEServers: with turn.secret, the hello and welcome
// messages carry fresh credentials on the TURN servers (expiring TTL from now, for
// that page's user), STUN servers stay as they are, and the configuration's static
// credentials are not handed out.
func TestTURNCredentialsInICEServers(t *testing.T) {
	const secret = "turn-shared-secret-0123"
	cfg := Config{
		ICEServers: []ICEServer{
			{URLs: []string{"stun:stun.example.net:3478"}},
			{URLs: []string{"turn:turn.example.net:3478?transport=udp", "turns:turn.example.net:5349"}, Username: "static", Credential: "static-pass"},
		},
		TURN:        TURNConfig{Secret: secret, TTL: time.Hour},
		AgentTokens: []AgentToken{{Agent: "alice", Token: "alice-token-0123456789"}},
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	noTURN := cfg
	noTURN.TURN = TURNConfig{}
	noTURN.ICEServers = []ICEServer{{URLs: []string{"turn:turn.example.net"}}}
	if err := noTURN.Validate(); err == nil || !strings.Contains(err.Error(), "turn.secret") {
		t.Errorf("a TURN server without credentials or secret: err %v, want one naming turn.secret", err)
	}
	bad := cfg
	bad.TURN = TURNConfig{Secret: "short", TTL: -time.Second}
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "turn.ttl") || !strings.Contains(err.Error(), "turn.secret shorter") {
		t.Errorf("bad turn settings: err %v, want turn.ttl and turn.secret errors", err)
	}

	st := newTestStackOpts(t, cfg, func(ctx context.Context, c *Call) { <-ctx.Done() }, WithAgents(newFakeDesk(), nil))
	check := func(what, user string, list []ICEServer, before time.Time) {
		t.Helper()
		if len(list) != 2 {
			t.Fatalf("%s: ice servers %+v, want 2", what, list)
		}
		if list[0].Username != "" || list[0].Credential != "" {
			t.Errorf("%s: the STUN server got credentials: %+v", what, list[0])
		}
		got := list[1]
		exp, name, ok := strings.Cut(got.Username, ":")
		if !ok || name != user {
			t.Fatalf("%s: TURN username %q, want <expiry>:%s", what, got.Username, user)
		}
		sec, err := strconv.ParseInt(exp, 10, 64)
		if err != nil {
			t.Fatalf("%s: TURN username %q: expiry: %v", what, got.Username, err)
		}
		if lo, hi := before.Add(time.Hour).Unix(), time.Now().Add(time.Hour).Unix(); sec < lo || sec > hi {
			t.Errorf("%s: TURN expiry %d, want between %d and %d (TTL from now)", what, sec, lo, hi)
		}
		if _, want := TURNCredentials(secret, user, time.Unix(sec, 0)); got.Credential != want {
			t.Errorf("%s: TURN credential %q, want %q", what, got.Credential, want)
		}
	}

	before := time.Now()
	p, _, err := dialWS(t, st, DefaultBasePath+"/ws", "")
	if err != nil {
		t.Fatal(err)
	}
	hello := p.next("hello")
	check("hello", DefaultCaller, hello.ICEServers, before)

	a, err := dialPath(t, st, DefaultBasePath+"/agent/ws")
	if err != nil {
		t.Fatal(err)
	}
	a.send(message{Type: msgLogin, Token: "alice-token-0123456789"})
	welcome := a.next("welcome")
	if welcome.Type != msgWelcome {
		t.Fatalf("got %+v, want welcome", welcome)
	}
	check("welcome", "alice", welcome.ICEServers, before)

	engine := st.ep.iceServers(time.Now())
	if len(engine) != 2 || !strings.HasSuffix(engine[1].Username, ":"+turnEngineUser) {
		t.Errorf("the engine's own ICE servers %+v, want a TURN username for %q", engine, turnEngineUser)
	}
}
