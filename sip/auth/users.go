package auth

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// ErrUnknownUser is what Users.Lookup returns when it has no credential for the user
// in the realm with the algorithm. The authenticator answers it exactly as it answers
// a wrong password.
var ErrUnknownUser = errors.New("auth: unknown user")

// Credential is what the authenticator needs to check a user's answer: the HA1 for the
// algorithm asked (lowercase or uppercase hex) or, when the store has it, the plain
// password. HA1 wins when both are set.
type Credential struct {
	HA1      string
	Password string
}

// Users is a credential store.
type Users interface {
	// Lookup returns username's credential in realm for alg, or ErrUnknownUser. Any
	// other error is a store failure: the request gets a 500, not a challenge.
	Lookup(ctx context.Context, username, realm string, alg Algorithm) (Credential, error)
}

// UsersFunc adapts a function to Users.
type UsersFunc func(ctx context.Context, username, realm string, alg Algorithm) (Credential, error)

// Lookup calls f.
func (f UsersFunc) Lookup(ctx context.Context, username, realm string, alg Algorithm) (Credential, error) {
	return f(ctx, username, realm, alg)
}

// UserConfig is one user as configuration gives it: a password, or the HA1 values for
// the algorithms (so the configuration need not hold the password either). An HA1 is
// bound to the realm it was computed with.
type UserConfig struct {
	// Password is hashed into both HA1 values when the store is built and not kept.
	Password string
	// HA1MD5 is hex MD5(username:realm:password); used when Password is empty.
	HA1MD5 string
	// HA1SHA256 is hex SHA-256(username:realm:password); used when Password is empty.
	HA1SHA256 string
}

// StaticUsers is a fixed set of users of one realm, built from configuration. It holds
// HA1 values only. A user configured with the HA1 of one algorithm only is unknown for
// the other, which its phone then cannot use (offer that algorithm's HA1 too, or a
// password).
type StaticUsers struct {
	realm string
	ha1   map[Algorithm]map[string]string // algorithm -> username -> lowercase hex HA1
}

// NewStaticUsers builds the store for realm, checking every entry and reporting every
// problem at once.
func NewStaticUsers(realm string, users map[string]UserConfig) (*StaticUsers, error) {
	s := &StaticUsers{realm: realm, ha1: map[Algorithm]map[string]string{MD5: {}, SHA256: {}}}
	names := make([]string, 0, len(users))
	for name := range users {
		names = append(names, name)
	}
	sort.Strings(names)
	var errs []error
	for _, name := range names {
		u := users[name]
		if name == "" {
			errs = append(errs, errors.New("auth: user with an empty name"))
			continue
		}
		if u.Password != "" {
			if u.HA1MD5 != "" || u.HA1SHA256 != "" {
				errs = append(errs, fmt.Errorf("auth: user %q: give a password or HA1 values, not both", name))
				continue
			}
			s.ha1[MD5][name] = HA1(MD5, name, realm, u.Password)
			s.ha1[SHA256][name] = HA1(SHA256, name, realm, u.Password)
			continue
		}
		if u.HA1MD5 == "" && u.HA1SHA256 == "" {
			errs = append(errs, fmt.Errorf("auth: user %q: no password and no HA1", name))
			continue
		}
		for _, h := range [...]struct {
			alg Algorithm
			v   string
		}{{MD5, u.HA1MD5}, {SHA256, u.HA1SHA256}} {
			alg, v := h.alg, h.v
			if v == "" {
				continue
			}
			if !isHex(v, alg.hexLen()) {
				errs = append(errs, fmt.Errorf("auth: user %q: %s HA1 must be %d hex digits", name, alg, alg.hexLen()))
				continue
			}
			s.ha1[alg][name] = strings.ToLower(v)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return s, nil
}

// Lookup implements Users.
func (s *StaticUsers) Lookup(_ context.Context, username, realm string, alg Algorithm) (Credential, error) {
	if realm != s.realm {
		return Credential{}, ErrUnknownUser
	}
	ha1, ok := s.ha1[alg][username]
	if !ok {
		return Credential{}, ErrUnknownUser
	}
	return Credential{HA1: ha1}, nil
}

// Len is the number of users.
func (s *StaticUsers) Len() int {
	n := len(s.ha1[MD5])
	for u := range s.ha1[SHA256] {
		if _, ok := s.ha1[MD5][u]; !ok {
			n++
		}
	}
	return n
}

func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

var _ Users = (*StaticUsers)(nil)
