package auth

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// TestStaticUsers: passwords become HA1 values for both algorithms; configured HA1
// values are used as given (case-insensitively); a user lacking one algorithm's HA1
// is unknown for it; another realm knows nobody.
func TestStaticUsers(t *testing.T) {
	ha1md5 := HA1(MD5, "legacy", testRealm, "pw")
	s, err := NewStaticUsers(testRealm, map[string]UserConfig{
		"agent1": {Password: "secret"},
		"legacy": {HA1MD5: strings.ToUpper(ha1md5)},
		"both":   {HA1MD5: HA1(MD5, "both", testRealm, "x"), HA1SHA256: HA1(SHA256, "both", testRealm, "x")},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, tc := range []struct {
		user  string
		realm string
		alg   Algorithm
		want  string // "" : unknown
	}{
		{"agent1", testRealm, MD5, HA1(MD5, "agent1", testRealm, "secret")},
		{"agent1", testRealm, SHA256, HA1(SHA256, "agent1", testRealm, "secret")},
		{"legacy", testRealm, MD5, ha1md5},
		{"legacy", testRealm, SHA256, ""},
		{"both", testRealm, SHA256, HA1(SHA256, "both", testRealm, "x")},
		{"agent1", "other", MD5, ""},
		{"nobody", testRealm, MD5, ""},
	} {
		c, err := s.Lookup(ctx, tc.user, tc.realm, tc.alg)
		switch {
		case tc.want == "" && !errors.Is(err, ErrUnknownUser):
			t.Errorf("%s@%s %s: %+v %v, want unknown", tc.user, tc.realm, tc.alg, c, err)
		case tc.want != "" && (err != nil || c.HA1 != tc.want || c.Password != ""):
			t.Errorf("%s@%s %s: %+v %v, want HA1 %s", tc.user, tc.realm, tc.alg, c, err, tc.want)
		}
	}
	if s.Len() != 3 {
		t.Errorf("Len %d", s.Len())
	}
}

// TestStaticUsersErrors: every bad entry is reported at once.
func TestStaticUsersErrors(t *testing.T) {
	_, err := NewStaticUsers(testRealm, map[string]UserConfig{
		"":       {Password: "x"},
		"empty":  {},
		"mixed":  {Password: "x", HA1MD5: HA1(MD5, "mixed", testRealm, "x")},
		"short":  {HA1MD5: "abc"},
		"nothex": {HA1SHA256: strings.Repeat("z", 64)},
	})
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{"empty name", `"empty"`, `"mixed"`, `"short"`, `"nothex"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %s:\n%v", want, err)
		}
	}
}
