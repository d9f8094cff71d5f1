package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/hotline-ivr/hotline/acd"
	"github.com/hotline-ivr/hotline/api"
	"github.com/hotline-ivr/hotline/sip/auth"
)

// acdAPI adapts *acd.Engine to the API's Queues and Agents, and samples the
// wallboard's queue rows and agent counts. api defines what it needs and imports
// nothing of the engine, so the mapping, field for field and error for error,
// lives here in cmd.
//
// It is a value holding only what the configuration fixed at start (the queue
// order and targets), so copies share the engine and are safe for concurrent use.
type acdAPI struct {
	e *acd.Engine
	// queues is the display order: the configuration's queues as written (the YAML
	// mapping's order), which is how the operator grouped them.
	queues []string
	// targets are each configured queue's goals (service level target and T_sl).
	// A queue missing here (added at run time, or "" for all queues) gets zero
	// Targets, which the API fills with its defaults.
	targets map[string]api.Targets
	// admin changes agents (create, update, delete); nil answers 501-like
	// api.ErrUnavailable.
	admin *agentAdmin
}

var (
	_ api.Queues     = acdAPI{}
	_ api.Agents     = acdAPI{}
	_ api.AgentAdmin = acdAPI{}
)

// newACDAPI adapts e, whose configuration is cfg (the one given to acd.NewEngine
// through acd.WithConfig): cfg gives the queues' display order and targets. A nil
// cfg lists no queues.
func newACDAPI(e *acd.Engine, cfg *acd.Config) acdAPI {
	a := acdAPI{e: e, targets: map[string]api.Targets{}}
	if cfg == nil {
		return a
	}
	for _, q := range cfg.Queues {
		a.queues = append(a.queues, q.Name)
		a.targets[q.Name] = api.Targets{
			ServiceLevel:          q.ServiceLevelTarget,
			ServiceLevelThreshold: api.Duration(q.ServiceLevel),
			// acd configures no answer or abandonment goal: zero takes the API's
			// defaults (METRICS.md's 95 % answer rate, a 5 % abandonment ceiling).
		}
	}
	return a
}

// acdErr maps the ACD's errors to the API's sentinels. what names the thing asked
// for in the client's terms (`agent "bob"`): for the sentinels the message is sent
// to the client; any other error is a 500 whose detail is logged, so it keeps the
// ACD's error wrapped.
func acdErr(err error, what string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, acd.ErrNotFound), errors.Is(err, acd.ErrUnknownQueue):
		return fmt.Errorf("%s: %w", what, api.ErrNotFound)
	case errors.Is(err, acd.ErrInvalid):
		return fmt.Errorf("%s: %w: %v", what, api.ErrInvalid, err)
	case errors.Is(err, acd.ErrBusy), errors.Is(err, acd.ErrConflict):
		return fmt.Errorf("%s: %w: %v", what, api.ErrConflict, err)
	case errors.Is(err, acd.ErrClosed):
		return fmt.Errorf("%s: %w: the ACD is stopping", what, api.ErrUnavailable)
	}
	return fmt.Errorf("acd: %s: %w", what, err)
}

// QueueNames lists the configured queues in the configuration's order.
func (a acdAPI) QueueNames(ctx context.Context) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return append([]string(nil), a.queues...), nil
}

// QueueStatus returns a queue's live state; an unknown queue is api.ErrNotFound.
func (a acdAPI) QueueStatus(ctx context.Context, queue string) (api.QueueStatus, error) {
	st, err := a.e.Status(ctx, queue)
	if err != nil {
		return api.QueueStatus{}, acdErr(err, fmt.Sprintf("queue %q", queue))
	}
	return api.QueueStatus{
		Queue:           st.Queue,
		Waiting:         st.Waiting,
		Callbacks:       st.Callbacks,
		LongestWait:     api.Duration(st.LongestWait),
		AgentsStaffed:   st.AgentsStaffed,
		AgentsAvailable: st.AgentsAvailable,
		EstimatedWait:   api.DurationOf(st.EstimatedWait, st.EstimateKnown),
	}, nil
}

