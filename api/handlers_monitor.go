package api

import (
	"context"
	"fmt"
	"net/http"
)

// CallMonitor is an optional interface of the Calls backend: a supervisor joins a
// live caller↔agent call from their own phone. Defined here, by its consumer; the
// route answers 501 when the Calls backend does not implement it.
type CallMonitor interface {
	// Monitor rings the supervisor's registered phone and, once they answer, joins
	// them to call id in req.Mode. It returns when the ringing has started, without
	// waiting for the answer (the call's log says when they joined). ErrNotFound for
	// an unknown call or an unknown supervisor, ErrConflict when the call has no
	// agent now, already has a supervisor, or the supervisor has no registered
	// phone; ErrInvalid for a bad mode.
	Monitor(ctx context.Context, id string, req MonitorRequest) (MonitorStarted, error)
}

// Monitor modes (MonitorRequest.Mode).
const (
	MonitorListen  = "listen"  // the supervisor hears caller and agent, nobody hears them
	MonitorWhisper = "whisper" // the supervisor is heard by the agent only (coaching)
	MonitorBarge   = "barge"   // the supervisor is heard by both
)

// MonitorRequest is the body of POST /api/v1/calls/{id}/monitor.
type MonitorRequest struct {
	// Mode is listen, whisper or barge.
	Mode string `json:"mode"`
	// Supervisor is the agent id or the extension whose registered phone is rung.
	Supervisor string `json:"supervisor"`
}

// MonitorStarted answers a monitor request: the supervisor's phone is ringing.
type MonitorStarted struct {
	CallID     string `json:"call_id"`
	Mode       string `json:"mode"`
	Supervisor string `json:"supervisor"`
	// Contact is the phone being rung (its registered contact URI).
	Contact string `json:"contact"`
}

// monitorCall handles POST /api/v1/calls/{id}/monitor.
func (s *Server) monitorCall(w http.ResponseWriter, r *http.Request) {
	id, ok := pathValue(w, r, "id")
	if !ok {
		return
	}
	auditTarget(r, id, "")
	m, _ := s.calls.(CallMonitor)
	if !have(w, s.calls != nil, "calls") || !noParams(w, r) {
		return
	}
	if m == nil {
		writeError(w, http.StatusNotImplemented, "not implemented on this engine: supervisor monitoring (the call backend has no Monitor)")
		return
	}
	var req MonitorRequest
	if !decodeJSON(w, r, &req) {
		return
	}
	switch req.Mode {
	case MonitorListen, MonitorWhisper, MonitorBarge:
	default:
		writeError(w, http.StatusBadRequest, "mode: want listen, whisper or barge")
		return
	}
	if !isText(req.Supervisor, maxParamLen) {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("supervisor: want an agent id or extension, 1 to %d bytes of printable text", maxParamLen))
		return
	}
	auditTarget(r, id, "mode="+req.Mode+" supervisor="+req.Supervisor)
	res, err := m.Monitor(r.Context(), id, req)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, res)
}
