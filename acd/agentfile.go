package acd

import (
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"slices"
	"sync"
)

// AgentRecord is one agent as the API last left it: created or changed (the
// profile), or deleted (Deleted, so an agent of the YAML seed stays deleted after a
// restart).
type AgentRecord struct {
	Agent
	Deleted bool `json:"deleted,omitempty"`
	// Credentials are the telephony side's secrets for the agent's phone (SIP digest
	// HA1 values by algorithm); acd keeps them and never reads them.
	Credentials map[string]string `json:"credentials,omitempty"`
}

// AgentFile keeps the agents created, changed and deleted at run time (the API) in
// one JSON file, rewritten whole through a temporary file, fsync and rename on
// every change, as FileCallbacks does. The YAML configuration stays the seed: at
// start the records are applied over it, so changes made through the API survive a
// restart without rewriting the operator's file.
type AgentFile struct {
	mu   sync.Mutex // leaf
	path string
	recs map[string]AgentRecord
}

// OpenAgentFile reads the file at path (a missing file has no records).
func OpenAgentFile(path string) (*AgentFile, error) {
	f := &AgentFile{path: path, recs: map[string]AgentRecord{}}
	data, err := os.ReadFile(path)
	switch {
	case os.IsNotExist(err):
		return f, nil
	case err != nil:
		return nil, fmt.Errorf("acd: read agents: %w", err)
	}
	var list []AgentRecord
	if err := json.Unmarshal(data, &list); err != nil {
		return nil, fmt.Errorf("acd: %s: %w", path, err)
	}
	for _, r := range list {
		if r.ID == "" {
			return nil, fmt.Errorf("acd: %s: a record has no agent id", path)
		}
		if err := r.Skills.Validate(); err != nil && !r.Deleted {
			return nil, fmt.Errorf("acd: %s: agent %q: %w", path, r.ID, err)
		}
		f.recs[r.ID] = r
	}
	return f, nil
}

// Records returns every record, by agent id.
func (f *AgentFile) Records() []AgentRecord {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := slices.Collect(maps.Values(f.recs))
	slices.SortFunc(out, func(a, b AgentRecord) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// Get returns the record of agent id.
func (f *AgentFile) Get(id string) (AgentRecord, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r, ok := f.recs[id]
	return r, ok
}

// Put stores r (replacing the agent's record) and rewrites the file; on a write
// error the record is as before.
func (f *AgentFile) Put(r AgentRecord) error {
	if r.ID == "" {
		return fmt.Errorf("%w: agent id is empty", ErrInvalid)
	}
	r.Skills = r.Skills.Clone()
	r.Credentials = maps.Clone(r.Credentials)
	f.mu.Lock()
	defer f.mu.Unlock()
	old, had := f.recs[r.ID]
	f.recs[r.ID] = r
	if err := f.write(); err != nil {
		if had {
			f.recs[r.ID] = old
		} else {
			delete(f.recs, r.ID)
		}
		return err
	}
	return nil
}

// write replaces the file atomically; f.mu is held.
func (f *AgentFile) write() error {
	list := slices.Collect(maps.Values(f.recs))
	slices.SortFunc(list, func(a, b AgentRecord) int { return cmp.Compare(a.ID, b.ID) })
	data, err := json.MarshalIndent(list, "", "  ")
	if err != nil {
		return fmt.Errorf("acd: encode agents: %w", err)
	}
	// The file may hold digest HA1 values: readable by the engine's user only.
	if err := writeFileAtomic(f.path, append(data, '\n')); err != nil {
		return fmt.Errorf("acd: write agents: %w", err)
	}
	return nil
}
