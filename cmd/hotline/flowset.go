package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/hotline-ivr/hotline/api"
	"github.com/hotline-ivr/hotline/flows"
)

// flowSet is the flows new calls run, swapped whole on reload. A call takes a
// *flows.Flow once, when it starts, and keeps it: a reload never changes the flow of
// a call in progress, and the old flows live as long as their last call.
type flowSet struct {
	dir     string // "" for the flows built into the binary
	deflt   string // the name of the flow that answers calls
	log     *slog.Logger
	onSwap  func(map[string]*flows.Flow) // called with each new set, after the swap
	reloads sync.Mutex                   // one reload at a time

	mu       sync.RWMutex
	byName   map[string]*flows.Flow
	loadedAt time.Time
}

func newFlowSet(dir, deflt string, log *slog.Logger) *flowSet {
	return &flowSet{dir: dir, deflt: deflt, log: log}
}

// load reads every flow file and, only when all of them are valid and the default
// flow is among them, makes them the flows new calls run.
func (s *flowSet) load() error {
	s.reloads.Lock()
	defer s.reloads.Unlock()
	var list []*flows.Flow
	if s.dir == "" {
		f, err := flows.Sample()
		if err != nil {
			return fmt.Errorf("built-in sample flow: %w", err)
		}
		list = []*flows.Flow{f}
	} else {
		var err error
		if list, err = flows.LoadDir(s.dir); err != nil {
			return fmt.Errorf("load flows from %s:\n%w", s.dir, err)
		}
	}
	byName := make(map[string]*flows.Flow, len(list))
	for _, f := range list {
		byName[f.Name] = f
	}
	if byName[s.deflt] == nil {
		return fmt.Errorf("flows.default: no flow named %q is loaded", s.deflt)
	}
	s.mu.Lock()
	s.byName, s.loadedAt = byName, time.Now()
	s.mu.Unlock()
	for _, f := range list {
		s.log.Info("flow loaded", "flow", f.Name, "version", f.Version, "file", f.File, "nodes", len(f.Nodes))
	}
	if s.onSwap != nil {
		s.onSwap(byName)
	}
	return nil
}

// get returns the flow named name ("" for the default one).
func (s *flowSet) get(name string) *flows.Flow {
	if name == "" {
		name = s.deflt
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.byName[name]
}

// all returns the loaded flows, by name.
func (s *flowSet) all() map[string]*flows.Flow {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.byName
}

// Flows lists the loaded flows for the API.
func (s *flowSet) Flows(context.Context) ([]api.FlowInfo, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]api.FlowInfo, 0, len(s.byName))
	for _, f := range s.byName {
		out = append(out, api.FlowInfo{Name: f.Name, Version: f.Version, File: f.File,
			LoadedAt: s.loadedAt, Default: f.Name == s.deflt})
	}
	slices.SortFunc(out, func(a, b api.FlowInfo) int {
		switch {
		case a.Name < b.Name:
			return -1
		case a.Name > b.Name:
			return 1
		}
		return 0
	})
	return out, nil
}

// Reload loads the flow files again (SIGHUP, POST /api/v1/flows/reload). Refused
// reloads return an *api.ValidationError with every problem and keep the old flows.
func (s *flowSet) Reload(ctx context.Context) ([]api.FlowInfo, error) {
	if err := s.load(); err != nil {
		var es flows.Errors
		if errors.As(err, &es) {
			ve := &api.ValidationError{}
			for _, e := range es {
				ve.Problems = append(ve.Problems, api.Problem{File: e.Pos.File, Line: e.Pos.Line, Col: e.Pos.Col, Message: e.Msg})
			}
			return nil, ve
		}
		return nil, &api.ValidationError{Problems: []api.Problem{{Message: err.Error()}}}
	}
	return s.Flows(ctx)
}
