package acd

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// Defaults. Every field of Config that is left out takes the constant named here.
const (
	DefaultStrategy           = StrategyLongestIdle
	DefaultRingTimeout        = 20 * time.Second // per offer, then the next agent
	DefaultWrapUp             = 0                // after-call work granted after each call
	DefaultServiceLevel       = 20 * time.Second // T_sl of METRICS.md
	DefaultServiceLevelTarget = 0.80             // 80/20
	DefaultShortAbandon       = 5 * time.Second  // T_short of METRICS.md
	DefaultAnnounceFirst      = 5 * time.Second  // first position/wait announcement after joining
	DefaultAnnounceEvery      = 45 * time.Second // then this often
	DefaultExpectedAHT        = 3 * time.Minute  // the EWT estimator's AHT before any call is handled
	DefaultCallbackRetry      = 2 * time.Minute  // a callback nobody answered is dialled again after
	DefaultCallbackAttempts   = 3                // dial attempts before a callback is given up
	DefaultAutoBreakAfter     = 3                // unanswered offers in a row before the automatic break
	DefaultMissedPause        = 10 * time.Second // an agent who missed an offer is held back this long
	DefaultGrace              = 5 * time.Second  // an offer still ringing ring_timeout + grace is reconciled
	DefaultInterval           = 15 * time.Minute // the figures' reporting interval
	DefaultCallbackKey        = '1'              // the DTMF key that takes a callback offer
	MaxPriority               = 10               // request priorities run from 0 to MaxPriority
	maxOverflowHops           = 8                // a call overflowing more often times out instead
)

// EmptyMeaning says when a queue counts as empty for join_when_empty and
// leave_when_empty.
type EmptyMeaning uint8

// Empty meanings.
const (
	EmptyUnknown     EmptyMeaning = iota
	EmptyNoAgents                 // no eligible agent is logged in (all offline)
	EmptyNoAvailable              // no eligible agent is available (offline or on break)
)

var emptyNames = []string{"unknown", "no_agents", "no_available"}

// String returns the config name.
func (m EmptyMeaning) String() string { return enumString(emptyNames, int(m)) }

// MarshalText encodes the meaning by name.
func (m EmptyMeaning) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// UnmarshalText decodes a meaning name.
func (m *EmptyMeaning) UnmarshalText(b []byte) error {
	return enumParse(emptyNames, "empty meaning", string(b), (*uint8)(m))
}

// Config is the ACD's YAML configuration: engine settings, agents and queues.
// LoadConfig and ParseConfig read it strictly (unknown keys are errors); built in
// code, call Defaults then Validate.
type Config struct {
	Engine EngineConfig
	Agents []AgentConfig
	Queues []QueueConfig // unique names

	pos map[string]Pos // config path -> position, for Validate's messages
}

// EngineConfig holds the engine-wide settings.
type EngineConfig struct {
	// AutoBreakAfter puts an agent on break after this many unanswered offers in a row
	// (key auto_break_after; default 3; 0 never).
	AutoBreakAfter int
	// MissedPause holds an agent out of offers after one they did not answer (key
	// missed_pause; duration; default 10s; 0 for none).
	MissedPause time.Duration
	// Grace is added to a queue's ring timeout before an offer nobody answered nor
	// rejected is reconciled (key grace; duration; default 5s).
	Grace time.Duration
	// Interval is the figures' reporting interval (key interval; duration dividing
	// 24h; default 15m).
	Interval time.Duration
	// Timezone is where "today" starts for today's figures (key timezone; IANA name;
	// default the process's local zone).
	Timezone string
}

// AgentConfig is an agent as configured: the profile and the presence the agent has
// when the engine starts.
type AgentConfig struct {
	Agent
	// Presence at start (key presence; offline, available or break; default offline:
	// agents log in themselves). PresenceUnknown means offline.
	Presence Presence
}

