package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"sync"
	"time"
)

// DefaultWallboardInterval is how often the wallboard is pushed to viewers.
const DefaultWallboardInterval = time.Second

// maxBody bounds request bodies: every request body is a small JSON object.
const maxBody = 64 << 10

// Server is the HTTP API, the health probes and the wallboard. It is an
// http.Handler: cmd mounts it at "/" beside the engine's own /metrics. Close
// stops the wallboard stream before http.Server.Shutdown, which would otherwise
// wait for the never-ending event streams.
type Server struct {
	log          *slog.Logger
	now          func() time.Time
	tokens       *Tokens
	audit        AuditLog
	interval     time.Duration
	secureCookie bool

	calls      Calls
	originator Originator
	records    Records
	recordings Recordings
	queues     Queues
	agents     Agents
	flows      Flows
	tickets    Tickets
	surveys    Surveys
	bans       Bans
	readiness  Readiness
	wallboard  Wallboard

	mux    *http.ServeMux
	routes []Route
	hub    *hub

	closeOnce sync.Once
}

// Option configures a Server.
type Option func(*Server)

// WithTokens sets the API tokens (NewTokens). Without tokens every protected
// route answers 401: the API is closed, never open, by default.
func WithTokens(t *Tokens) Option { return func(s *Server) { s.tokens = t } }

// WithAuditLog sets where state-changing requests are recorded (OpenAuditFile).
// Without it they are logged through the logger at info level.
func WithAuditLog(a AuditLog) Option { return func(s *Server) { s.audit = a } }

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option { return func(s *Server) { s.log = l } }

// WithClock sets the clock (default time.Now): tests pass a fixed one.
func WithClock(now func() time.Time) Option { return func(s *Server) { s.now = now } }

// WithWallboardInterval sets how often the wallboard is sampled and pushed
// (default DefaultWallboardInterval).
func WithWallboardInterval(d time.Duration) Option { return func(s *Server) { s.interval = d } }

// WithSecureCookie marks the wallboard cookie Secure even on plain HTTP requests:
// set it when a TLS proxy terminates in front of the engine. Requests that came
// over TLS get a Secure cookie anyway.
func WithSecureCookie(on bool) Option { return func(s *Server) { s.secureCookie = on } }

// Backends. Each one left unset makes its routes answer 501.

// WithCalls serves the live calls and hang-up.
func WithCalls(c Calls) Option { return func(s *Server) { s.calls = c } }

// WithOriginator serves outbound calls into a flow.
func WithOriginator(o Originator) Option { return func(s *Server) { s.originator = o } }

// WithRecords serves call records and timelines.
func WithRecords(r Records) Option { return func(s *Server) { s.records = r } }

// WithRecordings serves recording files (DirRecordings).
func WithRecordings(r Recordings) Option { return func(s *Server) { s.recordings = r } }

// WithQueues serves queue status and figures.
func WithQueues(q Queues) Option { return func(s *Server) { s.queues = q } }

// WithAgents serves agents and their commands.
func WithAgents(a Agents) Option { return func(s *Server) { s.agents = a } }

// WithFlows serves the flow list and reload.
func WithFlows(f Flows) Option { return func(s *Server) { s.flows = f } }

// WithTickets serves tickets.
func WithTickets(t Tickets) Option { return func(s *Server) { s.tickets = t } }

// WithSurveys serves survey results.
func WithSurveys(v Surveys) Option { return func(s *Server) { s.surveys = v } }

// WithBans serves the flood guard's bans.
func WithBans(b Bans) Option { return func(s *Server) { s.bans = b } }

// WithReadiness makes /readyz reflect draining and capacity. Without it /readyz
// answers ready whenever the process answers at all.
func WithReadiness(r Readiness) Option { return func(s *Server) { s.readiness = r } }

// WithWallboard feeds the wallboard (NewWallboard). Setting it starts the
// goroutine that samples it every interval; Close stops it.
func WithWallboard(w Wallboard) Option { return func(s *Server) { s.wallboard = w } }

