package record

import (
	"fmt"
	"hash/fnv"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"
)

// maxNameBytes bounds the sanitized call id, well under the 255-byte file
// name limit of common file systems even with the hash and ".wav" added.
const maxNameBytes = 128

// Path returns where a call's recording goes: dir/YYYY/MM/DD/<call id>.wav,
// so a day's recordings can be archived or purged by retention policy as one
// directory. The date is taken in start's location; pass start.UTC() for
// UTC directories. The call id is sanitized by FileName. Create makes the
// directories.
func Path(dir, callID string, start time.Time) string {
	y, m, d := start.Date()
	return filepath.Join(dir, fmt.Sprintf("%04d", y), fmt.Sprintf("%02d", int(m)),
		fmt.Sprintf("%02d", d), FileName(callID)+".wav")
}

// FileName turns a SIP Call-ID (which may hold '/', '\', NUL, spaces,
// quotes, non-ASCII...) into a safe file name: ASCII letters, digits and
// "-_.@" are kept, every other character becomes '_', a leading '.' (hidden
// files, "..") becomes '_' and the result is cut to 128 bytes. Whenever
// anything was changed, a hash of the original id is appended, so two ids
// that differ only in unsafe characters ("a/b", "a:b") never share a file
// and one call's recording cannot overwrite another's.
func FileName(callID string) string {
	var b strings.Builder
	b.Grow(min(len(callID), maxNameBytes))
	changed := callID == ""
	for i := 0; i < len(callID); {
		if b.Len() >= maxNameBytes {
			changed = true
			break
		}
		c, size := utf8.DecodeRuneInString(callID[i:])
		switch {
		case c == '.' && i == 0:
			b.WriteByte('_')
			changed = true
		case safeRune(c):
			b.WriteRune(c)
		default: // one '_' per character, also for invalid UTF-8 bytes
			b.WriteByte('_')
			changed = true
		}
		i += size
	}
	name := b.String()
	if changed {
		h := fnv.New32a()
		_, _ = h.Write([]byte(callID))
		name = fmt.Sprintf("%s-%08x", name, h.Sum32())
	}
	return name
}

func safeRune(c rune) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '-' || c == '_' || c == '.' || c == '@'
}