// RelaxStep widens a waiting call's pool of agents once it has waited After in the
// queue. Steps apply in order and add up; the call keeps its place throughout.
type RelaxStep struct {
	After time.Duration // key after; duration; required
	Lower int           // key lower; lower every minimum level by this much (never under 1)
	Drop  []string      // key drop; skills no longer required
}

// QueueConfig is one queue.
type QueueConfig struct {
	Name string // the key under queues; flows name it through their environment
	// Strategy picks among eligible agents (key strategy; longest_idle, round_robin,
	// fewest_calls, best_skill_match, ring_all; default longest_idle).
	Strategy Strategy
	// Skills are minimum levels every call needs; a flow's own skills add to them
	// and override a level they share (key skills; skill: 1–5).
	Skills Skills
	// Members restricts the queue to these agent ids (key agents; default every
	// agent whose skills qualify).
	Members []string
	// PriorityPerMinute raises a waiting call's priority by this much per minute
	// waited, so low priorities are not starved (key priority_per_minute; default 0).
	PriorityPerMinute float64
	// Relax lists the relaxation steps (key relax).
	Relax []RelaxStep
	// MaxSize refuses callers beyond this many waiting calls with the full outcome
	// (key max_size; default 0, unlimited).
	MaxSize int
	// MaxWait ends a wait by overflow, callback or the timeout outcome (key
	// max_wait; duration; default none: the flow's queue timeout).
	MaxWait time.Duration
	// Overflow is the queue a call moves to after MaxWait (key overflow).
	Overflow string
	// CallbackOnTimeout turns a call that reached MaxWait into a callback (keeping
	// its place) instead of the timeout outcome, when there is no overflow and the
	// request allows callbacks (key callback_on_timeout; default false).
	CallbackOnTimeout bool
	// JoinWhenEmpty lets callers join a queue no agent can serve (key
	// join_when_empty; default true); false gives the closed outcome.
	JoinWhenEmpty bool
	// LeaveWhenEmpty makes waiting callers leave, with the closed outcome, once the
	// queue is empty (key leave_when_empty; default false).
	LeaveWhenEmpty bool
	// Empty says what empty means (key empty; no_agents or no_available; default
	// no_agents).
	Empty EmptyMeaning
	// WrapUp is after-call work granted after each call (key wrap_up; default 0).
	WrapUp time.Duration
	// RingTimeout is how long one offer rings (key ring_timeout; default 20s).
	RingTimeout time.Duration
	// ServiceLevel is T_sl (key service_level; default 20s) and ServiceLevelTarget
	// the goal (key service_level_target; 0–1; default 0.8).
	ServiceLevel       time.Duration
	ServiceLevelTarget float64
	// ShortAbandon is T_short (key short_abandon; default 5s).
	ShortAbandon time.Duration
	// AnnounceFirst and AnnounceEvery time the position and wait announcements (keys
	// announce_first, default 5s; announce_every, default 45s).
	AnnounceFirst, AnnounceEvery time.Duration
	// ExpectedAHT seeds the wait estimator before calls are handled (key
	// expected_aht; default 3m).
	ExpectedAHT time.Duration
	// Whisper tells the agent the queue and the intent before bridging (key whisper;
	// default false).
	Whisper bool
	// CallbackRetry and CallbackAttempts govern dialling callbacks back (keys
	// callback_retry, default 2m; callback_attempts, default 3).
	CallbackRetry    time.Duration
	CallbackAttempts int
}

// DefaultQueue returns a queue with every default filled in.
func DefaultQueue(name string) QueueConfig {
	return QueueConfig{
		Name: name, Strategy: DefaultStrategy, JoinWhenEmpty: true, Empty: EmptyNoAgents,
		WrapUp: DefaultWrapUp, RingTimeout: DefaultRingTimeout,
		ServiceLevel: DefaultServiceLevel, ServiceLevelTarget: DefaultServiceLevelTarget,
		ShortAbandon: DefaultShortAbandon, AnnounceFirst: DefaultAnnounceFirst,
		AnnounceEvery: DefaultAnnounceEvery, ExpectedAHT: DefaultExpectedAHT,
		CallbackRetry: DefaultCallbackRetry, CallbackAttempts: DefaultCallbackAttempts,
	}
}

