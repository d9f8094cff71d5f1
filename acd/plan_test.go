package acd

import (
	"slices"
	"testing"
	"time"
)

func planQueues(qs ...QueueConfig) map[string]*QueueConfig {
	m := map[string]*QueueConfig{}
	for i := range qs {
		m[qs[i].Name] = &qs[i]
	}
	return m
}

func idleAgent(id string, idleSince time.Time, calls int, skills Skills) AgentState {
	return AgentState{Agent: Agent{ID: id, Skills: skills}, Presence: PresenceAvailable, Activity: ActivityIdle, IdleSince: idleSince, Calls: calls}
}

func waiting(id, queue string, prio int, arrived time.Time, skills Skills) Entry {
	return Entry{CallID: id, Queue: queue, Kind: KindInbound, Priority: prio, Skills: skills, Arrived: arrived, Joined: arrived, State: EntryWaiting}
}

func runPlan(snap Snapshot, queues map[string]*QueueConfig, now time.Time) planResult {
	return plan(snap, planInput{now: now, queues: queues, grace: time.Second,
		reachable: func(string) bool { return true }, owns: func(string) bool { return true }})
}

func offersOf(r planResult) []string {
	var out []string
	for _, o := range r.offers {
		for _, a := range o.agents {
			out = append(out, o.entry.CallID+">"+a)
		}
	}
	return out
}

func TestPlanPriorityThenAge(t *testing.T) {
	qs := planQueues(DefaultQueue("q"))
	snap := Snapshot{
		Agents: []AgentState{idleAgent("a", t0, 0, nil), idleAgent("b", t0.Add(time.Second), 0, nil)},
		Entries: []Entry{
			waiting("old-low", "q", 1, t0, nil),
			waiting("new-high", "q", 9, t0.Add(time.Minute), nil),
			waiting("mid-high", "q", 9, t0.Add(30*time.Second), nil),
		},
	}
	got := offersOf(runPlan(snap, qs, t0.Add(2*time.Minute)))
	// Higher priority first; age breaks the tie; the longest-idle agent takes the first.
	if want := []string{"mid-high>a", "new-high>b"}; !slices.Equal(got, want) {
		t.Fatalf("offers = %v, want %v", got, want)
	}
}

func TestPlanPriorityGrowth(t *testing.T) {
	q := DefaultQueue("q")
	q.PriorityPerMinute = 1
	qs := planQueues(q)
	snap := Snapshot{
		Agents:  []AgentState{idleAgent("a", t0, 0, nil)},
		Entries: []Entry{waiting("low-old", "q", 2, t0, nil), waiting("high-new", "q", 5, t0.Add(2*time.Minute), nil)},
	}
	// At +2m: 2+2 = 4 < 5: the newer, higher call goes first.
	if got := offersOf(runPlan(snap, qs, t0.Add(2*time.Minute))); got[0] != "high-new>a" {
		t.Errorf("at +2m: %v", got)
	}
	// At 2/min the older call has grown to 2+4 = 6 > 5: it overtakes.
	q2 := q
	q2.PriorityPerMinute = 2
	if got := offersOf(runPlan(snap, planQueues(q2), t0.Add(2*time.Minute))); got[0] != "low-old>a" {
		t.Errorf("with 2/min: %v", got)
	}
}

func TestPlanRelaxationWidensPool(t *testing.T) {
	q := DefaultQueue("q")
	q.Skills = Skills{"billing": 4}
	q.Relax = []RelaxStep{{After: 30 * time.Second, Lower: 2}, {After: time.Minute, Drop: []string{"billing"}}}
	qs := planQueues(q)
	novice := idleAgent("novice", t0, 0, Skills{"billing": 2})
	other := idleAgent("other", t0, 0, Skills{"support": 5})
	snap := Snapshot{Agents: []AgentState{novice, other}, Entries: []Entry{waiting("c", "q", 0, t0, nil)}}
	r := runPlan(snap, qs, t0.Add(10*time.Second))
	if len(r.offers) != 0 || !r.next.Equal(t0.Add(30*time.Second)) {
		t.Fatalf("before relaxing: offers %v, next %v", offersOf(r), r.next)
	}
	if got := offersOf(runPlan(snap, qs, t0.Add(30*time.Second))); !slices.Equal(got, []string{"c>novice"}) {
		t.Fatalf("after lowering: %v", got)
	}
	snap.Agents = []AgentState{other}
	r = runPlan(snap, qs, t0.Add(45*time.Second))
	if len(r.offers) != 0 || !r.next.Equal(t0.Add(time.Minute)) {
		t.Fatalf("before dropping: %v next %v", offersOf(r), r.next)
	}
	if got := offersOf(runPlan(snap, qs, t0.Add(time.Minute))); !slices.Equal(got, []string{"c>other"}) {
		t.Fatalf("after dropping the skill: %v", got)
	}
}

