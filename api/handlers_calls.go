package api

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"time"
	"unicode/utf8"
)

// pathValue returns a path parameter that must be printable text (ids, names);
// otherwise it answers 400.
func pathValue(w http.ResponseWriter, r *http.Request, name string) (string, bool) {
	v := r.PathValue(name)
	if !isText(v, maxParamLen) {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("%s: want 1 to %d bytes of printable text", name, maxParamLen))
		return "", false
	}
	return v, true
}

// noParams answers 400 when a route that takes no query parameters gets some.
func noParams(w http.ResponseWriter, r *http.Request) bool {
	if err := newParams(r.URL.Query()).err(); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return false
	}
	return true
}

type callList struct {
	Calls []ActiveCall `json:"calls"`
}

func (s *Server) listCalls(w http.ResponseWriter, r *http.Request) {
	if !have(w, s.calls != nil, "calls") || !noParams(w, r) {
		return
	}
	calls, err := s.calls.ActiveCalls(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	now := s.now()
	out := make([]ActiveCall, len(calls))
	for i, c := range calls {
		out[i] = s.withDuration(c, now)
	}
	slices.SortStableFunc(out, func(a, b ActiveCall) int { return a.StartedAt.Compare(b.StartedAt) })
	writeJSON(w, http.StatusOK, callList{Calls: out})
}

// withDuration fills how long a live call has lasted so far.
func (s *Server) withDuration(c ActiveCall, now time.Time) ActiveCall {
	if !c.StartedAt.IsZero() && now.After(c.StartedAt) {
		c.Duration = Duration(now.Sub(c.StartedAt))
	}
	return c
}

func (s *Server) showCall(w http.ResponseWriter, r *http.Request) {
	id, ok := pathValue(w, r, "id")
	if !ok || !have(w, s.calls != nil, "calls") || !noParams(w, r) {
		return
	}
	c, err := s.calls.ActiveCall(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.withDuration(c, s.now()))
}

// HangupRequest is the optional body of POST /api/v1/calls/{id}/hangup.
type HangupRequest struct {
	// Reason is written as the record's hang-up cause (default "api_hangup"):
	// lower-case letters, digits and underscores, like the engine's own causes.
	Reason string `json:"reason,omitempty"`
}

// DefaultHangupReason is the hang-up cause of a call ended through the API.
const DefaultHangupReason = "api_hangup"

var causeRE = regexp.MustCompile(`^[a-z0-9_]{1,64}$`)

func (s *Server) hangupCall(w http.ResponseWriter, r *http.Request) {
	id, ok := pathValue(w, r, "id")
	if !ok {
		return
	}
	auditTarget(r, id, "")
	if !have(w, s.calls != nil, "calls") || !noParams(w, r) {
		return
	}
	req := HangupRequest{Reason: DefaultHangupReason}
	if hasBody(r) {
		if !decodeJSON(w, r, &req) {
			return
		}
		if req.Reason == "" {
			req.Reason = DefaultHangupReason
		}
		if !causeRE.MatchString(req.Reason) {
			writeError(w, http.StatusBadRequest, "reason: want 1 to 64 of a-z, 0-9 and _ (a hang-up cause such as supervisor_ended)")
			return
		}
	}
	auditTarget(r, id, "reason="+req.Reason)
	if err := s.calls.Hangup(r.Context(), id, req.Reason); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// hasBody reports whether the request carries a body (optional bodies).
func hasBody(r *http.Request) bool {
	return r.ContentLength > 0 || (r.ContentLength < 0 && r.Header.Get("Content-Type") != "")
}

// Limits on an origination request: it dials out on the operator's trunk, so
// everything in it is bounded.
const (
	maxOriginateVars = 64
	maxVarValue      = 1024
	maxRingTimeout   = 5 * time.Minute
)

var (
	dialRE    = regexp.MustCompile(`^[A-Za-z0-9+*#._@:-]{1,64}$`)
	varNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)
)

// validate reports every problem of an origination request.
func (o OriginateRequest) validate() error {
	p := &params{}
	if !dialRE.MatchString(o.To) {
		p.bad("to %q: want 1 to 64 of digits, letters and + * # . _ @ : -", clip(o.To, 40))
	}
	if o.From != "" && !dialRE.MatchString(o.From) {
		p.bad("from %q: want 1 to 64 of digits, letters and + * # . _ @ : -", clip(o.From, 40))
	}
	if !isText(o.Flow, 128) {
		p.bad("flow: the name of a loaded flow is required")
	}
	if o.Trunk != "" && !isText(o.Trunk, 64) {
		p.bad("trunk: want at most 64 bytes of printable text")
	}
	if len(o.Vars) > maxOriginateVars {
		p.bad("vars: at most %d", maxOriginateVars)
	}
	names := make([]string, 0, len(o.Vars))
	for k := range o.Vars {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		if !varNameRE.MatchString(k) {
			p.bad("vars: %q is not a variable name", clip(k, 40))
		}
		if v := o.Vars[k]; len(v) > maxVarValue || !utf8.ValidString(v) {
			p.bad("vars.%s: want at most %d bytes of UTF-8", clip(k, 40), maxVarValue)
		}
	}
	if o.RingTimeout < 0 || o.RingTimeout.Std() > maxRingTimeout {
		p.bad("ring_timeout_seconds: want 0 to %.0f", maxRingTimeout.Seconds())
	}
	return p.err()
}

func (s *Server) originate(w http.ResponseWriter, r *http.Request) {
	if !have(w, s.originator != nil, "originator") || !noParams(w, r) {
		return
	}
	var req OriginateRequest
	if !decodeJSON(w, r, &req) {
		return
	}
	detail := fmt.Sprintf("to=%s flow=%s", req.To, req.Flow)
	if req.Trunk != "" {
		detail += " trunk=" + req.Trunk
	}
	auditTarget(r, req.To, detail)
	if err := req.validate(); err != nil {
		s.fail(w, r, err)
		return
	}
	id, err := s.originator.Originate(r.Context(), req)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	auditTarget(r, id, detail)
	w.Header().Set("Location", "/api/v1/calls/"+url.PathEscape(id))
	writeJSON(w, http.StatusAccepted, Originated{CallID: id})
}

type recordList struct {
	Records []CallRecord `json:"records"`
	Next    string       `json:"next,omitempty"`     // the cursor of the next page
	NextURL string       `json:"next_url,omitempty"` // the next page's URL, same filter
}

func (s *Server) searchRecords(w http.ResponseWriter, r *http.Request) {
	if !have(w, s.records != nil, "records") {
		return
	}
	q, err := ParseRecordQuery(r.URL.Query())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	page, err := s.records.SearchRecords(r.Context(), q)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := recordList{Records: make([]CallRecord, len(page.Records)), Next: page.Next}
	for i, rec := range page.Records {
		out.Records[i] = normalizeRecord(rec)
	}
	if page.Next != "" {
		q.Cursor = page.Next
		out.NextURL = "/api/v1/records?" + q.Values().Encode()
	}
	writeJSON(w, http.StatusOK, out)
}

// normalizeRecord fills the duration of an ended record when the backend did not.
func normalizeRecord(rec CallRecord) CallRecord {
	if rec.Duration == 0 && !rec.EndedAt.IsZero() && rec.EndedAt.After(rec.StartedAt) {
		rec.Duration = Duration(rec.EndedAt.Sub(rec.StartedAt))
	}
	return rec
}

func (s *Server) showRecord(w http.ResponseWriter, r *http.Request) {
	id, ok := pathValue(w, r, "id")
	if !ok || !have(w, s.records != nil, "records") || !noParams(w, r) {
		return
	}
	rec, err := s.records.Record(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	tl, err := s.records.Timeline(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if tl == nil {
		tl = []TimelineEvent{}
	}
	writeJSON(w, http.StatusOK, RecordDetail{CallRecord: normalizeRecord(rec), Timeline: tl})
}