// DefaultEngine returns the engine settings' defaults.
func DefaultEngine() EngineConfig {
	return EngineConfig{AutoBreakAfter: DefaultAutoBreakAfter, MissedPause: DefaultMissedPause,
		Grace: DefaultGrace, Interval: DefaultInterval}
}

// Requirement returns the skills a call of this queue needs after waiting w, given
// the flow's own skills: the queue's and the flow's merged (the flow wins on a
// shared skill), then every relaxation step whose time has come.
func (q *QueueConfig) Requirement(flow Skills, w time.Duration) Skills {
	req := q.Skills.Clone()
	if req == nil {
		req = Skills{}
	}
	maps.Copy(req, flow)
	for _, st := range q.Relax {
		if w < st.After {
			break
		}
		for k, v := range req {
			req[k] = max(MinSkillLevel, v-st.Lower)
		}
		for _, k := range st.Drop {
			delete(req, k)
		}
	}
	return req
}

// nextRelax returns the wait at which the requirement next widens, or false.
func (q *QueueConfig) nextRelax(w time.Duration) (time.Duration, bool) {
	for _, st := range q.Relax {
		if st.After > w {
			return st.After, true
		}
	}
	return 0, false
}

// Queue returns the named queue's settings.
func (c *Config) Queue(name string) (*QueueConfig, bool) {
	for i := range c.Queues {
		if c.Queues[i].Name == name {
			return &c.Queues[i], true
		}
	}
	return nil, false
}

// Validate reports every problem in c, with positions when c came from YAML.
func (c *Config) Validate() error {
	var es Errors
	add := func(path, format string, args ...any) {
		es = append(es, &Error{Pos: c.pos[path], Msg: fmt.Sprintf(format, args...)})
	}
	e := c.Engine
	if e.AutoBreakAfter < 0 {
		add("engine.auto_break_after", "engine.auto_break_after must be 0 or more")
	}
	if e.MissedPause < 0 {
		add("engine.missed_pause", "engine.missed_pause must not be negative")
	}
	if e.Grace <= 0 {
		add("engine.grace", "engine.grace must be more than 0")
	}
	if e.Interval < time.Minute || (24*time.Hour)%e.Interval != 0 {
		add("engine.interval", "engine.interval must be at least 1m and divide 24h, got %s", e.Interval)
	}
	if e.Timezone != "" {
		if _, err := time.LoadLocation(e.Timezone); err != nil {
			add("engine.timezone", "engine.timezone: unknown time zone %q", e.Timezone)
		}
	}
	agents := map[string]bool{}
	for i, a := range c.Agents {
		p := fmt.Sprintf("agents[%d]", i)
		switch {
		case a.ID == "":
			add(p, "%s: id is required", p)
		case agents[a.ID]:
			add(p+".id", "%s: duplicate agent id %q", p, a.ID)
		}
		agents[a.ID] = true
		if err := a.Skills.Validate(); err != nil {
			add(p+".skills", "%s.skills: %v", p, err)
		}
		if a.Presence > PresenceBreak {
			add(p+".presence", "%s.presence must be offline, available or break", p)
		}
	}
	queues := map[string]*QueueConfig{}
	for i := range c.Queues {
		q := &c.Queues[i]
		if q.Name == "" {
			add("queues", "queues: a queue has an empty name")
		} else if queues[q.Name] != nil {
			add("queues."+q.Name, "queues: duplicate queue %q", q.Name)
		}
		queues[q.Name] = q
	}
	for i := range c.Queues {
		c.validateQueue(&c.Queues[i], queues, agents, add)
	}
	c.checkOverflowCycles(queues, add)
	if len(es) == 0 {
		return nil
	}
	return es.sorted()
}