// TestPlanRelaxedKeepsPlace: a relaxed call keeps its place ahead of younger calls
// that an agent also qualifies for.
func TestPlanRelaxedKeepsPlace(t *testing.T) {
	q := DefaultQueue("q")
	q.Relax = []RelaxStep{{After: 30 * time.Second, Lower: 4}}
	qs := planQueues(q)
	snap := Snapshot{
		Agents:  []AgentState{idleAgent("a", t0, 0, Skills{"x": 1})},
		Entries: []Entry{waiting("old-needs-x5", "q", 0, t0, Skills{"x": 5}), waiting("young-needs-x1", "q", 0, t0.Add(20*time.Second), Skills{"x": 1})},
	}
	if got := offersOf(runPlan(snap, qs, t0.Add(25*time.Second))); !slices.Equal(got, []string{"young-needs-x1>a"}) {
		t.Errorf("before relaxing, the younger call takes the agent it matches: %v", got)
	}
	if got := offersOf(runPlan(snap, qs, t0.Add(30*time.Second))); !slices.Equal(got, []string{"old-needs-x5>a"}) {
		t.Errorf("once relaxed, the older call is first again: %v", got)
	}
}

func TestPlanStrategies(t *testing.T) {
	agents := []AgentState{
		idleAgent("a", t0.Add(3*time.Second), 5, Skills{"x": 2}),
		idleAgent("b", t0.Add(1*time.Second), 9, Skills{"x": 3}),
		idleAgent("c", t0.Add(2*time.Second), 1, Skills{"x": 5}),
		idleAgent("d", t0.Add(4*time.Second), 1, Skills{"x": 4}),
	}
	for _, tc := range []struct {
		s      Strategy
		cursor string
		want   []string
	}{
		{StrategyLongestIdle, "", []string{"b"}},
		{StrategyFewestCalls, "", []string{"c"}}, // c and d have 1 call; c idle longer
		{StrategyBestSkillMatch, "", []string{"c"}},
		{StrategyRoundRobin, "", []string{"a"}},
		{StrategyRoundRobin, "b", []string{"c"}},
		{StrategyRoundRobin, "d", []string{"a"}},
		{StrategyRingAll, "", []string{"a", "b", "c", "d"}},
	} {
		q := DefaultQueue("q")
		q.Strategy = tc.s
		q.Skills = Skills{"x": 1}
		snap := Snapshot{Agents: agents, Entries: []Entry{waiting("c1", "q", 0, t0, nil)}, Cursors: map[string]string{"q": tc.cursor}}
		r := runPlan(snap, planQueues(q), t0.Add(time.Minute))
		if len(r.offers) != 1 || !slices.Equal(r.offers[0].agents, tc.want) {
			t.Errorf("%v cursor %q: %v, want %v", tc.s, tc.cursor, offersOf(r), tc.want)
		}
	}
}

func TestPlanRoundRobinWithinPass(t *testing.T) {
	q := DefaultQueue("q")
	q.Strategy = StrategyRoundRobin
	snap := Snapshot{
		Agents:  []AgentState{idleAgent("a", t0, 0, nil), idleAgent("b", t0, 0, nil), idleAgent("c", t0, 0, nil)},
		Entries: []Entry{waiting("1", "q", 0, t0, nil), waiting("2", "q", 0, t0.Add(time.Second), nil)},
		Cursors: map[string]string{"q": "a"},
	}
	if got := offersOf(runPlan(snap, planQueues(q), t0.Add(time.Minute))); !slices.Equal(got, []string{"1>b", "2>c"}) {
		t.Errorf("round robin = %v", got)
	}
}

