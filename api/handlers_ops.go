package api

import (
	"context"
	_ "embed"
	"net/http"
	"strconv"
	"time"
)

//go:embed openapi.yaml
var openapiYAML []byte

type statusBody struct {
	Status string `json:"status"`
}

// healthz answers while the process can answer at all: a liveness probe restarts
// the engine only when it is wedged, never because it is busy.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, statusBody{Status: "alive"})
}

// readyTimeout bounds the readiness check: a probe that hangs is a probe that
// fails.
const readyTimeout = 2 * time.Second

// readyz answers 503 while the engine should get no new calls (draining, over
// capacity), so the dispatcher or load balancer in front sends them elsewhere.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if s.readiness != nil {
		ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
		defer cancel()
		if err := s.readiness.Ready(ctx); err != nil {
			w.Header().Set("Retry-After", "5")
			writeError(w, http.StatusServiceUnavailable, "not ready: "+err.Error())
			return
		}
	}
	writeJSON(w, http.StatusOK, statusBody{Status: "ready"})
}

// openapi serves the API's description. It is public: it documents an
// open-source API and holds no secret.
func (s *Server) openapi(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/yaml") // RFC 9512
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write(openapiYAML)
}

type flowList struct {
	Flows []FlowInfo `json:"flows"`
}

func (s *Server) listFlows(w http.ResponseWriter, r *http.Request) {
	if !have(w, s.flows != nil, "flows") || !noParams(w, r) {
		return
	}
	list, err := s.flows.Flows(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if list == nil {
		list = []FlowInfo{}
	}
	writeJSON(w, http.StatusOK, flowList{Flows: list})
}

// reloadFlows swaps in the flow files after validating them, or answers 422 with
// every problem while the old flows keep serving.
func (s *Server) reloadFlows(w http.ResponseWriter, r *http.Request) {
	auditTarget(r, "flows", "")
	if !have(w, s.flows != nil, "flows") || !noParams(w, r) {
		return
	}
	list, err := s.flows.Reload(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if list == nil {
		list = []FlowInfo{}
	}
	writeJSON(w, http.StatusOK, flowList{Flows: list})
}

type ticketList struct {
	Tickets []Ticket `json:"tickets"`
	Next    string   `json:"next,omitempty"`
	NextURL string   `json:"next_url,omitempty"`
}

func (s *Server) listTickets(w http.ResponseWriter, r *http.Request) {
	if !have(w, s.tickets != nil, "tickets") {
		return
	}
	q, err := parseTicketQuery(r.URL.Query())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	page, err := s.tickets.Tickets(r.Context(), q)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := ticketList{Tickets: page.Tickets, Next: page.Next}
	if out.Tickets == nil {
		out.Tickets = []Ticket{}
	}
	if page.Next != "" {
		q.Cursor = page.Next
		out.NextURL = "/api/v1/tickets?" + q.values().Encode()
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) showTicket(w http.ResponseWriter, r *http.Request) {
	id, ok := pathValue(w, r, "id")
	if !ok || !have(w, s.tickets != nil, "tickets") || !noParams(w, r) {
		return
	}
	t, err := s.tickets.Ticket(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, t)
}

func (s *Server) updateTicket(w http.ResponseWriter, r *http.Request) {
	id, ok := pathValue(w, r, "id")
	if !ok {
		return
	}
	auditTarget(r, id, "")
	if !have(w, s.tickets != nil, "tickets") || !noParams(w, r) {
		return
	}
	var up TicketUpdate
	if !decodeJSON(w, r, &up) {
		return
	}
	auditTarget(r, id, "status="+string(up.Status))
	if !up.Status.valid() {
		writeError(w, http.StatusBadRequest, "status "+quote(string(up.Status))+": want open, in_progress, resolved or closed")
		return
	}
	t, err := s.tickets.SetTicketStatus(r.Context(), id, up.Status)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, t)
}

// SurveySummary sums up the survey results of one answer.
type SurveySummary struct {
	Count int      `json:"count"`
	Mean  *float64 `json:"mean"` // null when there are none
	// ByScore counts the answers scoring 1 to 5 (index 0 is score 1).
	ByScore [5]int `json:"by_score"`
}

type surveyList struct {
	Results []SurveyResult `json:"results"`
	Summary SurveySummary  `json:"summary"`
	// Truncated: the limit was reached; the summary covers only these results.
	Truncated bool `json:"truncated"`
}

func (s *Server) listSurveys(w http.ResponseWriter, r *http.Request) {
	if !have(w, s.surveys != nil, "surveys") {
		return
	}
	q, err := parseSurveyQuery(r.URL.Query())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	res, err := s.surveys.SurveyResults(r.Context(), q)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if res == nil {
		res = []SurveyResult{}
	}
	limit := q.Limit
	if limit == 0 {
		limit = DefaultLimit
	}
	writeJSON(w, http.StatusOK, surveyList{Results: res, Summary: summarize(res), Truncated: len(res) >= limit})
}

// summarize counts and averages the scores 1 to 5 (others are ignored).
func summarize(res []SurveyResult) SurveySummary {
	var sum SurveySummary
	total := 0
	for _, r := range res {
		if r.Score < 1 || r.Score > 5 {
			continue
		}
		sum.Count++
		sum.ByScore[r.Score-1]++
		total += r.Score
	}
	if sum.Count > 0 {
		m := float64(total) / float64(sum.Count)
		sum.Mean = &m
	}
	return sum
}

type banList struct {
	Bans []Ban `json:"bans"`
}

func (s *Server) listBans(w http.ResponseWriter, r *http.Request) {
	if !have(w, s.bans != nil, "bans") || !noParams(w, r) {
		return
	}
	list, err := s.bans.Bans(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if list == nil {
		list = []Ban{}
	}
	writeJSON(w, http.StatusOK, banList{Bans: list})
}

func (s *Server) clearBan(w http.ResponseWriter, r *http.Request) {
	key, ok := pathValue(w, r, "key")
	if !ok {
		return
	}
	auditTarget(r, key, "")
	if !have(w, s.bans != nil, "bans") || !noParams(w, r) {
		return
	}
	if err := s.bans.Unban(r.Context(), key); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

type cleared struct {
	Cleared int `json:"cleared"`
}

func (s *Server) clearBans(w http.ResponseWriter, r *http.Request) {
	auditTarget(r, "*", "")
	if !have(w, s.bans != nil, "bans") || !noParams(w, r) {
		return
	}
	n, err := s.bans.UnbanAll(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	auditTarget(r, "*", "cleared="+strconv.Itoa(n))
	writeJSON(w, http.StatusOK, cleared{Cleared: n})
}
