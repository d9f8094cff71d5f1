// Package auth is hotline's server side of SIP digest authentication (RFC 3261 §22,
// RFC 2617, RFC 7616, RFC 8760): it issues challenges and checks the credentials that
// answer them. sipgo only answers challenges; issuing and checking them is ours.
//
// An Authenticator serves one realm. As a user agent server or registrar it
// challenges with 401 and WWW-Authenticate and reads Authorization (§22.2); acting
// for a trunk (WithProxy) it uses 407, Proxy-Authenticate and Proxy-Authorization
// (§22.3). Every challenge offers SHA-256 and MD5 in that order (RFC 8760 §2.4: the
// client takes the first it supports), qop="auth" only (RFC 7616 §3.3). Some old
// clients abort on the SHA-256 header instead of taking the MD5 one (SIPp 3.6,
// libre 1.1 as in baresip 1.0); WithAlgorithms(MD5) serves them.
//
// # Nonces are stateless
//
// A nonce is a timestamp, eight random bytes and an HMAC-SHA256 over both, the realm
// and the client's IP address, under a server secret (nonce.go). Any engine node
// holding the same secret verifies it without shared state, a nonce given to one
// address is worthless from another, and its age is read from it: past NonceTTL
// (default 5 min) a correct answer gets a fresh challenge with stale=true (RFC 7616
// §3.3), so the phone retries without asking its user. Nodes need clocks within the
// TTL of each other.
//
// # Replay
//
// With qop=auth every answer carries a nonce count (nc) that the client increments
// for each request it sends with the same nonce (RFC 7616 §3.4). The authenticator
// remembers the highest nc accepted per nonce in a bounded LRU (replay.go) and
// rejects one not higher. When the LRU had to forget a nonce that may have been used,
// an answer with it gets a stale challenge rather than the benefit of the doubt. The
// table is per process: nodes sharing a secret should share it too (NonceCounter is
// the seam for a Redis implementation).
//
// # Nothing to learn for an attacker
//
// An unknown user, a known user with a wrong password and a malformed answer all get
// the same 401 (or 407) with a fresh challenge: there is no extension enumeration of
// the svwar kind. The work is the same too: an unknown user's answer is checked
// against a random HA1 of the right length, through the same hashes and the same
// constant-time comparison (crypto/subtle; nonce MACs with crypto/hmac). Failures
// are counted per source address and reported to a Limiter (the ban guard) and in
// hotline_sip_auth_failures_total by reason; the reason is for operators and never
// reaches the wire.
//
// Users supplies credentials: the plain password or the precomputed HA1 for the
// algorithm the client chose. StaticUsers is the configuration-backed one; it keeps
// HA1 values only, never passwords.
package auth
