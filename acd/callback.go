package acd

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"
)

// Callback is a caller who left the line keeping their place: it waits in the queue
// as an entry like any call (ordered by Arrived) and, when an agent answers its
// offer, the Dialer calls Number.
type Callback struct {
	ID          string    `json:"id"` // the entry's call id: "cb-" + the original call id
	Queue       string    `json:"queue"`
	Number      string    `json:"number"`
	Priority    int       `json:"priority"`
	Skills      Skills    `json:"skills,omitempty"`
	Arrived     time.Time `json:"arrived"`      // the original call's first queue entry: the place kept
	RequestedAt time.Time `json:"requested_at"` // when the caller took the offer
	Attempts    int       `json:"attempts"`
	NotBefore   time.Time `json:"not_before,omitzero"`
	Call        Call      `json:"call"` // the original call, for the screen-pop
}

// CallbackStore keeps pending callbacks durably, so they survive a restart: the
// engine saves one when a caller takes a callback (and after each failed attempt),
// deletes it once connected or given up, and loads them all at start.
type CallbackStore interface {
	Save(ctx context.Context, cb Callback) error
	Delete(ctx context.Context, id string) error
	Load(ctx context.Context) ([]Callback, error)
}

// MemCallbacks is a CallbackStore in memory (lost with the process).
type MemCallbacks struct {
	mu  sync.Mutex // leaf
	cbs map[string]Callback
}

var _ CallbackStore = (*MemCallbacks)(nil)

// Save implements CallbackStore.
func (m *MemCallbacks) Save(_ context.Context, cb Callback) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cbs == nil {
		m.cbs = map[string]Callback{}
	}
	m.cbs[cb.ID] = cb
	return nil
}

// Delete implements CallbackStore; deleting an unknown id is not an error.
func (m *MemCallbacks) Delete(_ context.Context, id string) error {
	m.mu.Lock()
	delete(m.cbs, id)
	m.mu.Unlock()
	return nil
}

// Load implements CallbackStore, ordered by arrival.
func (m *MemCallbacks) Load(context.Context) ([]Callback, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return sortCallbacks(slices.Collect(maps.Values(m.cbs))), nil
}

func sortCallbacks(cbs []Callback) []Callback {
	slices.SortFunc(cbs, func(a, b Callback) int {
		return cmp.Or(a.Arrived.Compare(b.Arrived), cmp.Compare(a.ID, b.ID))
	})
	return cbs
}

// FileCallbacks is a CallbackStore in one JSON file, rewritten whole on every
// change through a temporary file, fsync and rename, so the file on disk is always
// either the old or the new complete list. Pending callbacks are few (tens to
// thousands), so rewriting is cheap next to a call.
type FileCallbacks struct {
	mu   sync.Mutex // leaf
	path string
	cbs  map[string]Callback
}

var _ CallbackStore = (*FileCallbacks)(nil)

// OpenFileCallbacks reads the file at path (a missing file is an empty list).
func OpenFileCallbacks(path string) (*FileCallbacks, error) {
	f := &FileCallbacks{path: path, cbs: map[string]Callback{}}
	data, err := os.ReadFile(path)
	switch {
	case os.IsNotExist(err):
		return f, nil
	case err != nil:
		return nil, fmt.Errorf("acd: read callbacks: %w", err)
	}
	var list []Callback
	if err := json.Unmarshal(data, &list); err != nil {
		return nil, fmt.Errorf("acd: %s: %w", path, err)
	}
	for _, cb := range list {
		f.cbs[cb.ID] = cb
	}
	return f, nil
}

// Save implements CallbackStore.
func (f *FileCallbacks) Save(_ context.Context, cb Callback) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	old, had := f.cbs[cb.ID]
	f.cbs[cb.ID] = cb
	if err := f.write(); err != nil {
		if had {
			f.cbs[cb.ID] = old
		} else {
			delete(f.cbs, cb.ID)
		}
		return err
	}
	return nil
}

// Delete implements CallbackStore.
func (f *FileCallbacks) Delete(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	old, had := f.cbs[id]
	if !had {
		return nil
	}
	delete(f.cbs, id)
	if err := f.write(); err != nil {
		f.cbs[id] = old
		return err
	}
	return nil
}

// Load implements CallbackStore, ordered by arrival.
func (f *FileCallbacks) Load(context.Context) ([]Callback, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return sortCallbacks(slices.Collect(maps.Values(f.cbs))), nil
}

// write replaces the file atomically; f.mu is held.
func (f *FileCallbacks) write() error {
	data, err := json.MarshalIndent(sortCallbacks(slices.Collect(maps.Values(f.cbs))), "", "  ")
	if err != nil {
		return fmt.Errorf("acd: encode callbacks: %w", err)
	}
	if err := writeFileAtomic(f.path, append(data, '\n')); err != nil {
		return fmt.Errorf("acd: write callbacks: %w", err)
	}
	return nil
}

// writeFileAtomic replaces path with data through a temporary file in the same
// directory, fsync and rename: the file on disk is always the old or the new one.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // a no-op after the rename
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
