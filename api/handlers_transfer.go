package api

import (
	"context"
	"fmt"
	"net/http"
)

// CallTransferer is an optional interface of the Calls backend: the caller talking
// to an agent is handed to another agent, a queue or a number, blind or after a
// consultation. Defined here, by its consumer; the routes answer 501 when the
// Calls backend does not implement it.
type CallTransferer interface {
	// Transfer starts a transfer of call id's caller away from their agent. Blind:
	// the agent's call ends now and the caller is connected to req.To (back to
	// their queue if nobody answers). Attended: the caller hears music on hold while
	// req.To rings and then talks to the agent; CompleteTransfer or CancelTransfer
	// ends the consultation. It returns when the transfer started. ErrNotFound for
	// an unknown call, ErrConflict when it has no agent now or a transfer or a
	// supervisor is already in it, ErrInvalid for a bad mode or target.
	Transfer(ctx context.Context, id string, req TransferRequest) (TransferStarted, error)
	// CompleteTransfer hands the caller to the consulted target (who must have
	// answered) and releases the agent; ErrConflict without an answered
	// consultation.
	CompleteTransfer(ctx context.Context, id string) error
	// CancelTransfer hangs the consulted target up and reconnects the agent with
	// the caller; ErrConflict without a consultation.
	CancelTransfer(ctx context.Context, id string) error
}

// Transfer modes (TransferRequest.Mode).
const (
	TransferBlind    = "blind"    // the agent leaves at once
	TransferAttended = "attended" // the agent consults the target first
)

// TransferRequest is the body of POST /api/v1/calls/{id}/transfer.
type TransferRequest struct {
	// To is a queue name, an agent id or extension, or a number (tried in that
	// order).
	To string `json:"to"`
	// Mode is blind or attended.
	Mode string `json:"mode"`
}

// TransferStarted answers a transfer request.
type TransferStarted struct {
	CallID string `json:"call_id"`
	To     string `json:"to"`
	Mode   string `json:"mode"`
}

// transferer returns the Calls backend's CallTransferer, or answers 501/503.
func (s *Server) transferer(w http.ResponseWriter, r *http.Request) (CallTransferer, string, bool) {
	id, ok := pathValue(w, r, "id")
	if !ok {
		return nil, "", false
	}
	auditTarget(r, id, "")
	t, _ := s.calls.(CallTransferer)
	if !have(w, s.calls != nil, "calls") || !noParams(w, r) {
		return nil, "", false
	}
	if t == nil {
		writeError(w, http.StatusNotImplemented, "not implemented on this engine: agent transfers (the call backend has no Transfer)")
		return nil, "", false
	}
	return t, id, true
}

// transferCall handles POST /api/v1/calls/{id}/transfer.
func (s *Server) transferCall(w http.ResponseWriter, r *http.Request) {
	t, id, ok := s.transferer(w, r)
	if !ok {
		return
	}
	var req TransferRequest
	if !decodeJSON(w, r, &req) {
		return
	}
	switch req.Mode {
	case TransferBlind, TransferAttended:
	default:
		writeError(w, http.StatusBadRequest, "mode: want blind or attended")
		return
	}
	if !isText(req.To, maxParamLen) {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("to: want a queue, an agent id or extension, or a number, 1 to %d bytes of printable text", maxParamLen))
		return
	}
	auditTarget(r, id, "mode="+req.Mode+" to="+req.To)
	res, err := t.Transfer(r.Context(), id, req)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, res)
}

// completeTransfer handles POST /api/v1/calls/{id}/transfer/complete.
func (s *Server) completeTransfer(w http.ResponseWriter, r *http.Request) {
	t, id, ok := s.transferer(w, r)
	if !ok {
		return
	}
	if err := t.CompleteTransfer(r.Context(), id); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// cancelTransfer handles POST /api/v1/calls/{id}/transfer/cancel.
func (s *Server) cancelTransfer(w http.ResponseWriter, r *http.Request) {
	t, id, ok := s.transferer(w, r)
	if !ok {
		return
	}
	if err := t.CancelTransfer(r.Context(), id); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
