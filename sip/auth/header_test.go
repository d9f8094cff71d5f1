package auth

import (
	"errors"
	"strings"
	"testing"
)

// TestParseAuthorization: the RFC 7616 §3.9.1 header, and the shapes real phones send.
func TestParseAuthorization(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want Credentials
	}{{
		name: "RFC 7616 §3.9.1",
		in: `Digest username="Mufasa", realm="http-auth@example.org", uri="/dir/index.html", algorithm=SHA-256,
   nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", nc=00000001, cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
   qop=auth, response="753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1",
   opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"`,
		want: Credentials{Username: "Mufasa", Realm: "http-auth@example.org", URI: "/dir/index.html",
			Algorithm: "SHA-256", Nonce: "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", NC: "00000001",
			CNonce: "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", QOP: "auth",
			Response: "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1",
			Opaque:   "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"},
	}, {
		name: "sloppy phone: lowercase scheme, spaces around =, unquoted uri, quoted qop, unknown param, empty elements",
		in:   `digest username = "1001" ,, realm="pbx", nonce="n", uri=sip:pbx.example.com;transport=udp, response="abc", qop="auth", nc=00000002, cnonce="x", foo=bar,`,
		want: Credentials{Username: "1001", Realm: "pbx", Nonce: "n", URI: "sip:pbx.example.com;transport=udp",
			Response: "abc", QOP: "auth", NC: "00000002", CNonce: "x"},
	}, {
		name: "escapes in quoted strings",
		in:   `Digest username="a\"b\\c", realm="r", nonce="n", uri="sip:x", response="r"`,
		want: Credentials{Username: `a"b\c`, Realm: "r", Nonce: "n", URI: "sip:x", Response: "r"},
	}, {
		name: "userhash",
		in:   `Digest username="u", realm="r", nonce="n", uri="sip:x", response="r", userhash=TRUE`,
		want: Credentials{Username: "u", Realm: "r", Nonce: "n", URI: "sip:x", Response: "r", UserHash: true},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseAuthorization(tc.in)
			if err != nil {
				t.Fatalf("ParseAuthorization: %v", err)
			}
			if got != tc.want {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
			again, err := ParseAuthorization(got.String())
			if err != nil || again != got {
				t.Errorf("String() %q does not parse back: %+v, %v", got.String(), again, err)
			}
		})
	}
}

func TestParseAuthorizationErrors(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want error
	}{
		{`Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==`, ErrNotDigest},
		{``, ErrMalformed},
		{`Digest`, ErrMalformed},
		{`Digest `, ErrMalformed},
		{`Digestusername="a"`, ErrNotDigest},
		{`Digest username="a`, ErrMalformed},
		{`Digest username="a\`, ErrMalformed},
		{`Digest username`, ErrMalformed},
		{`Digest username=`, ErrMalformed},
		{`Digest =x`, ErrMalformed},
		{`Digest username="a" realm="r"`, ErrMalformed}, // missing comma
		{`Digest username="a", username="b", realm="r", nonce="n", uri="u", response="x"`, ErrMalformed},
		{`Digest username="a", realm="r", nonce="n", uri="u", response="x", response="y"`, ErrMalformed},
		{`Digest username="a", realm="r", nonce="n", uri="u"`, ErrMalformed}, // no response
		{`Digest username="a` + "\x00" + `", realm="r", nonce="n", uri="u", response="x"`, ErrMalformed},
		{`Digest username="a", realm="r", nonce="n", uri="u", response="x", ` + strings.Repeat("p=1, ", maxParams), ErrMalformed},
		{`Digest username="` + strings.Repeat("a", maxHeaderLen) + `"`, ErrMalformed},
	} {
		if _, err := ParseAuthorization(tc.in); !errors.Is(err, tc.want) {
			t.Errorf("ParseAuthorization(%.60q) error %v, want %v", tc.in, err, tc.want)
		}
	}
}

func TestChallengeRoundTrip(t *testing.T) {
	c := Challenge{Realm: `hot"line`, Nonce: "abc", Algorithm: "SHA-256", QOP: []string{"auth"}, Stale: true}
	s := c.String()
	if want := `Digest realm="hot\"line", nonce="abc", algorithm=SHA-256, qop="auth", stale=true`; s != want {
		t.Errorf("String() = %s\nwant        %s", s, want)
	}
	got, err := ParseChallenge(s)
	if err != nil {
		t.Fatal(err)
	}
	if got.Realm != c.Realm || got.Nonce != c.Nonce || got.Algorithm != c.Algorithm || !got.Stale ||
		len(got.QOP) != 1 || got.QOP[0] != "auth" {
		t.Errorf("parsed back %+v", got)
	}
	if _, err := ParseChallenge(`Digest realm="r"`); !errors.Is(err, ErrMalformed) {
		t.Errorf("challenge without nonce: %v", err)
	}
	multi, err := ParseChallenge(`Digest realm="r", nonce="n", qop="auth,auth-int"`)
	if err != nil || len(multi.QOP) != 2 || multi.QOP[1] != "auth-int" {
		t.Errorf("qop list: %+v %v", multi, err)
	}
}
