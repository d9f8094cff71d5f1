// Package api is hotline's HTTP face for operations: a JSON REST API under
// /api/v1 described by openapi.yaml, the health probes /healthz and /readyz, and
// the live wallboard at /wallboard. The engine's /metrics is not here: cmd mounts
// Prometheus' handler beside this one.
//
// # Shape
//
// Server is an http.Handler built with New and options. Every backend it serves
// (live calls, call records, recordings, queues, agents, flows, tickets, surveys,
// bans, readiness, the wallboard's data) is a small interface defined here, in the
// consumer, and wired by cmd/hotline from sip, ivr, acd, flows and store; api
// imports none of them (imports_test.go). A backend left nil makes its routes
// answer 501 naming what is missing, so a partial engine serves the rest. Backends
// choose the status of their errors by wrapping ErrNotFound (404), ErrInvalid
// (400), ErrConflict (409) or ErrUnavailable (503); a *ValidationError from a flow
// reload is a 422 listing every problem; any other error is a 500 whose detail is
// logged, not sent. Every error answer is {"error": "..."}.
//
// Routes are registered in one table (routes.go) with the role each needs and,
// for state-changing ones, an audit action. openapi_test.go checks that the spec
// and the table list the same methods, paths and roles, and that the answers of
// the handler tests match the spec's schemas.
//
// # Tokens and roles
//
// Clients send "Authorization: Bearer <token>" (RFC 6750). Tokens come from the
// configuration (TokenConfig) with a name and a role: viewer (every read),
// supervisor (and hang-up, agent presence and ready, ticket status) or admin (and
// flow reload, originate, bans). Only their SHA-256 is kept; a presented token is
// hashed and compared with every stored hash in constant time. No token or an
// unknown one is a 401 with WWW-Authenticate; a role too low is a 403. Without
// tokens the API is closed, not open. Comparing hashes rather than the secrets
// means the comparison's time depends on neither the secret's length nor its
// bytes; the tokens themselves must be long and random (MinTokenLength), since
// nothing here slows down guessing.
//
// # Audit
//
// Every request to a state-changing route is written to the AuditLog once
// answered, refused ones (401, 403, 4xx) included: the token's name and role, the
// action, method, path, target, what was asked, the status and error, the time and
// the peer's IP. FileAuditLog appends JSON lines and syncs each one. X-Forwarded-For
// is not trusted: a proxy in front logs the client's address itself.
//
// # The wallboard and its token
//
// The wallboard is a page (web/, embedded, no build step, no external resource)
// fed by server-sent events from /api/v1/events/wallboard. One goroutine samples
// the Wallboard interface every second, whatever the number of viewers, and keeps
// the last hour's per-minute peaks for the chart; each viewer gets the latest
// update, and a slow one skips updates rather than delaying the others. The page
// reconnects when the stream drops (with backoff, and back to the login form if
// the token has been revoked) and when it falls silent.
//
// A browser cannot put a bearer header on a page load or an EventSource, so the
// wallboard's token travels another way. The choice is a cookie set by a small
// login form (POST /wallboard/login), not a ?token= query parameter: a token in a
// URL ends up in browser history, bookmarks, proxy and server access logs and
// screenshots of the address bar, and is hard to take back from a wall screen
// someone photographed. The cookie holds the token itself (base64url), so it
// survives engine restarts and is revoked by removing the token from the
// configuration; it is HttpOnly (page scripts cannot read it), SameSite=Strict,
// Secure over TLS (WithSecureCookie behind a TLS proxy), and kept 30 days for
// screens set up once. It is accepted only by the wallboard's three read-only
// routes (the page, its snapshot and its stream), never by a route that changes
// state, so a forged cross-site request can do nothing with it; the login form
// also refuses cross-site posts. The page's Content-Security-Policy allows only
// its own script, style and stream.
//
// # Lifecycle
//
// Close stops the wallboard sampler and ends the event streams; call it before
// http.Server.Shutdown, which otherwise waits for those never-ending responses.
package api
