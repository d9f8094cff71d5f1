package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// web holds the wallboard: plain HTML, CSS and JavaScript, no build step, no
// external resource (the page works on a control-room network without Internet).
//
//go:embed web/wallboard.html web/wallboard.css web/wallboard.js web/login.html
var web embed.FS

var loginTmpl = template.Must(template.ParseFS(web, "web/login.html"))

// assets are the files GET /wallboard/assets/{file} serves, with their types.
var assets = map[string]string{
	"wallboard.css": "text/css; charset=utf-8",
	"wallboard.js":  "text/javascript; charset=utf-8",
}

// pageCSP allows the page its own script, style and event stream, nothing else:
// no inline script, so an injected string can never run.
const pageCSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; " +
	"img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// pageHeaders are the headers of the HTML pages.
func pageHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", pageCSP)
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cache-Control", "no-store")
}

func (s *Server) wallboardPage(w http.ResponseWriter, r *http.Request) {
	if !have(w, s.hub != nil, "wallboard") {
		return
	}
	b, err := web.ReadFile("web/wallboard.html")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	pageHeaders(w)
	_, _ = w.Write(b)
}

// loginPage answers the login form with status and an optional error.
func (s *Server) loginPage(w http.ResponseWriter, status int, msg string) {
	var buf bytes.Buffer
	if err := loginTmpl.Execute(&buf, struct{ Error string }{msg}); err != nil {
		writeError(w, http.StatusInternalServerError, "login page: "+err.Error())
		return
	}
	pageHeaders(w)
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

func (s *Server) wallboardAsset(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("file")
	ct, ok := assets[name]
	if !ok {
		writeError(w, http.StatusNotFound, "no such asset")
		return
	}
	b, err := web.ReadFile("web/" + name)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	sum := sha256.Sum256(b)
	h := w.Header()
	h.Set("Content-Type", ct)
	h.Set("Cache-Control", "no-cache") // revalidate by ETag: a new binary serves new assets at once
	h.Set("ETag", `"`+hex.EncodeToString(sum[:8])+`"`)
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(b))
}

// sameOrigin refuses cross-site form posts (login CSRF): browsers send Origin
// on POST; a request without it comes from a non-browser client, which could
// not carry a victim's cookie anyway.
func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return r.Header.Get("Sec-Fetch-Site") != "cross-site"
	}
	if o == "null" {
		// Our pages are served with Referrer-Policy: no-referrer, so a browser posts
		// their form with Origin: null (Fetch, "serializing a request origin");
		// Sec-Fetch-Site still says where the post came from.
		return r.Header.Get("Sec-Fetch-Site") == "same-origin"
	}
	u, err := url.Parse(o)
	return err == nil && u.Host == r.Host
}

// maxLoginBody bounds the login form.
const maxLoginBody = 4 << 10

// wallboardLogin checks the token typed into the login form and keeps it in an
// HttpOnly, SameSite=Strict cookie the wallboard's reads accept (doc.go says why
// a cookie and not ?token=).
func (s *Server) wallboardLogin(w http.ResponseWriter, r *http.Request) {
	if !sameOrigin(r) {
		writeError(w, http.StatusForbidden, "cross-site login refused")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxLoginBody)
	if err := r.ParseForm(); err != nil {
		s.loginPage(w, http.StatusBadRequest, "The form could not be read.")
		return
	}
	token := strings.TrimSpace(r.PostForm.Get("token"))
	id, ok := s.tokens.Authenticate(token)
	if !ok {
		w.Header().Set("WWW-Authenticate", challenge(true))
		if sw, isSW := w.(*statusWriter); isSW {
			sw.errMsg = "unknown API token"
		}
		s.loginPage(w, http.StatusUnauthorized, "Unknown token.")
		return
	}
	auditTarget(r, id.Name, "role="+id.Role.String())
	http.SetCookie(w, &http.Cookie{
		Name:     cookieName,
		Value:    base64.RawURLEncoding.EncodeToString([]byte(token)),
		Path:     "/",
		MaxAge:   cookieMaxAge,
		HttpOnly: true,
		Secure:   s.secureCookie || r.TLS != nil,
		SameSite: http.SameSiteStrictMode,
	})
	http.Redirect(w, r, "/wallboard", http.StatusSeeOther)
}

