package webrtc

import (
	"embed"
	"html/template"
	"io/fs"
	"net/http"
)

// The pages are plain HTML, CSS and JavaScript with no build step, embedded in the
// binary.
//
//go:embed static
var staticFS embed.FS

var (
	callPage  = template.Must(template.ParseFS(staticFS, "static/call.html"))
	agentPage = template.Must(template.ParseFS(staticFS, "static/agent.html"))
)

// staticFiles serves the pages' scripts and styles.
func staticFiles() http.Handler {
	sub, _ := fs.Sub(staticFS, "static") // cannot fail: the directory is embedded
	return http.FileServerFS(sub)
}

// servePage serves a page, pointed at this endpoint's signalling.
func (e *Endpoint) servePage(page *template.Template) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		b := e.cfg.BasePath
		data := struct{ WS, AgentWS, Static, Called string }{b + "/ws", b + "/agent/ws", b + "/static", e.cfg.DefaultCalled}
		if err := page.Execute(w, data); err != nil {
			e.log.Warn("serving a page", "error", err)
		}
	}
}
