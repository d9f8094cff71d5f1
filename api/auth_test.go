package api

import (
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

func TestNewTokensReportsEveryProblem(t *testing.T) {
	_, err := NewTokens([]TokenConfig{
		{Name: "", Role: "viewer", Token: strings.Repeat("a", 30)},
		{Name: "short", Role: "viewer", Token: "abc"},
		{Name: "norole", Role: "root", Token: strings.Repeat("b", 30)},
		{Name: "both", Role: "admin", Token: strings.Repeat("c", 30), SHA256: HashToken("x")},
		{Name: "neither", Role: "admin"},
		{Name: "badhash", Role: "admin", SHA256: "zz"},
		{Name: "dup", Role: "viewer", Token: strings.Repeat("d", 30)},
		{Name: "dup", Role: "viewer", Token: strings.Repeat("e", 30)},
		{Name: "same", Role: "viewer", SHA256: HashToken(strings.Repeat("d", 30))},
		{Name: "bad\nname", Role: "viewer", Token: strings.Repeat("f", 30)},
	})
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		"[0] (): name is required", "[1] (short): token is shorter than 24", `[2] (norole): role "root"`,
		"[3] (both): set token or sha256, not both", "[4] (neither): token or sha256 is required",
		"[5] (badhash): sha256 must be 64 hex digits", "[7] (dup): name is used by another token",
		`[8] (same): same secret as token "dup"`, "[9] (bad\nname): name must be at most 64 printable bytes",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

func TestAuthenticate(t *testing.T) {
	tok := testTokens(t)
	if tok.Len() != 3 {
		t.Fatalf("Len %d", tok.Len())
	}
	for secret, want := range map[string]Identity{
		viewerToken:     {Name: "noc", Role: RoleViewer},
		supervisorToken: {Name: "sup", Role: RoleSupervisor},
		adminToken:      {Name: "ops", Role: RoleAdmin}, // configured by hash only
	} {
		if id, ok := tok.Authenticate(secret); !ok || id != want {
			t.Errorf("Authenticate(%s) = %v %v, want %v", secret, id, ok, want)
		}
	}
	for _, bad := range []string{"", viewerToken + "x", viewerToken[:len(viewerToken)-1], strings.ToUpper(adminToken)} {
		if id, ok := tok.Authenticate(bad); ok || id != (Identity{}) {
			t.Errorf("Authenticate(%q) = %v %v", bad, id, ok)
		}
	}
	var none *Tokens
	if _, ok := none.Authenticate(viewerToken); ok || none.Len() != 0 {
		t.Error("nil Tokens authenticated")
	}
	if HashToken("abc") != "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" {
		t.Error("HashToken is not hex SHA-256")
	}
}

func TestRoles(t *testing.T) {
	for _, n := range []string{"viewer", "supervisor", "admin"} {
		var r Role
		if err := r.UnmarshalText([]byte(n)); err != nil || r.String() != n {
			t.Errorf("%s → %v %v", n, r, err)
		}
		if b, _ := r.MarshalText(); string(b) != n {
			t.Errorf("MarshalText %s", b)
		}
	}
	if _, err := ParseRole("unknown"); err == nil {
		t.Error("the unknown role parsed")
	}
	if !(RoleViewer < RoleSupervisor && RoleSupervisor < RoleAdmin) {
		t.Error("roles are not ordered")
	}
	if Role(9).String() != "role(9)" {
		t.Error(Role(9).String())
	}
}

func TestBearerParsing(t *testing.T) {
	s, _ := newServer(t)
	for header, want := range map[string]int{
		"Bearer " + viewerToken:           200,
		"bearer " + viewerToken:           200, // the scheme is case-insensitive
		"BEARER  " + viewerToken + "  ":   200,
		"Basic " + viewerToken:            401,
		viewerToken:                       401,
		"Bearer":                          401,
		"Bearer " + viewerToken + " junk": 401,
	} {
		req := httptest.NewRequest("GET", "/api/v1/flows", nil)
		req.Header.Set("Authorization", header)
		w := httptest.NewRecorder()
		s.ServeHTTP(w, req)
		if w.Code != want {
			t.Errorf("Authorization %q: %d, want %d", header, w.Code, want)
		}
	}
}

func loginCookie(t *testing.T, s http.Handler, token string) *http.Cookie {
	t.Helper()
	req := httptest.NewRequest("POST", "/wallboard/login", strings.NewReader("token="+url.QueryEscape(token)))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	s.ServeHTTP(w, req)
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/wallboard" {
		t.Fatalf("login: %d %v", w.Code, w.Header())
	}
	cs := w.Result().Cookies()
	if len(cs) != 1 {
		t.Fatalf("cookies %v", cs)
	}
	return cs[0]
}

func TestWallboardLogin(t *testing.T) {
	s, f := newServer(t)
	c := loginCookie(t, s, "  "+viewerToken+"\n") // pasted with spaces
	if c.Name != cookieName || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" || c.MaxAge != cookieMaxAge || c.Secure {
		t.Errorf("cookie %+v", c)
	}
	if raw, _ := base64.RawURLEncoding.DecodeString(c.Value); string(raw) != viewerToken {
		t.Errorf("cookie value %q", c.Value)
	}
	e := f.audit.all()[0]
	if e.Action != "wallboard.login" || e.Target != "noc" || e.Result != "ok" {
		t.Errorf("audit %+v", e)
	}

	get := func(target string, cookie *http.Cookie) *httptest.ResponseRecorder {
		req := httptest.NewRequest("GET", target, nil)
		if cookie != nil {
			req.AddCookie(cookie)
		}
		w := httptest.NewRecorder()
		s.ServeHTTP(w, req)
		return w
	}
	// The cookie opens the wallboard's reads, and nothing else.
	if w := get("/wallboard", c); w.Code != 200 || !strings.Contains(w.Body.String(), `id="waiting"`) {
		t.Errorf("page with cookie: %d", w.Code)
	}
	if w := get("/api/v1/wallboard", c); w.Code != 200 {
		t.Errorf("snapshot with cookie: %d", w.Code)
	}
	for _, target := range []string{"/api/v1/calls", "/api/v1/records", "/api/v1/agents"} {
		if w := get(target, c); w.Code != 401 {
			t.Errorf("%s with the wallboard cookie: %d, want 401", target, w.Code)
		}
	}
	req := httptest.NewRequest("POST", "/api/v1/calls/c1/hangup", nil)
	req.AddCookie(loginCookie(t, s, adminToken))
	w := httptest.NewRecorder()
	s.ServeHTTP(w, req)
	if w.Code != 401 {
		t.Errorf("hang-up with an admin's wallboard cookie: %d, want 401", w.Code)
	}

	// No cookie, a bad one, a revoked token: the login form, 401.
	for _, bad := range []*http.Cookie{nil, {Name: cookieName, Value: "!!!"}, {Name: cookieName, Value: base64.RawURLEncoding.EncodeToString([]byte("revoked-token-revoked-token"))}} {
		w := get("/wallboard", bad)
		if w.Code != 401 || !strings.Contains(w.Body.String(), `name="token"`) || w.Header().Get("WWW-Authenticate") == "" {
			t.Errorf("page with cookie %v: %d", bad, w.Code)
		}
		if csp := w.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
			t.Errorf("login page CSP %q", csp)
		}
	}

	// A wrong token: the form again with a message, audited as unauthorized.
	req = httptest.NewRequest("POST", "/wallboard/login", strings.NewReader("token=nope"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w = httptest.NewRecorder()
	s.ServeHTTP(w, req)
	if w.Code != 401 || !strings.Contains(w.Body.String(), "Unknown token.") || len(w.Result().Cookies()) != 0 {
		t.Errorf("bad login: %d %s", w.Code, w.Body.String())
	}
	entries := f.audit.all()
	if e := entries[len(entries)-1]; e.Result != "unauthorized" || e.Error != "unknown API token" {
		t.Errorf("bad login audited as %+v", e)
	}

	// Cross-site posts are refused.
	for _, hdr := range [][2]string{{"Origin", "https://evil.example"}, {"Sec-Fetch-Site", "cross-site"}} {
		req := httptest.NewRequest("POST", "/wallboard/login", strings.NewReader("token="+viewerToken))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set(hdr[0], hdr[1])
		w := httptest.NewRecorder()
		s.ServeHTTP(w, req)
		if w.Code != 403 || len(w.Result().Cookies()) != 0 {
			t.Errorf("cross-site login (%s): %d", hdr[0], w.Code)
		}
	}

	// Logout expires the cookie; Secure follows the option.
	req = httptest.NewRequest("POST", "/wallboard/logout", nil)
	w = httptest.NewRecorder()
	s.ServeHTTP(w, req)
	if cs := w.Result().Cookies(); w.Code != 303 || len(cs) != 1 || cs[0].MaxAge >= 0 {
		t.Errorf("logout: %d %v", w.Code, cs)
	}
	secure, _ := newServer(t, WithSecureCookie(true))
	if c := loginCookie(t, secure, viewerToken); !c.Secure {
		t.Error("WithSecureCookie: cookie not Secure")
	}
}

func TestNoTokensMeansClosed(t *testing.T) {
	s, err := New(WithCalls(&fakeCalls{}))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if w := do(t, s, "GET", "/api/v1/calls", viewerToken, ""); w.Code != 401 {
		t.Errorf("no tokens configured: %d, want 401", w.Code)
	}
}

// TestSameOriginNullOrigin: our pages send no Referer (Referrer-Policy: no-referrer),
// so a browser posts their login form with Origin: null; Sec-Fetch-Site decides.
func TestSameOriginNullOrigin(t *testing.T) {
	for _, tc := range []struct {
		origin, site string
		want         bool
	}{
		{"null", "same-origin", true},
		{"null", "cross-site", false},
		{"null", "", false},
		{"http://evil.example", "cross-site", false},
		{"", "same-origin", true},
	} {
		r := httptest.NewRequest("POST", "http://hotline.example/wallboard/login", nil)
		if tc.origin != "" {
			r.Header.Set("Origin", tc.origin)
		}
		if tc.site != "" {
			r.Header.Set("Sec-Fetch-Site", tc.site)
		}
		if got := sameOrigin(r); got != tc.want {
			t.Errorf("Origin %q Sec-Fetch-Site %q: same origin %v, want %v", tc.origin, tc.site, got, tc.want)
		}
	}
}
