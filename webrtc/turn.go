package webrtc

import (
	"crypto/hmac"
	"crypto/sha1" // the TURN REST API scheme is HMAC-SHA1: what coturn's use-auth-secret checks
	"encoding/base64"
	"strconv"
	"strings"
	"time"
)

// Short-lived TURN credentials (the "TURN REST API" scheme of
// draft-uberti-behave-turn-rest, which coturn implements as use-auth-secret and
// static-auth-secret): instead of one long-term password every page would carry,
// each page gets a username that names when it expires and whom it is for, and a
// password derived from it with a secret only hotline and the TURN server share.
// The TURN server checks the HMAC and the expiry itself: no user database, and a
// credential copied out of a page stops working after Config.TURN.TTL.

// DefaultTURNTTL is how long a handed-out TURN credential stays valid when
// Config.TURN.TTL is 0. An agent's softphone keeps its media connection (and its
// TURN allocation, refreshed with the same credential) for the whole shift, so the
// default covers a long one.
const DefaultTURNTTL = 12 * time.Hour

// TURNConfig enables short-lived TURN credentials: with Secret set, every turn: and
// turns: server of ICEServers is handed to pages (and used by the engine) with a
// credential made by TURNCredentials instead of a static username and credential.
type TURNConfig struct {
	// Secret is the TURN server's shared secret (coturn: static-auth-secret).
	Secret string `yaml:"secret"`
	// TTL is how long each credential is valid (default DefaultTURNTTL).
	TTL time.Duration `yaml:"ttl"`
}

// TURNCredentials returns the TURN REST API credential for user valid until
// expires: username "<expiry unix seconds>:<user>" and credential
// base64(HMAC-SHA1(secret, username)). A colon in user is replaced by "_" so the
// server, which splits at the first colon, reads the expiry right.
func TURNCredentials(secret, user string, expires time.Time) (username, credential string) {
	username = strconv.FormatInt(expires.Unix(), 10)
	if user != "" {
		username += ":" + strings.ReplaceAll(user, ":", "_")
	}
	mac := hmac.New(sha1.New, []byte(secret))
	mac.Write([]byte(username))
	return username, base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// turnEngineUser is the user part of the engine's own TURN usernames (its side of
// every call), so the TURN server's logs tell the engine from the pages.
const turnEngineUser = "hotline"

// isTURN reports whether a server URI is a TURN one (needs credentials).
func isTURN(uri string) bool {
	scheme, _, _ := strings.Cut(uri, ":")
	return scheme == "turn" || scheme == "turns"
}

// iceServersFor returns the ICE servers as a page (or the engine) named user gets
// them at now: with Config.TURN.Secret, TURN servers carry fresh short-lived
// credentials; otherwise the configuration's list as it is.
func (e *Endpoint) iceServersFor(user string, now time.Time) []ICEServer {
	if e.cfg.TURN.Secret == "" || len(e.cfg.ICEServers) == 0 {
		return e.cfg.ICEServers
	}
	out := make([]ICEServer, len(e.cfg.ICEServers))
	for i, s := range e.cfg.ICEServers {
		out[i] = s
		for _, u := range s.URLs {
			if isTURN(u) {
				out[i].Username, out[i].Credential = TURNCredentials(e.cfg.TURN.Secret, user, now.Add(e.cfg.TURN.TTL))
				break
			}
		}
	}
	return out
}
