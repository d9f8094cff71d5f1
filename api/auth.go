package api

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode"
)

// Role is what a token may do. Roles are ordered: each one may do everything the
// ones below it may.
type Role uint8

// The roles. The zero value is RoleUnknown, which may do nothing, so a token whose
// role was forgotten is refused rather than quietly allowed.
const (
	RoleUnknown    Role = iota
	RoleViewer          // read-only operations: calls, records, recordings, queues, agents, tickets, surveys, wallboard
	RoleSupervisor      // and queue and agent commands, hang-up, ticket status
	RoleAdmin           // and everything: flow reload, originate, bans
)

var roleNames = []string{"unknown", "viewer", "supervisor", "admin"}

// String returns the role's config name.
func (r Role) String() string {
	if int(r) < len(roleNames) {
		return roleNames[r]
	}
	return fmt.Sprintf("role(%d)", r)
}

// MarshalText encodes the role by name.
func (r Role) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// UnmarshalText decodes a role name (viewer, supervisor, admin).
func (r *Role) UnmarshalText(b []byte) error {
	p, err := ParseRole(string(b))
	if err == nil {
		*r = p
	}
	return err
}

// ParseRole reads a role name: viewer, supervisor or admin.
func ParseRole(s string) (Role, error) {
	for i, n := range roleNames {
		if i > 0 && n == s {
			return Role(i), nil
		}
	}
	return RoleUnknown, fmt.Errorf("role %q: want viewer, supervisor or admin", s)
}

// MinTokenLength is the shortest secret a TokenConfig may hold. Tokens are the only
// thing between the network and hang-up or originate, and the API does not rate
// limit guesses, so they must be long random strings (openssl rand -hex 32), not
// passwords.
const MinTokenLength = 24

// TokenConfig is one API token in the engine's configuration (key api.tokens):
//
//	api:
//	  tokens:
//	    - name: noc-wallboard           # who, as the audit log names them; unique
//	      role: viewer                  # viewer, supervisor or admin
//	      token: 3f1c…                  # the secret itself, at least 24 characters
//	    - name: ops-lead
//	      role: admin
//	      sha256: 9b71d224bd62f378…     # or only its SHA-256 in hex (`printf %s SECRET | sha256sum`)
//
// Exactly one of Token and SHA256 is set. The secret is hashed at load and only the
// hash is kept in memory; writing the hash in the file keeps the secret out of the
// configuration (and its backups) altogether.
type TokenConfig struct {
	// Name identifies the token in the audit log and the logs. Required, unique,
	// printable, at most 64 bytes.
	Name string `yaml:"name" json:"name"`
	// Role is viewer, supervisor or admin. Required.
	Role string `yaml:"role" json:"role"`
	// Token is the secret clients send as "Authorization: Bearer <token>", at least
	// MinTokenLength characters. Either Token or SHA256.
	Token string `yaml:"token" json:"token"`
	// SHA256 is the hex SHA-256 of the secret. Either Token or SHA256.
	SHA256 string `yaml:"sha256" json:"sha256"`
}

// Identity is who a request authenticated as.
type Identity struct {
	Name string // the token's name
	Role Role
}

// Tokens is the set of API tokens, by SHA-256 only. The zero value and nil hold no
// token: every protected route answers 401.
type Tokens struct {
	list []tokenEntry
}

type tokenEntry struct {
	id   Identity
	hash [sha256.Size]byte
}