// QueueFigures returns queue's figures ("" for all queues) for the intervals
// starting in [from, to). The API checks that a named queue exists first (through
// QueueStatus); the ACD's tally answers zeros for a queue it never saw.
func (a acdAPI) QueueFigures(ctx context.Context, queue string, from, to time.Time) (api.QueueFigures, error) {
	if err := ctx.Err(); err != nil {
		return api.QueueFigures{}, err
	}
	return a.figures(a.e.Figures(queue, from, to)), nil
}

// QueueToday returns queue's figures ("" for all) since midnight in the ACD's time
// zone.
func (a acdAPI) QueueToday(ctx context.Context, queue string) (api.QueueFigures, error) {
	if err := ctx.Err(); err != nil {
		return api.QueueFigures{}, err
	}
	return a.figures(a.e.Today(queue)), nil
}

// figures maps acd.Figures to the API's, computing the ratios and means with
// acd.Figures' methods (the one implementation of METRICS.md's definitions).
func (a acdAPI) figures(f acd.Figures) api.QueueFigures {
	return api.QueueFigures{
		Queue:          f.Queue,
		From:           f.From,
		To:             f.To,
		Offered:        f.Offered,
		Answered:       f.Answered,
		AnsweredInSL:   f.AnsweredInSL,
		Abandoned:      f.Abandoned,
		ShortAbandoned: f.ShortAbandoned,
		FlowedOut:      f.FlowedOut(),
		Handled:        f.Handled,
		ServiceLevel:   api.Ratio(f.ServiceLevel()),
		AnswerRate:     api.Ratio(f.AnswerRate()),
		AbandonRate:    api.Ratio(f.AbandonRate()),
		ASA:            api.DurationOf(f.ASA()),
		AHT:            api.DurationOf(f.AHT()),
		Occupancy:      api.Ratio(f.Occupancy()),
		Targets:        a.targets[f.Queue],
	}
}

// Agents lists every agent with their state, sorted by id (the ACD's snapshot
// order).
func (a acdAPI) Agents(ctx context.Context) ([]api.AgentStatus, error) {
	list, err := a.e.Agents(ctx)
	if err != nil {
		return nil, acdErr(err, "agents")
	}
	out := make([]api.AgentStatus, len(list))
	for i := range list {
		out[i] = agentStatus(&list[i])
	}
	return out, nil
}

// agentStatus maps one acd.AgentState to the API's AgentStatus.
func agentStatus(s *acd.AgentState) api.AgentStatus {
	p := api.PresenceUnknown
	if s.Presence != acd.PresenceUnknown {
		p = api.Presence(s.Presence.String())
	}
	return api.AgentStatus{
		ID:        s.ID,
		Name:      s.Name,
		Extension: s.Extension,
		Skills:    maps.Clone(map[string]int(s.Skills)),
		Presence:  p,
		Reason:    s.Reason,
		Activity:  s.Activity.String(),
		State:     s.State().String(),
		Since:     s.Since,
		CallID:    s.CallID,
		Queue:     s.Queue,
		Calls:     s.Calls,
		Missed:    s.Missed,
	}
}

// SetPresence records what an agent chose. The API has checked p and the reason;
// a presence acd does not know is still refused here (api.ErrInvalid), because the
// ACD's store only reports it as an untyped error.
func (a acdAPI) SetPresence(ctx context.Context, id string, p api.Presence, reason string) error {
	var ap acd.Presence
	if err := ap.UnmarshalText([]byte(p)); err != nil || ap == acd.PresenceUnknown {
		return fmt.Errorf("presence %q: %w: want available, break or offline", string(p), api.ErrInvalid)
	}
	if ap != acd.PresenceBreak {
		reason = "" // only a break has a reason
	}
	return acdErr(a.e.SetPresence(ctx, id, ap, reason), fmt.Sprintf("agent %q", id))
}

