package api

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"
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

// Bounds of an agent's profile, checked as acd.yaml's loader checks the file.
const (
	maxAgentName   = 128
	maxAgentSkills = 64
	maxSkillName   = 64
	minPassword    = 8
	maxPassword    = 128
	minSkillLevel  = 1 // acd.MinSkillLevel
	maxSkillLevel  = 5 // acd.MaxSkillLevel
)

var (
	// agentIDPattern is what an agent id may be: it appears in paths, logs and the
	// agents file.
	agentIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)
	// extensionPattern is the user part a phone registers as (digits, letters and
	// the dial-plan characters).
	extensionPattern = regexp.MustCompile(`^[A-Za-z0-9+*#._-]{1,32}$`)
)

// agentAdmin returns the agents backend's admin side, or answers 501.
func (s *Server) agentAdmin(w http.ResponseWriter) (AgentAdmin, bool) {
	if !have(w, s.agents != nil, "agents") {
		return nil, false
	}
	a, ok := s.agents.(AgentAdmin)
	if !ok {
		writeError(w, http.StatusNotImplemented, "not implemented on this engine: changing agents (the agents backend has no AgentAdmin)")
	}
	return a, ok
}

// skillsProblems lists what is wrong with skills, in name order.
func skillsProblems(skills map[string]int) []string {
	var out []string
	if len(skills) > maxAgentSkills {
		out = append(out, fmt.Sprintf("skills: at most %d, got %d", maxAgentSkills, len(skills)))
		return out
	}
	for _, k := range slices.Sorted(maps.Keys(skills)) {
		if !isText(k, maxSkillName) || strings.TrimSpace(k) != k {
			out = append(out, fmt.Sprintf("skills: name %s: want 1 to %d bytes of printable text without surrounding spaces", quote(k), maxSkillName))
			continue
		}
		if v := skills[k]; v < minSkillLevel || v > maxSkillLevel {
			out = append(out, fmt.Sprintf("skills.%s: level %d is outside %d to %d", clip(k, 64), v, minSkillLevel, maxSkillLevel))
		}
	}
	return out
}

// specProblems lists every problem of an agent spec at once, as the YAML loader
// does, so a client fixes them in one pass.
func specProblems(a AgentSpec) []string {
	var out []string
	if !agentIDPattern.MatchString(a.ID) {
		out = append(out, "id "+quote(a.ID)+": want 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit")
	}
	if a.Name != "" && !isText(a.Name, maxAgentName) {
		out = append(out, fmt.Sprintf("name: want at most %d bytes of printable text", maxAgentName))
	}
	if a.Extension != "" && !extensionPattern.MatchString(a.Extension) {
		out = append(out, "extension "+quote(a.Extension)+": want 1 to 32 letters, digits or + * # . _ -")
	}
	out = append(out, skillsProblems(a.Skills)...)
	if a.Password != "" && (len(a.Password) < minPassword || !isText(a.Password, maxPassword)) {
		out = append(out, fmt.Sprintf("password: want %d to %d bytes of printable text", minPassword, maxPassword))
	}
	return out
}

// badRequest answers 400 with every problem, one after another.
func badRequest(w http.ResponseWriter, problems []string) bool {
	if len(problems) == 0 {
		return false
	}
	writeError(w, http.StatusBadRequest, strings.Join(problems, "; "))
	return true
}

// specDetail renders an agent spec for the audit log; never the password.
func specDetail(a AgentSpec) string {
	var b strings.Builder
	fmt.Fprintf(&b, "name=%s extension=%s skills=", a.Name, a.Extension)
	for i, k := range slices.Sorted(maps.Keys(a.Skills)) {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%s:%d", k, a.Skills[k])
	}
	if a.Password != "" {
		b.WriteString(" password=set")
	}
	return b.String()
}

func (s *Server) createAgent(w http.ResponseWriter, r *http.Request) {
	admin, ok := s.agentAdmin(w)
	if !ok || !noParams(w, r) {
		return
	}
	var a AgentSpec
	if !decodeJSON(w, r, &a) {
		return
	}
	auditTarget(r, a.ID, specDetail(a))
	if badRequest(w, specProblems(a)) {
		return
	}
	st, err := admin.CreateAgent(r.Context(), a)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/agents/"+st.ID)
	writeJSON(w, http.StatusCreated, st)
}

func (s *Server) updateAgent(w http.ResponseWriter, r *http.Request) {
	id, ok := pathValue(w, r, "id")
	if !ok {
		return
	}
	auditTarget(r, id, "")
	admin, ok := s.agentAdmin(w)
	if !ok || !noParams(w, r) {
		return
	}
	var a AgentSpec
	if !decodeJSON(w, r, &a) {
		return
	}
	auditTarget(r, id, specDetail(a))
	if a.ID != "" && a.ID != id {
		writeError(w, http.StatusBadRequest, "id "+quote(a.ID)+": the path names agent "+quote(id)+" (ids cannot be changed: create the new one, delete the old)")
		return
	}
	a.ID = id
	if badRequest(w, specProblems(a)) {
		return
	}
	st, err := admin.UpdateAgent(r.Context(), a)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

func (s *Server) setSkills(w http.ResponseWriter, r *http.Request) {
	id, ok := pathValue(w, r, "id")
	if !ok {
		return
	}
	auditTarget(r, id, "")
	admin, ok := s.agentAdmin(w)
	if !ok || !noParams(w, r) {
		return
	}
	var sc SkillsChange
	if !decodeJSON(w, r, &sc) {
		return
	}
	auditTarget(r, id, specDetail(AgentSpec{Skills: sc.Skills}))
	if sc.Skills == nil {
		writeError(w, http.StatusBadRequest, "skills: required (an empty object removes every skill)")
		return
	}
	if badRequest(w, skillsProblems(sc.Skills)) {
		return
	}
	st, err := admin.SetSkills(r.Context(), id, sc.Skills)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

func (s *Server) deleteAgent(w http.ResponseWriter, r *http.Request) {
	id, ok := pathValue(w, r, "id")
	if !ok {
		return
	}
	auditTarget(r, id, "")
	admin, ok := s.agentAdmin(w)
	if !ok || !noParams(w, r) {
		return
	}
	if err := admin.DeleteAgent(r.Context(), id); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
