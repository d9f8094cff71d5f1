package record

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestPath(t *testing.T) {
	start := time.Date(2026, 3, 4, 23, 30, 0, 0, time.FixedZone("X", -2*3600))
	if got, want := Path("/var/rec", "abc@host", start), filepath.Join("/var/rec", "2026", "03", "04", "abc@host.wav"); got != want {
		t.Errorf("Path = %q, want %q", got, want)
	}
	// The date is the one in start's location: 23:30 at UTC-2 is the 5th in UTC.
	if got, want := Path("rec", "x", start.UTC()), filepath.Join("rec", "2026", "03", "05", "x.wav"); got != want {
		t.Errorf("Path(UTC) = %q, want %q", got, want)
	}
}

func TestFileName(t *testing.T) {
	for _, tc := range []struct{ id, prefix string }{
		{"a84b4c76e66710@pc33.atlanta.example.com", "a84b4c76e66710@pc33.atlanta.example.com"},
		{"f81d4fae-7dec-11d0-a765-00a0c91e6bf6", "f81d4fae-7dec-11d0-a765-00a0c91e6bf6"},
		{"../../etc/passwd", "_._.._etc_passwd-"},
		{"..", "_.-"},
		{".hidden", "_hidden-"},
		{"", "-"},
		{"a/b", "a_b-"},
		{"a:b", "a_b-"},
		{"a\x00b\\c d\"e'f*g?h<i>j|k\n", "a_b_c_d_e_f_g_h_i_j_k_-"},
		{"appel-réception", "appel-r_ception-"},
		{"bad\xffutf8", "bad_utf8-"},
		{strings.Repeat("x", 300), strings.Repeat("x", maxNameBytes) + "-"},
	} {
		got := FileName(tc.id)
		if !strings.HasPrefix(got, tc.prefix) {
			t.Errorf("FileName(%q) = %q, want prefix %q", tc.id, got, tc.prefix)
		}
		if tc.prefix != tc.id && len(got) != len(tc.prefix)+8 {
			t.Errorf("FileName(%q) = %q: want the prefix and an 8-digit hash", tc.id, got)
		}
	}
	if FileName("a/b") == FileName("a:b") {
		t.Error("ids differing only in unsafe characters share a file name")
	}
	if FileName(strings.Repeat("x", 300)) == FileName(strings.Repeat("x", 301)) {
		t.Error("long ids differing after the cut share a file name")
	}
}

// FuzzFileName: whatever the Call-ID, the name is one safe path element.
func FuzzFileName(f *testing.F) {
	for _, s := range []string{"", ".", "..", "a/b", "abc@host", "\x00", "é", strings.Repeat("/", 200)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		name := FileName(id)
		if name == "" || name[0] == '.' || len(name) > maxNameBytes+9 || !utf8.ValidString(name) {
			t.Fatalf("FileName(%q) = %q", id, name)
		}
		for _, c := range name {
			if !safeRune(c) {
				t.Fatalf("FileName(%q) = %q holds %q", id, name, c)
			}
		}
		if filepath.Base(name) != name || FileName(id) != name {
			t.Fatalf("FileName(%q) = %q is not one stable path element", id, name)
		}
	})
}
