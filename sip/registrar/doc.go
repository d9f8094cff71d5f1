// Package registrar keeps the bindings of a SIP registrar (RFC 3261 §10): for each
// address-of-record (an agent's sip:agent1@domain), the contacts its phones registered,
// each until it expires. The ACD asks Lookup where an agent can be rung and Watch
// tells it when an agent's phones come online or go offline.
//
// Registrar is the interface; Memory is the in-memory implementation, and a shared
// (Redis) one can follow behind the same interface. The rules of RFC 3261 §10.3 live
// in Policy.Merge, a pure function from the current bindings and one REGISTER to the
// next bindings, so every implementation applies the same rules inside its own
// atomic step:
//
//   - expiry from the contact's expires parameter, else the Expires header, else
//     Policy.DefaultExpires; shortened to MaxExpires; below MinExpires refused with
//     423 Interval Too Brief and Min-Expires (step 5 and RFC 3261 §10.2.8);
//   - Contact: * with Expires: 0 removes every binding (step 6);
//   - a binding is updated only by a REGISTER with another Call-ID or a higher CSeq
//     of the same Call-ID, so a delayed or reordered request cannot undo a newer one
//     (step 7); all of a request's changes apply or none does.
//
// A Binding keeps, beside the Contact URI, the socket address and transport the
// REGISTER came from, and its Path (RFC 3327): a phone behind NAT registers a private
// Contact that no one can reach, but the address its REGISTER came from (the Via's
// received/rport, RFC 3581) is where the NAT forwards requests back to it. Requests to
// an agent go to Source over Transport unless Path names a proxy to go through.
//
// Expiry needs no goroutine per binding: Memory keeps every binding in one min-heap
// by expiry time and one sweeper goroutine sleeps until the earliest; Lookup also
// hides bindings past their time, so a late sweep never hands out a dead contact.
package registrar