// Ready ends an agent's wrap-up or missed pause early. The ACD treats Ready on an
// agent with nothing to end as a no-op; the API wants a 409 for it, so the agent's
// activity is read first. Between that read and Ready the wrap-up may end on its
// own: Ready then does nothing and the answer is still right (the agent is ready).
func (a acdAPI) Ready(ctx context.Context, id string) error {
	what := fmt.Sprintf("agent %q", id)
	list, err := a.e.Agents(ctx)
	if err != nil {
		return acdErr(err, what)
	}
	var st *acd.AgentState
	for i := range list {
		if list[i].ID == id {
			st = &list[i]
			break
		}
	}
	switch {
	case st == nil:
		return fmt.Errorf("%s: %w", what, api.ErrNotFound)
	case st.Activity != acd.ActivityWrapUp && st.Activity != acd.ActivityMissed:
		return fmt.Errorf("%s: %w: %s, not in wrap-up or a missed pause", what, api.ErrConflict, st.State())
	}
	return acdErr(a.e.Ready(ctx, id), what)
}

// wallboard samples the wallboard's queue rows (each configured queue's live state
// and today's figures, in display order) and the agents counted by state (states
// with no agent are left out). It reads the ACD's snapshot and live tally only,
// never the event log, so it can run every second.
func (a acdAPI) wallboard(ctx context.Context) ([]api.QueueOverview, map[string]int, error) {
	rows := make([]api.QueueOverview, 0, len(a.queues))
	for _, q := range a.queues {
		st, err := a.QueueStatus(ctx, q)
		if err != nil {
			return nil, nil, err
		}
		today, err := a.QueueToday(ctx, q)
		if err != nil {
			return nil, nil, err
		}
		rows = append(rows, api.QueueOverview{QueueStatus: st, Today: today})
	}
	list, err := a.e.Agents(ctx)
	if err != nil {
		return nil, nil, acdErr(err, "agents")
	}
	counts := map[string]int{}
	for i := range list {
		counts[list[i].State().String()]++
	}
	return rows, counts, nil
}

// agentsFile is where agents changed through the API are kept in data_dir.
const agentsFile = "acd-agents.json"

// agentAdmin changes agents at run time: the ACD engine and the agents file in
// data_dir move together, so a change the API acknowledged is live and survives a
// restart (the file is applied over acd.yaml at start: acd.yaml stays the seed).
type agentAdmin struct {
	e     *acd.Engine
	file  *acd.AgentFile
	realm string
	// pinned maps an agent to the queue whose agents list in acd.yaml names them:
	// deleting them would leave the queue naming an unknown agent.
	pinned map[string]string

	mu sync.Mutex // serialises changes: the engine and the file move together
}

// openAgentAdmin opens the agents file in data_dir and applies it to e: agents
// created or changed through the API come back, deleted ones are removed.
func openAgentAdmin(cfg Config, e *acd.Engine, seed *acd.Config) (*agentAdmin, error) {
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return nil, fmt.Errorf("acd agents file: %w", err)
	}
	f, err := acd.OpenAgentFile(filepath.Join(cfg.DataDir, agentsFile))
	if err != nil {
		return nil, err
	}
	a := &agentAdmin{e: e, file: f, realm: cfg.SIP.realm(), pinned: map[string]string{}}
	if seed != nil {
		for _, q := range seed.Queues {
			for _, m := range q.Members {
				a.pinned[m] = q.Name
			}
		}
	}
	ctx := context.Background()
	for _, r := range f.Records() {
		if r.Deleted {
			if err := e.RemoveAgent(ctx, r.ID); err != nil && !errors.Is(err, acd.ErrNotFound) {
				return nil, fmt.Errorf("acd agents file: remove %q: %w", r.ID, err)
			}
			continue
		}
		if err := e.AddAgent(ctx, r.Agent); err != nil {
			return nil, fmt.Errorf("acd agents file: agent %q: %w", r.ID, err)
		}
	}
	return a, nil
}

// credentials turns a SIP password into the HA1 digests the registrar checks,
// for the user the phone registers as (the extension, else the id).
func (a *agentAdmin) credentials(ag acd.Agent, password string) map[string]string {
	user := phoneUser(ag)
	return map[string]string{
		auth.MD5.String():    auth.HA1(auth.MD5, user, a.realm, password),
		auth.SHA256.String(): auth.HA1(auth.SHA256, user, a.realm, password),
	}
}

// phoneUser is the SIP user an agent's phone registers as.
func phoneUser(ag acd.Agent) string {
	if ag.Extension != "" {
		return ag.Extension
	}
	return ag.ID
}

