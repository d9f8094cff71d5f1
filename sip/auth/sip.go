package auth

import (
	"context"
	"net/netip"

	gosip "github.com/emiago/sipgo/sip"
)

// SourceAddr is the socket source address of a request sipgo read from the network
// (its transport sets it; it is never taken from Via). The zero Addr when unknown.
func SourceAddr(req *gosip.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(req.Source())
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// FromSIP extracts the Request that Verify needs from a sipgo request.
func (a *Authenticator) FromSIP(req *gosip.Request) Request {
	r := Request{Method: string(req.Method), URI: req.Recipient.String(), Source: SourceAddr(req)}
	for _, h := range req.GetHeaders(a.CredentialsHeader()) {
		r.Credentials = append(r.Credentials, h.Value())
	}
	return r
}

// Authenticate verifies a sipgo request: Verify(ctx, FromSIP(req)).
func (a *Authenticator) Authenticate(ctx context.Context, req *gosip.Request) (Result, error) {
	return a.Verify(ctx, a.FromSIP(req))
}

// ChallengeResponse builds the 401 (407 WithProxy) that answers req after res, with a
// fresh challenge per algorithm. Every unauthenticated outcome gets the same response
// but for the nonce and the stale flag, which only a correct answer can earn.
func (a *Authenticator) ChallengeResponse(req *gosip.Request, res Result) *gosip.Response {
	code, reason := a.Status()
	resp := gosip.NewResponseFromRequest(req, code, reason, nil)
	name := a.ChallengeHeader()
	for _, v := range a.Challenge(SourceAddr(req), res.Stale()) {
		resp.AppendHeader(gosip.NewHeader(name, v))
	}
	return resp
}
