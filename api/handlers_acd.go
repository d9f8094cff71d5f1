package api

import (
	"context"
	"net/http"
	"strings"
)

type queueList struct {
	Queues []QueueOverview `json:"queues"`
}

// overview reads one queue's live state and today's figures.
func overview(ctx context.Context, q Queues, name string) (QueueOverview, error) {
	st, err := q.QueueStatus(ctx, name)
	if err != nil {
		return QueueOverview{}, err
	}
	today, err := q.QueueToday(ctx, name)
	if err != nil {
		return QueueOverview{}, err
	}
	today.Targets = today.Targets.withDefaults()
	return QueueOverview{QueueStatus: st, Today: today}, nil
}

// overviews reads every queue's overview, in the backend's order.
func overviews(ctx context.Context, q Queues) ([]QueueOverview, error) {
	names, err := q.QueueNames(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]QueueOverview, 0, len(names))
	for _, n := range names {
		o, err := overview(ctx, q, n)
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, nil
}

func (s *Server) listQueues(w http.ResponseWriter, r *http.Request) {
	if !have(w, s.queues != nil, "queues") || !noParams(w, r) {
		return
	}
	list, err := overviews(r.Context(), s.queues)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, queueList{Queues: list})
}

func (s *Server) showQueue(w http.ResponseWriter, r *http.Request) {
	name, ok := pathValue(w, r, "queue")
	if !ok || !have(w, s.queues != nil, "queues") || !noParams(w, r) {
		return
	}
	o, err := overview(r.Context(), s.queues, name)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, o)
}

func (s *Server) queueFigures(w http.ResponseWriter, r *http.Request) {
	name, ok := pathValue(w, r, "queue")
	if !ok {
		return
	}
	s.figures(w, r, name)
}

func (s *Server) allFigures(w http.ResponseWriter, r *http.Request) { s.figures(w, r, "") }

// figures answers a queue's figures ("" for all) for ?from=&to=, today when
// neither is given.
func (s *Server) figures(w http.ResponseWriter, r *http.Request, queue string) {
	if !have(w, s.queues != nil, "queues") {
		return
	}
	from, to, today, err := parseSpan(r.URL.Query(), s.now())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if queue != "" {
		// An unknown queue is a 404, not a page of zeros.
		if _, err := s.queues.QueueStatus(r.Context(), queue); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	var f QueueFigures
	if today {
		f, err = s.queues.QueueToday(r.Context(), queue)
	} else {
		f, err = s.queues.QueueFigures(r.Context(), queue, from, to)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	f.Targets = f.Targets.withDefaults()
	writeJSON(w, http.StatusOK, f)
}

type agentList struct {
	Agents []AgentStatus `json:"agents"`
}

func (s *Server) listAgents(w http.ResponseWriter, r *http.Request) {
	if !have(w, s.agents != nil, "agents") || !noParams(w, r) {
		return
	}
	list, err := s.agents.Agents(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if list == nil {
		list = []AgentStatus{}
	}
	writeJSON(w, http.StatusOK, agentList{Agents: list})
}

func (s *Server) showAgent(w http.ResponseWriter, r *http.Request) {
	id, ok := pathValue(w, r, "id")
	if !ok || !have(w, s.agents != nil, "agents") || !noParams(w, r) {
		return
	}
	list, err := s.agents.Agents(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	for _, a := range list {
		if a.ID == id {
			writeJSON(w, http.StatusOK, a)
			return
		}
	}
	writeError(w, http.StatusNotFound, "agent "+quote(id)+": not found")
}

// maxReason bounds a break reason.
const maxReason = 128

func (s *Server) setPresence(w http.ResponseWriter, r *http.Request) {
	id, ok := pathValue(w, r, "id")
	if !ok {
		return
	}
	auditTarget(r, id, "")
	if !have(w, s.agents != nil, "agents") || !noParams(w, r) {
		return
	}
	var pc PresenceChange
	if !decodeJSON(w, r, &pc) {
		return
	}
	auditTarget(r, id, presenceDetail(pc))
	switch {
	case !pc.Presence.valid():
		writeError(w, http.StatusBadRequest, "presence "+quote(string(pc.Presence))+": want available, break or offline")
		return
	case pc.Reason != "" && pc.Presence != PresenceBreak:
		writeError(w, http.StatusBadRequest, "reason: only a break has a reason")
		return
	case pc.Reason != "" && !isText(pc.Reason, maxReason):
		writeError(w, http.StatusBadRequest, "reason: want at most 128 bytes of printable text")
		return
	}
	if err := s.agents.SetPresence(r.Context(), id, pc.Presence, pc.Reason); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// presenceDetail renders a presence change for the audit log.
func presenceDetail(pc PresenceChange) string {
	d := "presence=" + string(pc.Presence)
	if pc.Reason != "" {
		d += " reason=" + pc.Reason
	}
	return d
}

func (s *Server) agentReady(w http.ResponseWriter, r *http.Request) {
	id, ok := pathValue(w, r, "id")
	if !ok {
		return
	}
	auditTarget(r, id, "")
	if !have(w, s.agents != nil, "agents") || !noParams(w, r) {
		return
	}
	if err := s.agents.Ready(r.Context(), id); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// quote renders a client-supplied value inside a message, bounded.
func quote(s string) string { return `"` + strings.ReplaceAll(clip(s, 64), `"`, `\"`) + `"` }
