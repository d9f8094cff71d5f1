package migrate

import (
	"errors"
	"slices"
	"testing"
	"testing/fstest"
)

func files(names ...string) fstest.MapFS {
	fsys := fstest.MapFS{}
	for _, n := range names {
		fsys["m/"+n] = &fstest.MapFile{Data: []byte("-- " + n)}
	}
	return fsys
}

// TestLoad: well-formed sets load in order; a malformed set (bad name, gap,
// duplicate, none) is refused before it can reach a database.
func TestLoad(t *testing.T) {
	ms, err := Load(files("0002_b.sql", "0001_a.sql", "README.md", "0003_c_d.sql"), "m")
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 3 || ms[0].Name != "a" || ms[1].Version != 2 || ms[2].Name != "c_d" || ms[2].SQL != "-- 0003_c_d.sql" {
		t.Errorf("loaded %+v", ms)
	}
	for name, fsys := range map[string]fstest.MapFS{
		"gap":       files("0001_a.sql", "0003_c.sql"),
		"duplicate": files("0001_a.sql", "0001_b.sql"),
		"no name":   files("0001.sql"),
		"short":     files("1_a.sql"),
		"zero":      files("0000_a.sql"),
		"letters":   files("000x_a.sql"),
		"empty":     {"m/README": &fstest.MapFile{}},
		"no dir":    {},
	} {
		if ms, err := Load(fsys, "m"); err == nil {
			t.Errorf("%s: loaded %+v, want an error", name, ms)
		}
	}
}

// TestPending: what is not applied, in order, up to a target; a version this
// binary does not know is ErrTooNew.
func TestPending(t *testing.T) {
	all := []Migration{{Version: 1}, {Version: 2}, {Version: 3}}
	versions := func(ms []Migration) []int {
		var out []int
		for _, m := range ms {
			out = append(out, m.Version)
		}
		return out
	}
	for _, tc := range []struct {
		applied []int
		target  int
		want    []int
	}{
		{nil, 0, []int{1, 2, 3}},
		{[]int{1}, 0, []int{2, 3}},
		{[]int{1, 2, 3}, 0, nil},
		{[]int{2}, 0, []int{1, 3}}, // a hole (hand-made database) is filled
		{nil, 2, []int{1, 2}},
		{[]int{1}, 9, []int{2, 3}},
	} {
		got, err := Pending(all, tc.applied, tc.target)
		if err != nil || !slices.Equal(versions(got), tc.want) {
			t.Errorf("Pending(applied %v, target %d) = %v, %v; want %v", tc.applied, tc.target, versions(got), err, tc.want)
		}
	}
	if _, err := Pending(all, []int{1, 2, 3, 4}, 0); !errors.Is(err, ErrTooNew) {
		t.Errorf("unknown version 4: %v, want ErrTooNew", err)
	}
}