func TestPlanSkipsUnavailable(t *testing.T) {
	qs := planQueues(DefaultQueue("q"))
	brk := idleAgent("brk", t0, 0, nil)
	brk.Presence = PresenceBreak
	busy := idleAgent("busy", t0, 0, nil)
	busy.Activity, busy.CallID, busy.Deadline = ActivityWrapUp, "x", t0.Add(time.Minute)
	unreg := idleAgent("unreg", t0, 0, nil)
	member := DefaultQueue("m")
	member.Members = []string{"brk"}
	qs["m"] = &member
	snap := Snapshot{Agents: []AgentState{brk, busy, unreg},
		Entries: []Entry{waiting("c", "q", 0, t0, nil), waiting("other-node", "q", 0, t0, nil), waiting("only-brk", "m", 0, t0, nil)}}
	r := plan(snap, planInput{now: t0, queues: qs, grace: time.Second,
		reachable: func(id string) bool { return id != "unreg" }, owns: func(id string) bool { return id != "other-node" }})
	if len(r.offers) != 0 {
		t.Errorf("offers to unavailable agents: %v", offersOf(r))
	}
	if !r.next.Equal(t0.Add(time.Minute)) {
		t.Errorf("next = %v, want the wrap-up end", r.next)
	}
}

func TestPlanLeaveWhenEmpty(t *testing.T) {
	q := DefaultQueue("q")
	q.LeaveWhenEmpty = true
	q.Skills = Skills{"x": 3}
	q.Relax = []RelaxStep{{After: time.Minute, Lower: 1}}
	brk := idleAgent("brk", t0, 0, Skills{"x": 2})
	brk.Presence = PresenceBreak
	snap := Snapshot{Agents: []AgentState{brk}, Entries: []Entry{waiting("c", "q", 0, t0, nil)}}
	// no_agents: an agent on break (qualifying once relaxed) is logged in: not empty.
	if r := runPlan(snap, planQueues(q), t0); len(r.closed) != 0 {
		t.Errorf("closed with an agent on break: %v", r.closed)
	}
	q.Empty = EmptyNoAvailable
	if r := runPlan(snap, planQueues(q), t0); !slices.Equal(r.closed, []string{"c"}) {
		t.Errorf("no_available with only a break: closed = %v", r.closed)
	}
	if !queueEmpty(&q, Skills{"y": 1}, []AgentState{idleAgent("a", t0, 0, Skills{"x": 5})}) {
		t.Error("an agent without the flow's skill serves the queue")
	}
}

func TestEstimateWait(t *testing.T) {
	for _, tc := range []struct {
		pos, staffed, idle int
		want               time.Duration
		ok                 bool
	}{
		{1, 0, 0, 0, false},
		{1, 3, 1, 0, true},
		{3, 3, 1, 2 * 60 * time.Second, true}, // 2 ahead of the idle one, 3 agents, AHT 3m: 2 min
		{10, 5, 0, 6 * time.Minute, true},
	} {
		got, ok := EstimateWait(tc.pos, tc.staffed, tc.idle, 3*time.Minute)
		if got != tc.want || ok != tc.ok {
			t.Errorf("EstimateWait(%d, %d, %d) = %v %v, want %v %v", tc.pos, tc.staffed, tc.idle, got, ok, tc.want, tc.ok)
		}
	}
	qs := planQueues(DefaultQueue("q"))
	on := idleAgent("on", t0, 0, nil)
	on.Activity = ActivityOnCall
	snap := Snapshot{Agents: []AgentState{on, idleAgent("idle", t0, 0, nil)},
		Entries: []Entry{waiting("1", "q", 0, t0, nil), waiting("2", "q", 5, t0.Add(time.Second), nil), waiting("3", "q", 0, t0.Add(2*time.Second), nil)}}
	v := viewFor(snap, qs, snap.Entries[2], t0.Add(time.Minute), func(string) bool { return true })
	if v.position != 3 || v.staffed != 2 || v.idle != 1 {
		t.Errorf("view = %+v", v)
	}
	if v := viewFor(snap, qs, snap.Entries[1], t0.Add(time.Minute), func(string) bool { return true }); v.position != 1 {
		t.Errorf("priority 5 is first, got position %d", v.position)
	}
}