// find returns agent id's state from the engine.
func (a *agentAdmin) find(ctx context.Context, id string) (*acd.AgentState, error) {
	list, err := a.e.Agents(ctx)
	if err != nil {
		return nil, err
	}
	for i := range list {
		if list[i].ID == id {
			return &list[i], nil
		}
	}
	return nil, nil
}

// put writes rec to the file, then to the engine; when the engine refuses, the
// file gets back its previous record (or a deletion, which is harmless for an
// agent that never was).
func (a *agentAdmin) put(ctx context.Context, rec acd.AgentRecord) error {
	old, had := a.file.Get(rec.ID)
	if err := a.file.Put(rec); err != nil {
		return err
	}
	if err := a.e.AddAgent(ctx, rec.Agent); err != nil {
		if !had {
			old = acd.AgentRecord{Agent: acd.Agent{ID: rec.ID}, Deleted: true}
		}
		_ = a.file.Put(old)
		return err
	}
	return nil
}

// adminSide returns the admin side or api.ErrUnavailable.
func (x acdAPI) adminSide() (*agentAdmin, error) {
	if x.admin == nil {
		return nil, fmt.Errorf("%w: agents cannot be changed on this engine (no agents file)", api.ErrUnavailable)
	}
	return x.admin, nil
}

// status reads agent id back for the answer.
func (a *agentAdmin) status(ctx context.Context, id string) (api.AgentStatus, error) {
	st, err := a.find(ctx, id)
	if err != nil || st == nil {
		return api.AgentStatus{}, acdErr(cmpErr(err, acd.ErrNotFound), fmt.Sprintf("agent %q", id))
	}
	return agentStatus(st), nil
}

func cmpErr(err, otherwise error) error {
	if err != nil {
		return err
	}
	return otherwise
}

// CreateAgent adds an agent, offline, to the engine and the agents file.
func (x acdAPI) CreateAgent(ctx context.Context, s api.AgentSpec) (api.AgentStatus, error) {
	a, err := x.adminSide()
	if err != nil {
		return api.AgentStatus{}, err
	}
	what := fmt.Sprintf("agent %q", s.ID)
	a.mu.Lock()
	defer a.mu.Unlock()
	cur, err := a.find(ctx, s.ID)
	switch {
	case err != nil:
		return api.AgentStatus{}, acdErr(err, what)
	case cur != nil:
		return api.AgentStatus{}, fmt.Errorf("%s: %w: the id is in use", what, api.ErrConflict)
	}
	rec := acd.AgentRecord{Agent: acd.Agent{ID: s.ID, Name: s.Name, Extension: s.Extension, Skills: acd.Skills(maps.Clone(s.Skills))}}
	if s.Password != "" {
		rec.Credentials = a.credentials(rec.Agent, s.Password)
	}
	if err := a.put(ctx, rec); err != nil {
		return api.AgentStatus{}, acdErr(err, what)
	}
	return a.status(ctx, s.ID)
}

// UpdateAgent replaces an agent's profile; presence and a call in progress stay.
func (x acdAPI) UpdateAgent(ctx context.Context, s api.AgentSpec) (api.AgentStatus, error) {
	a, err := x.adminSide()
	if err != nil {
		return api.AgentStatus{}, err
	}
	what := fmt.Sprintf("agent %q", s.ID)
	a.mu.Lock()
	defer a.mu.Unlock()
	cur, err := a.find(ctx, s.ID)
	switch {
	case err != nil:
		return api.AgentStatus{}, acdErr(err, what)
	case cur == nil:
		return api.AgentStatus{}, fmt.Errorf("%s: %w", what, api.ErrNotFound)
	}
	rec := acd.AgentRecord{Agent: acd.Agent{ID: s.ID, Name: s.Name, Extension: s.Extension, Skills: acd.Skills(maps.Clone(s.Skills))}}
	old, _ := a.file.Get(s.ID)
	switch {
	case s.Password != "":
		rec.Credentials = a.credentials(rec.Agent, s.Password)
	case len(old.Credentials) > 0 && phoneUser(old.Agent) != phoneUser(rec.Agent):
		// The digests are bound to the user name the phone registers as.
		return api.AgentStatus{}, fmt.Errorf("%s: %w: a new extension needs the password again", what, api.ErrInvalid)
	default:
		rec.Credentials = old.Credentials
	}
	if err := a.put(ctx, rec); err != nil {
		return api.AgentStatus{}, acdErr(err, what)
	}
	return a.status(ctx, s.ID)
}

