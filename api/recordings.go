package api

import (
	"context"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// Recordings are served by name, the name a call record lists, relative to the
// recordings' storage. Path traversal is stopped twice: the handler accepts only
// names made of safe characters with no empty, dot or dot-dot segment (validName),
// and DirRecordings opens through os.Root, which refuses any path, symlink
// included, that resolves outside its directory.

// maxRecordingName bounds a recording name.
const maxRecordingName = 512

// validName reports whether name is a safe recording name: slash-separated
// segments of letters, digits and . _ - @ + = ~, none empty or starting with a
// dot (so no ".", "..", or hidden file), no leading slash, no backslash.
func validName(name string) bool {
	if name == "" || len(name) > maxRecordingName || !fs.ValidPath(name) {
		return false
	}
	for _, seg := range strings.Split(name, "/") {
		if seg == "" || seg[0] == '.' {
			return false
		}
		for i := 0; i < len(seg); i++ {
			c := seg[i]
			ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
				strings.IndexByte("._-@+=~", c) >= 0
			if !ok {
				return false
			}
		}
	}
	return true
}

// audioTypes are the Content-Types of the recording formats the engine writes
// or may be given; anything else is served as bytes.
var audioTypes = map[string]string{
	".wav":  "audio/wav",
	".mp3":  "audio/mpeg",
	".ogg":  "audio/ogg",
	".opus": "audio/ogg",
	".oga":  "audio/ogg",
	".flac": "audio/flac",
	".webm": "audio/webm",
}

func (s *Server) recording(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if !validName(name) {
		writeError(w, http.StatusBadRequest, "recording name: want a relative path of letters, digits and . _ - @ + = ~ without dot segments, as a call record lists it")
		return
	}
	if !have(w, s.recordings != nil, "recordings") || !noParams(w, r) {
		return
	}
	f, err := s.recordings.Open(r.Context(), name)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if !st.Mode().IsRegular() {
		writeError(w, http.StatusNotFound, "recording not found")
		return
	}
	h := w.Header()
	ct, ok := audioTypes[strings.ToLower(path.Ext(name))]
	if !ok {
		ct = "application/octet-stream"
	}
	h.Set("Content-Type", ct)
	h.Set("Content-Disposition", mime.FormatMediaType("inline", map[string]string{"filename": path.Base(name)}))
	// Private: recordings are personal data; the browser may keep its copy but must
	// revalidate, and no shared cache may keep one.
	h.Set("Cache-Control", "private, no-cache")
	// ServeContent answers Range (206, 416), If-Range and conditional requests.
	http.ServeContent(w, r, "", st.ModTime(), f)
}

// DirRecordings serves recordings from a directory. Names resolve inside it only:
// it opens through os.Root, which refuses "..", absolute paths and symlinks that
// lead out.
type DirRecordings struct {
	root *os.Root
}

var _ Recordings = (*DirRecordings)(nil)

// NewDirRecordings opens dir (the engine's recordings directory).
func NewDirRecordings(dir string) (*DirRecordings, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("api: recordings: %w", err)
	}
	return &DirRecordings{root: root}, nil
}

// Open opens a regular file under the directory, or returns ErrNotFound: for a
// missing file, a directory, and a path that would leave the directory alike, so
// that probing reveals nothing about what lies outside.
func (d *DirRecordings) Open(_ context.Context, name string) (RecordingFile, error) {
	f, err := d.root.Open(filepath.FromSlash(name))
	if err != nil {
		// Missing, unreadable or outside the root (os.Root's refusal is not exported
		// as a sentinel): all are "not found" to the client.
		return nil, fmt.Errorf("recording %q: %w", name, ErrNotFound)
	}
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("recording %q: %w", name, ErrNotFound)
	}
	return f, nil
}

// Close releases the directory.
func (d *DirRecordings) Close() error { return d.root.Close() }