// wallboardLogout forgets the cookie: for a shared screen handed to someone else.
func (s *Server) wallboardLogout(w http.ResponseWriter, r *http.Request) {
	if !sameOrigin(r) {
		writeError(w, http.StatusForbidden, "cross-site logout refused")
		return
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		Secure: s.secureCookie || r.TLS != nil, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/wallboard", http.StatusSeeOther)
}

// wallboardSnapshot answers the latest update as JSON: for scripts, and for the
// page to tell an expired login (401) from a dropped stream.
func (s *Server) wallboardSnapshot(w http.ResponseWriter, r *http.Request) {
	if !have(w, s.hub != nil, "wallboard") || !noParams(w, r) {
		return
	}
	b := s.hub.latest(r.Context(), 2*s.interval)
	if b == nil {
		writeError(w, http.StatusServiceUnavailable, "the wallboard has no sample yet; retry in a second")
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	_, _ = w.Write(append(b[:len(b):len(b)], '\n'))
}

// streamWriteTimeout bounds one event's write: a viewer whose connection stalls
// is dropped instead of holding a goroutine forever.
const streamWriteTimeout = 10 * time.Second

// retryMs is the EventSource reconnection delay the stream announces.
const retryMs = 2000

// wallboardEvents streams updates as server-sent events (the HTML living
// standard, "Server-sent events"): "event: wallboard" with the update as data,
// one per interval, until the viewer leaves or the server closes.
func (s *Server) wallboardEvents(w http.ResponseWriter, r *http.Request) {
	if !have(w, s.hub != nil, "wallboard") || !noParams(w, r) {
		return
	}
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	w.WriteHeader(http.StatusOK)

	sub, last := s.hub.subscribe()
	defer s.hub.unsubscribe(sub)
	send := func(b []byte) bool {
		_ = rc.SetWriteDeadline(time.Now().Add(streamWriteTimeout))
		var buf bytes.Buffer
		if b == nil {
			buf.WriteString("retry: " + strconv.Itoa(retryMs) + "\n\n")
		} else {
			buf.WriteString("event: wallboard\ndata: ")
			buf.Write(b)
			buf.WriteString("\n\n")
		}
		if _, err := w.Write(buf.Bytes()); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	if !send(nil) || (last != nil && !send(last)) {
		return
	}
	for {
		select {
		case <-r.Context().Done():
			return
		case <-s.hub.ctx.Done():
			return
		case b := <-sub.ch:
			if !send(b) {
				return
			}
		}
	}
}

// NewWallboard builds the Wallboard from the other backends: live calls counted
// by stage, every queue's overview, agents counted by state. Any of them may be
// nil (its part stays empty). An engine that counts calls more cheaply than
// listing them implements Wallboard itself.
func NewWallboard(calls Calls, queues Queues, agents Agents) Wallboard {
	return composed{calls: calls, queues: queues, agents: agents}
}

type composed struct {
	calls  Calls
	queues Queues
	agents Agents
}

func (c composed) Wallboard(ctx context.Context) (WallboardData, error) {
	d := WallboardData{Agents: map[string]int{}}
	if c.calls != nil {
		list, err := c.calls.ActiveCalls(ctx)
		if err != nil {
			return WallboardData{}, err
		}
		for _, call := range list {
			switch call.Stage {
			case StageIVR:
				d.Calls.InIVR++
			case StageQueue:
				d.Calls.Waiting++
			case StageAgent:
				d.Calls.WithAgents++
			}
		}
	}
	if c.queues != nil {
		list, err := overviews(ctx, c.queues)
		if err != nil {
			return WallboardData{}, err
		}
		d.Queues = list
	}
	if c.agents != nil {
		list, err := c.agents.Agents(ctx)
		if err != nil {
			return WallboardData{}, err
		}
		for _, a := range list {
			d.Agents[a.State]++
		}
	}
	return d, nil
}
