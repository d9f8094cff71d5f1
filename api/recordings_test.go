package api

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// recordingContent is c1.wav's bytes: a RIFF header and a recognisable body.
var recordingContent = append([]byte("RIFF\x24\x00\x00\x00WAVEfmt "), bytes.Repeat([]byte("0123456789"), 100)...)

// secretContent is a file outside the recordings directory that no request may
// read.
const secretContent = "TOP SECRET: /etc/shadow stand-in"

// recordingsDir makes base/rec (the recordings, with a symlink pointing out) and
// base/secret.txt beside it, and returns base/rec.
func recordingsDir(t testing.TB) string {
	t.Helper()
	base := t.TempDir()
	rec := filepath.Join(base, "rec")
	day := filepath.Join(rec, "2026", "05", "22")
	if err := os.MkdirAll(day, 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(path string, b []byte) {
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(day, "c1.wav"), recordingContent)
	write(filepath.Join(rec, ".hidden.wav"), []byte(secretContent))
	write(filepath.Join(base, "secret.txt"), []byte(secretContent))
	if err := os.Symlink(filepath.Join(base, "secret.txt"), filepath.Join(rec, "escape.wav")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(base, filepath.Join(rec, "up")); err != nil {
		t.Fatal(err)
	}
	return rec
}

func TestRecordingWhole(t *testing.T) {
	s, _ := newServer(t)
	w := do(t, s, "GET", "/api/v1/recordings/2026/05/22/c1.wav", viewerToken, "")
	if w.Code != 200 || !bytes.Equal(w.Body.Bytes(), recordingContent) {
		t.Fatalf("status %d, %d bytes", w.Code, w.Body.Len())
	}
	h := w.Header()
	for k, want := range map[string]string{
		"Content-Type":        "audio/wav",
		"Accept-Ranges":       "bytes",
		"Content-Disposition": `inline; filename=c1.wav`,
		"Cache-Control":       "private, no-cache",
	} {
		if got := h.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
}

func TestRecordingRanges(t *testing.T) {
	s, _ := newServer(t)
	n := len(recordingContent)
	for _, tc := range []struct {
		rng, contentRange string
		status            int
		body              []byte
	}{
		{"bytes=0-3", "bytes 0-3/" + itoa(n), 206, recordingContent[:4]},
		{"bytes=20-29", "bytes 20-29/" + itoa(n), 206, recordingContent[20:30]},
		{"bytes=-10", "bytes " + itoa(n-10) + "-" + itoa(n-1) + "/" + itoa(n), 206, recordingContent[n-10:]},
		{"bytes=100-", "bytes 100-" + itoa(n-1) + "/" + itoa(n), 206, recordingContent[100:]},
		{"bytes=99999-", "bytes */" + itoa(n), 416, nil},
	} {
		req := httptest.NewRequest("GET", "/api/v1/recordings/2026/05/22/c1.wav", nil)
		req.Header.Set("Authorization", "Bearer "+viewerToken)
		req.Header.Set("Range", tc.rng)
		w := httptest.NewRecorder()
		s.ServeHTTP(w, req)
		if w.Code != tc.status || w.Header().Get("Content-Range") != tc.contentRange {
			t.Errorf("Range %s: %d %q, want %d %q", tc.rng, w.Code, w.Header().Get("Content-Range"), tc.status, tc.contentRange)
		}
		if tc.body != nil && !bytes.Equal(w.Body.Bytes(), tc.body) {
			t.Errorf("Range %s: body %q, want %q", tc.rng, w.Body.Bytes(), tc.body)
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestRecordingTraversal tries the ways out of the recordings directory: dot
// segments raw and escaped, absolute paths, backslashes, NUL, hidden files and
// symlinks pointing out. None may return the secret; each is a 400 (refused by
// name) or a 404 (refused by os.Root), or a redirect the mux makes to a cleaned
// path that is not a recording.
func TestRecordingTraversal(t *testing.T) {
	s, _ := newServer(t)
	for _, target := range []string{
		"/api/v1/recordings/../secret.txt",
		"/api/v1/recordings/..%2Fsecret.txt",
		"/api/v1/recordings/%2e%2e/secret.txt",
		"/api/v1/recordings/%2e%2e%2fsecret.txt",
		"/api/v1/recordings/2026/..%2F..%2F..%2F..%2Fsecret.txt",
		"/api/v1/recordings/2026/05/22/..%2F..%2F..%2F..%2F..%2F..%2Fetc%2Fpasswd",
		"/api/v1/recordings/%2Fetc%2Fpasswd",
		"/api/v1/recordings//etc/passwd",
		"/api/v1/recordings/..%5Csecret.txt",
		"/api/v1/recordings/2026%5C..%5C..%5Csecret.txt",
		"/api/v1/recordings/c1.wav%00.txt",
		"/api/v1/recordings/.hidden.wav",
		"/api/v1/recordings/2026/./05/22/c1.wav",
		"/api/v1/recordings/escape.wav",
		"/api/v1/recordings/up/secret.txt",
		"/api/v1/recordings/2026",
		"/api/v1/recordings/2026/05/22/missing.wav",
		"/api/v1/recordings/%252e%252e%252fsecret.txt",
	} {
		w := do(t, s, "GET", target, viewerToken, "")
		if strings.Contains(w.Body.String(), "TOP SECRET") {
			t.Errorf("%s: served the secret (status %d)", target, w.Code)
			continue
		}
		switch w.Code {
		case http.StatusBadRequest, http.StatusNotFound:
			checkShape(t, "GET", "/api/v1/recordings/{name...}", w.Code, w.Body.Bytes())
		case http.StatusMovedPermanently, http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
			// ServeMux cleaned the path; following it leaves the recordings route.
			loc := w.Header().Get("Location")
			if strings.HasPrefix(loc, "/api/v1/recordings/") {
				if w2 := do(t, s, "GET", loc, viewerToken, ""); strings.Contains(w2.Body.String(), "TOP SECRET") {
					t.Errorf("%s → %s served the secret", target, loc)
				}
			}
		default:
			t.Errorf("%s: status %d, want 400 or 404: %s", target, w.Code, w.Body.String())
		}
	}
}

func TestValidName(t *testing.T) {
	for name, want := range map[string]bool{
		"c1.wav":                  true,
		"2026/05/22/c1.wav":       true,
		"vm/agent@host+1=x~.opus": true,
		"":                        false,
		"/abs.wav":                false,
		"a//b.wav":                false,
		"a/":                      false,
		".":                       false,
		"..":                      false,
		"../x":                    false,
		"a/../x":                  false,
		".hidden":                 false,
		"a/.b":                    false,
		`a\b.wav`:                 false,
		"a b.wav":                 false,
		"a\x00.wav":               false,
		"ü.wav":                   false,
		strings.Repeat("a", 600):  false,
	} {
		if got := validName(name); got != want {
			t.Errorf("validName(%q) = %v, want %v", name, got, want)
		}
	}
}

// TestDirRecordingsRefusesEscapes checks the second wall on its own: os.Root
// refuses what validName would already have stopped.
func TestDirRecordingsRefusesEscapes(t *testing.T) {
	dir := recordingsDir(t)
	d, err := NewDirRecordings(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for _, name := range []string{"../secret.txt", "escape.wav", "up/secret.txt", "/etc/passwd", "2026"} {
		if f, err := d.Open(t.Context(), name); err == nil {
			f.Close()
			t.Errorf("Open(%q) succeeded", name)
		} else if !strings.Contains(err.Error(), "not found") {
			t.Errorf("Open(%q): %v, want not found", name, err)
		}
	}
	f, err := d.Open(t.Context(), "2026/05/22/c1.wav")
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if _, err := NewDirRecordings(filepath.Join(dir, "missing")); err == nil {
		t.Error("NewDirRecordings of a missing directory succeeded")
	}
}
