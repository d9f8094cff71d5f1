package auth

import (
	"context"
	"errors"
	"testing"
)

// FuzzParseAuthorization: the parser never panics, fails only with ErrMalformed or
// ErrNotDigest, and whatever it accepts survives a round trip through String. The
// seed corpus is in testdata/fuzz/FuzzParseAuthorization.
func FuzzParseAuthorization(f *testing.F) {
	for _, s := range []string{
		`Digest username="Mufasa", realm="http-auth@example.org", uri="/dir/index.html", algorithm=SHA-256, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", nc=00000001, cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", qop=auth, response="753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"`,
		`Digest username="agent1",realm="hotline",nonce="AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",uri="sip:127.0.0.1:5060",response="0123456789abcdef0123456789abcdef",algorithm=MD5,cnonce="abc",qop=auth,nc=00000001`,
		`digest username = "a\"b" ,, realm="r", nonce="n", uri=sip:x;transport=tcp, response="r",`,
		`Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==`,
		`Digest username="a`,
		`Digest a=b`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		c, err := ParseAuthorization(in)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrNotDigest) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		again, err := ParseAuthorization(c.String())
		if err != nil {
			t.Fatalf("String() of accepted credentials does not parse: %v\n%q", err, c.String())
		}
		if again != c {
			t.Fatalf("round trip changed the credentials:\n%+v\n%+v", c, again)
		}
	})
}

// FuzzVerify: whatever credentials arrive, Verify neither panics nor accepts them
// (the fuzzer cannot know the password), and every outcome is a known reason.
func FuzzVerify(f *testing.F) {
	f.Add(`Digest username="agent1", realm="hotline", nonce="AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", uri="sip:127.0.0.1:5060", response="0123456789abcdef0123456789abcdef", cnonce="x", qop=auth, nc=00000001`, "sip:127.0.0.1:5060")
	f.Add(`Digest username="agent1", realm="hotline", nonce="n", uri="sip:[::1]:5060;transport=tcp", response="00", qop=auth, nc=1`, "sip:[::1]:5060")
	f.Add(`Digest username="a", realm="hotline", nonce="n", uri="sip:%zz@x", response="r", algorithm=SHA-256, qop=auth-int`, "sips:x")
	users, err := NewStaticUsers(testRealm, map[string]UserConfig{"agent1": {Password: "secret"}})
	if err != nil {
		f.Fatal(err)
	}
	a, err := New(testRealm, users)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, header, uri string) {
		res, err := a.Verify(context.Background(), Request{Method: "REGISTER", URI: uri, Source: phone, Credentials: []string{header}})
		if err != nil || res.OK {
			t.Fatalf("Verify(%q) = %+v, %v", header, res, err)
		}
		if res.Reason == ReasonUnknown || res.Reason >= reasonCount {
			t.Fatalf("reason %v", res.Reason)
		}
	})
}