// New builds the Server and, with a Wallboard, starts sampling it.
func New(opts ...Option) (*Server, error) {
	s := &Server{now: time.Now, interval: DefaultWallboardInterval}
	for _, o := range opts {
		o(s)
	}
	var errs []error
	if s.interval <= 0 {
		errs = append(errs, fmt.Errorf("api: wallboard interval %v: want > 0", s.interval))
	}
	if s.now == nil {
		errs = append(errs, errors.New("api: nil clock"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.audit == nil {
		s.audit = slogAudit{s.log}
	}
	if s.tokens.Len() == 0 {
		s.log.Warn("api: no API tokens configured: every API route will answer 401")
	}
	s.mux = http.NewServeMux()
	s.register()
	if s.wallboard != nil {
		s.hub = newHub(s.wallboard, s.interval, s.now, s.log)
		s.hub.start()
	}
	return s, nil
}

// Close stops the wallboard sampler and ends every event stream, so that
// http.Server.Shutdown can finish. It is idempotent. It does not close the
// AuditLog: its owner does.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		if s.hub != nil {
			s.hub.stop()
		}
	})
	return nil
}

// Route is one registered route: the OpenAPI test checks the spec against these,
// and cmd may list them.
type Route struct {
	Method string // GET, POST, PUT, PATCH or DELETE
	Path   string // a ServeMux path pattern: /api/v1/calls/{id}
	Public bool   // no token needed (health, the spec, the wallboard's assets and login)
	Role   Role   // the least role allowed, when not Public
	// Action names a state-changing route in the audit log ("" for reads).
	Action string
	// Cookie: the wallboard cookie is accepted as well as a bearer token. Only
	// read-only routes accept it, so a cross-site request can never change state
	// with it.
	Cookie bool
	// Page: an unauthenticated request gets the login form (HTML), not JSON.
	Page bool
}

// Routes lists the registered routes in registration order.
func (s *Server) Routes() []Route { return append([]Route(nil), s.routes...) }

// handle registers a route through the one path every request takes: security
// headers, authentication, role check, audit.
func (s *Server) handle(rt Route, h http.HandlerFunc) {
	s.routes = append(s.routes, rt)
	s.mux.HandleFunc(rt.Method+" "+rt.Path, func(w http.ResponseWriter, r *http.Request) {
		s.serve(rt, h, w, r)
	})
}

func (s *Server) serve(rt Route, h http.HandlerFunc, w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	var id Identity
	if rt.Action != "" {
		sw := &statusWriter{ResponseWriter: w}
		rec := &auditRecord{}
		w = sw
		r = r.WithContext(context.WithValue(r.Context(), auditKey{}, rec))
		defer func() { s.writeAudit(r, rt, id, rec, sw) }()
	}
	if !rt.Public {
		var presented, ok bool
		id, presented, ok = s.authenticate(r, rt.Cookie)
		if !ok {
			w.Header().Set("WWW-Authenticate", challenge(presented))
			if rt.Page {
				s.loginPage(w, http.StatusUnauthorized, "")
				return
			}
			msg := "missing API token: send Authorization: Bearer <token>"
			if presented {
				msg = "unknown API token"
			}
			writeError(w, http.StatusUnauthorized, msg)
			return
		}
		if id.Role < rt.Role {
			w.Header().Set("WWW-Authenticate", `Bearer realm="hotline", error="insufficient_scope"`)
			writeError(w, http.StatusForbidden, fmt.Sprintf("token %q has role %s; this needs %s", id.Name, id.Role, rt.Role))
			return
		}
		r = r.WithContext(context.WithValue(r.Context(), identityKey{}, id))
	}
	h(w, r)
}

// ServeHTTP routes the request. Requests no route matches get JSON errors like
// every other answer (ServeMux's own are plain text).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if _, pattern := s.mux.Handler(r); pattern == "" {
		w = &jsonMiss{ResponseWriter: w}
	}
	s.mux.ServeHTTP(w, r)
}

// jsonMiss turns ServeMux's plain-text 404 and 405 into JSON errors, keeping its
// Allow header.
type jsonMiss struct {
	http.ResponseWriter
	swallow bool
}

func (w *jsonMiss) WriteHeader(code int) {
	if code != http.StatusNotFound && code != http.StatusMethodNotAllowed {
		w.ResponseWriter.WriteHeader(code)
		return
	}
	w.swallow = true
	msg := "no such route: see /api/v1/openapi.yaml"
	if code == http.StatusMethodNotAllowed {
		msg = "method not allowed; allowed: " + w.Header().Get("Allow")
	}
	writeError(w.ResponseWriter, code, msg)
}

