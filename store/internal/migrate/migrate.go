// Package migrate reads a backend's versioned schema migrations and decides which
// are pending. Each backend embeds its SQL files (NNNN_name.sql, numbered from 1
// without gaps) and applies the pending ones at Open, each in its own transaction
// together with its row in schema_migrations, so a crash mid-migration leaves the
// database at the previous version. A migration, once released, is never edited:
// a change is a new file.
package migrate

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
)

// Migration is one schema step.
type Migration struct {
	Version int    // from the file name's number
	Name    string // the file name without number and extension
	SQL     string
}

// Load reads the migrations in dir of fsys, sorted by version. It fails unless the
// files are named NNNN_name.sql and numbered 1, 2, 3… without gaps or duplicates:
// a malformed set is a build mistake that must not reach a database.
func Load(fsys fs.FS, dir string) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("migrate: read %s: %w", dir, err)
	}
	var ms []Migration
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		num, name, ok := strings.Cut(strings.TrimSuffix(e.Name(), ".sql"), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v < 1 || len(num) != 4 || name == "" {
			return nil, fmt.Errorf("migrate: %s: want NNNN_name.sql", e.Name())
		}
		b, err := fs.ReadFile(fsys, path.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("migrate: read %s: %w", e.Name(), err)
		}
		ms = append(ms, Migration{Version: v, Name: name, SQL: string(b)})
	}
	slices.SortFunc(ms, func(a, b Migration) int { return a.Version - b.Version })
	for i, m := range ms {
		if m.Version != i+1 {
			return nil, fmt.Errorf("migrate: migration %d (%s) found where %d was expected: versions must run 1, 2, 3… without gaps", m.Version, m.Name, i+1)
		}
	}
	if len(ms) == 0 {
		return nil, fmt.Errorf("migrate: no migrations in %s", dir)
	}
	return ms, nil
}

// ErrTooNew is returned by Pending when the database holds a version this binary
// does not know.
var ErrTooNew = errors.New("migrate: the database has migrations this binary does not know")

// Pending returns the migrations of all not yet applied, in order, up to version
// target (0: all). applied lists the versions recorded in schema_migrations.
func Pending(all []Migration, applied []int, target int) ([]Migration, error) {
	if target <= 0 || target > len(all) {
		target = len(all)
	}
	done := map[int]bool{}
	for _, v := range applied {
		if v > len(all) {
			return nil, fmt.Errorf("%w (version %d; this binary knows up to %d)", ErrTooNew, v, len(all))
		}
		done[v] = true
	}
	var out []Migration
	for _, m := range all[:target] {
		if !done[m.Version] {
			out = append(out, m)
		}
	}
	return out, nil
}