// NewTokens validates the configured tokens and keeps their hashes. It reports
// every problem at once (each naming the entry), so a config is fixed in one pass.
func NewTokens(cfg []TokenConfig) (*Tokens, error) {
	var (
		t     Tokens
		errs  []error
		names = map[string]bool{}
		seen  = map[[sha256.Size]byte]string{}
	)
	for i, c := range cfg {
		bad := func(format string, args ...any) {
			errs = append(errs, fmt.Errorf("api.tokens[%d] (%s): %s", i, c.Name, fmt.Sprintf(format, args...)))
		}
		switch {
		case c.Name == "":
			bad("name is required")
		case len(c.Name) > 64 || strings.IndexFunc(c.Name, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0:
			bad("name must be at most 64 printable bytes")
		case names[c.Name]:
			bad("name is used by another token")
		}
		names[c.Name] = true
		role, err := ParseRole(c.Role)
		if err != nil {
			bad("%v", err)
		}
		var hash [sha256.Size]byte
		switch {
		case c.Token != "" && c.SHA256 != "":
			bad("set token or sha256, not both")
			continue
		case c.Token != "":
			if len(c.Token) < MinTokenLength {
				bad("token is shorter than %d characters: use a long random string (openssl rand -hex 32)", MinTokenLength)
				continue
			}
			hash = sha256.Sum256([]byte(c.Token))
		case c.SHA256 != "":
			b, err := hex.DecodeString(c.SHA256)
			if err != nil || len(b) != sha256.Size {
				bad("sha256 must be 64 hex digits")
				continue
			}
			copy(hash[:], b)
		default:
			bad("token or sha256 is required")
			continue
		}
		if other, dup := seen[hash]; dup {
			bad("same secret as token %q: each token must be its own, or the audit log cannot tell who acted", other)
			continue
		}
		seen[hash] = c.Name
		t.list = append(t.list, tokenEntry{id: Identity{Name: c.Name, Role: role}, hash: hash})
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return &t, nil
}

// HashToken returns the hex SHA-256 of a secret, as TokenConfig.SHA256 holds it.
func HashToken(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

// Len is the number of tokens.
func (t *Tokens) Len() int {
	if t == nil {
		return 0
	}
	return len(t.list)
}

// Authenticate returns the identity whose secret this is. It hashes the secret and
// compares the hash with every token's in constant time, without stopping at a
// match, so neither a token's bytes nor its place in the list can be learned from
// response times.
func (t *Tokens) Authenticate(secret string) (Identity, bool) {
	if t == nil || secret == "" {
		return Identity{}, false
	}
	h := sha256.Sum256([]byte(secret))
	var (
		found Identity
		ok    int
	)
	for _, e := range t.list {
		m := subtle.ConstantTimeCompare(h[:], e.hash[:])
		if m == 1 {
			found = e.id
		}
		ok |= m
	}
	return found, ok == 1
}

// cookieName is the wallboard's session cookie: it holds the token itself (see
// doc.go, "The wallboard and its token").
const cookieName = "hotline_wallboard"

// cookieMaxAge keeps a wallboard screen logged in for 30 days: wall displays are
// set up once and left running.
const cookieMaxAge = 30 * 24 * 60 * 60

// bearer returns the token of an "Authorization: Bearer" header (RFC 6750 §2.1;
// the scheme is case-insensitive, RFC 7235 §2.1), and whether one was presented.
func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return "", false
	}
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", true
	}
	return strings.TrimSpace(tok), true
}

// authenticate finds the request's identity: the bearer token, or (on routes that
// accept it) the wallboard cookie. presented reports whether any credential came,
// which decides RFC 6750's error="invalid_token".
func (s *Server) authenticate(r *http.Request, cookieOK bool) (id Identity, presented, ok bool) {
	if tok, has := bearer(r); has {
		id, ok = s.tokens.Authenticate(tok)
		return id, true, ok
	}
	if cookieOK {
		if c, err := r.Cookie(cookieName); err == nil && c.Value != "" {
			// base64url: a token may hold bytes a cookie value may not.
			tok, err := base64.RawURLEncoding.DecodeString(c.Value)
			if err != nil {
				return Identity{}, true, false
			}
			id, ok = s.tokens.Authenticate(string(tok))
			return id, true, ok
		}
	}
	return Identity{}, false, false
}

type identityKey struct{}

// IdentityFrom returns who the request authenticated as, for handlers wrapped
// around the API's.
func IdentityFrom(ctx context.Context) (Identity, bool) {
	id, ok := ctx.Value(identityKey{}).(Identity)
	return id, ok
}

// challenge is the WWW-Authenticate value of a 401 (RFC 6750 §3).
func challenge(presented bool) string {
	if presented {
		return `Bearer realm="hotline", error="invalid_token", error_description="unknown API token"`
	}
	return `Bearer realm="hotline"`
}