func (w *jsonMiss) Write(b []byte) (int, error) {
	if w.swallow {
		return len(b), nil
	}
	return w.ResponseWriter.Write(b)
}

// errorBody is every error answer: {"error": "..."}; flow reloads add problems.
type errorBody struct {
	Error    string    `json:"error"`
	Problems []Problem `json:"problems,omitempty"`
}

// writeJSON answers v as JSON. API answers are never cached: they are live state
// or access-controlled records.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"internal error: answer not encodable"}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// writeError answers {"error": msg} and tells the audit log the message.
func writeError(w http.ResponseWriter, status int, msg string) {
	writeErrorBody(w, status, errorBody{Error: msg})
}

func writeErrorBody(w http.ResponseWriter, status int, body errorBody) {
	if sw, ok := w.(*statusWriter); ok {
		sw.errMsg = clip(body.Error, 512)
	}
	writeJSON(w, status, body)
}

// fail answers a backend error with the status its sentinel chooses. Errors
// without one are the engine's problem, not the client's: the detail is logged and
// the client is told only that it failed.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	var verr *ValidationError
	switch {
	case errors.As(err, &verr):
		writeErrorBody(w, http.StatusUnprocessableEntity, errorBody{Error: fmt.Sprintf("flows refused: %d problem(s); the previous flows keep serving", len(verr.Problems)), Problems: verr.Problems})
	case errors.Is(err, ErrNotFound):
		writeError(w, http.StatusNotFound, err.Error())
	case errors.Is(err, ErrInvalid):
		writeError(w, http.StatusBadRequest, err.Error())
	case errors.Is(err, ErrConflict):
		writeError(w, http.StatusConflict, err.Error())
	case errors.Is(err, ErrUnavailable):
		w.Header().Set("Retry-After", "5")
		writeError(w, http.StatusServiceUnavailable, err.Error())
	case errors.Is(err, context.DeadlineExceeded):
		writeError(w, http.StatusGatewayTimeout, "the engine did not answer in time")
	case errors.Is(err, context.Canceled) && r.Context().Err() != nil:
		// The client left; nobody reads the answer. 499 is nginx's "client closed".
		writeError(w, 499, "request cancelled")
	default:
		s.log.Error("api: backend failed", "method", r.Method, "path", r.URL.Path, "err", err)
		writeError(w, http.StatusInternalServerError, "internal error (logged on the engine)")
	}
}

// backend names each backend for the 501 message.
var backendNames = map[string]string{
	"calls":      "live calls (no call backend is wired: api.WithCalls)",
	"originator": "originating calls (no originator is wired: api.WithOriginator)",
	"records":    "call records (no record store is wired: api.WithRecords)",
	"recordings": "recordings (no recording storage is wired: api.WithRecordings)",
	"queues":     "queues (no ACD is wired: api.WithQueues)",
	"agents":     "agents (no ACD is wired: api.WithAgents)",
	"flows":      "flows (no flow loader is wired: api.WithFlows)",
	"tickets":    "tickets (no ticket store is wired: api.WithTickets)",
	"surveys":    "survey results (no survey store is wired: api.WithSurveys)",
	"bans":       "bans (no flood guard is wired: api.WithBans)",
	"wallboard":  "the wallboard (no wallboard source is wired: api.WithWallboard)",
}

// have answers 501 when a backend is missing and reports whether it is there.
func have(w http.ResponseWriter, present bool, name string) bool {
	if !present {
		writeError(w, http.StatusNotImplemented, "not implemented on this engine: "+backendNames[name])
	}
	return present
}

// decodeJSON reads a JSON body strictly: application/json, at most maxBody
// bytes, one object, no unknown fields (a misspelt field must not be ignored on a
// command). It answers the error itself and reports success.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		writeError(w, http.StatusUnsupportedMediaType, "send the body as Content-Type: application/json")
		return false
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than %d bytes", maxBody))
			return false
		}
		writeError(w, http.StatusBadRequest, "body: "+err.Error())
		return false
	}
	if _, err := dec.Token(); err != io.EOF {
		writeError(w, http.StatusBadRequest, "body: want exactly one JSON object")
		return false
	}
	return true
}