// SetSkills replaces an agent's skills only.
func (x acdAPI) SetSkills(ctx context.Context, id string, skills map[string]int) (api.AgentStatus, error) {
	a, err := x.adminSide()
	if err != nil {
		return api.AgentStatus{}, err
	}
	what := fmt.Sprintf("agent %q", id)
	a.mu.Lock()
	defer a.mu.Unlock()
	cur, err := a.find(ctx, id)
	switch {
	case err != nil:
		return api.AgentStatus{}, acdErr(err, what)
	case cur == nil:
		return api.AgentStatus{}, fmt.Errorf("%s: %w", what, api.ErrNotFound)
	}
	old, _ := a.file.Get(id)
	ag := cur.Agent
	ag.Skills = acd.Skills(maps.Clone(skills))
	if err := a.put(ctx, acd.AgentRecord{Agent: ag, Credentials: old.Credentials}); err != nil {
		return api.AgentStatus{}, acdErr(err, what)
	}
	return a.status(ctx, id)
}

// DeleteAgent removes an agent who is not ringing or on a call (409 then: delete
// once the call ends), nor named by a queue's agents list in acd.yaml.
func (x acdAPI) DeleteAgent(ctx context.Context, id string) error {
	a, err := x.adminSide()
	if err != nil {
		return err
	}
	what := fmt.Sprintf("agent %q", id)
	a.mu.Lock()
	defer a.mu.Unlock()
	cur, err := a.find(ctx, id)
	switch {
	case err != nil:
		return acdErr(err, what)
	case cur == nil:
		return fmt.Errorf("%s: %w", what, api.ErrNotFound)
	}
	if q, ok := a.pinned[id]; ok {
		return fmt.Errorf("%s: %w: queue %q lists the agent in acd.yaml; remove them there", what, api.ErrConflict, q)
	}
	if err := a.e.RemoveAgent(ctx, id); err != nil {
		return acdErr(err, what)
	}
	if err := a.file.Put(acd.AgentRecord{Agent: acd.Agent{ID: id}, Deleted: true}); err != nil {
		// Not durable: put the agent back (offline) rather than lose them at restart.
		_ = a.e.AddAgent(context.WithoutCancel(ctx), cur.Agent)
		return acdErr(err, what)
	}
	return nil
}

// agentUsers is the registrar's credential store for agents given a password
// through the API (their HA1 digests in the agents file), in front of next (the
// sip.users of the configuration). The registrar finds new and changed agents at
// once: it reads the file's records at each look-up.
type agentUsers struct {
	file  *acd.AgentFile
	realm string
	next  auth.Users // nil: none
}

var _ auth.Users = agentUsers{}

// Lookup implements auth.Users.
func (u agentUsers) Lookup(ctx context.Context, username, realm string, alg auth.Algorithm) (auth.Credential, error) {
	if realm == u.realm {
		for _, r := range u.file.Records() {
			if r.Deleted || phoneUser(r.Agent) != username {
				continue
			}
			if ha1 := r.Credentials[alg.String()]; ha1 != "" {
				return auth.Credential{HA1: ha1}, nil
			}
		}
	}
	if u.next == nil {
		return auth.Credential{}, auth.ErrUnknownUser
	}
	return u.next.Lookup(ctx, username, realm, alg)
}

// hasPasswords reports whether an agent of the API was given a SIP password, so
// the engine must be their phones' registrar even without sip.users.
func (a *agentAdmin) hasPasswords() bool {
	if a == nil {
		return false
	}
	for _, r := range a.file.Records() {
		if !r.Deleted && len(r.Credentials) > 0 {
			return true
		}
	}
	return false
}

// registrarUsers returns the credential store for the registrar: the API's agents
// in front of next (sip.users).
func (a *agentAdmin) registrarUsers(next auth.Users) auth.Users {
	return agentUsers{file: a.file, realm: a.realm, next: next}
}