func (c *Config) validateQueue(q *QueueConfig, queues map[string]*QueueConfig, agents map[string]bool, add func(string, string, ...any)) {
	p := "queues." + q.Name
	if q.Strategy == StrategyUnknown || q.Strategy > StrategyRingAll {
		add(p+".strategy", "%s.strategy: unknown strategy", p)
	}
	if err := q.Skills.Validate(); err != nil {
		add(p+".skills", "%s.skills: %v", p, err)
	}
	for _, m := range q.Members {
		if !agents[m] {
			add(p+".agents", "%s.agents: unknown agent %q", p, m)
		}
	}
	if q.PriorityPerMinute < 0 || q.PriorityPerMinute > MaxPriority {
		add(p+".priority_per_minute", "%s.priority_per_minute must be from 0 to %d", p, MaxPriority)
	}
	var last time.Duration
	for i, st := range q.Relax {
		sp := fmt.Sprintf("%s.relax[%d]", p, i)
		if st.After <= last {
			add(sp+".after", "%s.after must be later than the step before (%s)", sp, last)
		}
		last = st.After
		if st.Lower < 0 || st.Lower > MaxSkillLevel-MinSkillLevel {
			add(sp+".lower", "%s.lower must be from 0 to %d", sp, MaxSkillLevel-MinSkillLevel)
		}
		if st.Lower == 0 && len(st.Drop) == 0 {
			add(sp, "%s: a step must lower levels or drop skills", sp)
		}
	}
	if q.MaxSize < 0 {
		add(p+".max_size", "%s.max_size must be 0 (unlimited) or more", p)
	}
	if q.MaxWait < 0 {
		add(p+".max_wait", "%s.max_wait must not be negative", p)
	}
	if q.Overflow != "" {
		switch {
		case queues[q.Overflow] == nil:
			add(p+".overflow", "%s.overflow: unknown queue %q", p, q.Overflow)
		case q.Overflow == q.Name:
			add(p+".overflow", "%s.overflow names the queue itself", p)
		case q.MaxWait == 0:
			add(p+".overflow", "%s.overflow needs max_wait", p)
		}
	}
	if q.Empty != EmptyNoAgents && q.Empty != EmptyNoAvailable {
		add(p+".empty", "%s.empty must be no_agents or no_available", p)
	}
	for _, d := range []struct {
		key  string
		v    time.Duration
		zero bool
	}{
		{"wrap_up", q.WrapUp, true}, {"ring_timeout", q.RingTimeout, false},
		{"service_level", q.ServiceLevel, false}, {"short_abandon", q.ShortAbandon, true},
		{"announce_first", q.AnnounceFirst, true}, {"announce_every", q.AnnounceEvery, false},
		{"expected_aht", q.ExpectedAHT, false}, {"callback_retry", q.CallbackRetry, false},
	} {
		if d.v < 0 || (d.v == 0 && !d.zero) {
			add(p+"."+d.key, "%s.%s must be more than 0", p, d.key)
		}
	}
	if q.ServiceLevelTarget <= 0 || q.ServiceLevelTarget > 1 {
		add(p+".service_level_target", "%s.service_level_target must be more than 0 and at most 1", p)
	}
	if q.CallbackAttempts < 1 {
		add(p+".callback_attempts", "%s.callback_attempts must be at least 1", p)
	}
}

// checkOverflowCycles reports queues whose overflow chain comes back to them: a call
// would circle for ever (the engine also caps hops, maxOverflowHops).
func (c *Config) checkOverflowCycles(queues map[string]*QueueConfig, add func(string, string, ...any)) {
	reported := map[string]bool{}
	for _, q := range c.Queues {
		seen := []string{q.Name}
		for n := queues[q.Overflow]; n != nil; n = queues[n.Overflow] {
			if n.Name == q.Name {
				if !reported[q.Name] {
					for _, s := range seen {
						reported[s] = true
					}
					add("queues."+q.Name+".overflow", "queues.%s.overflow: overflow cycle %s -> %s", q.Name, strings.Join(seen, " -> "), q.Name)
				}
				break
			}
			if slices.Contains(seen, n.Name) {
				break // a cycle not through q: reported from its own members
			}
			seen = append(seen, n.Name)
		}
	}
}
