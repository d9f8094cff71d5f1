package acd

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLoadConfigSample(t *testing.T) {
	c, err := LoadConfig("testdata/acd.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Agents) != 3 || len(c.Queues) != 3 {
		t.Fatalf("agents %d, queues %d", len(c.Agents), len(c.Queues))
	}
	if a := c.Agents[0]; a.ID != "alice" || a.Skills["billing"] != 5 || a.Presence != PresenceAvailable || a.Extension != "1001" {
		t.Errorf("alice = %+v", a)
	}
	if c.Agents[1].Presence != PresenceOffline {
		t.Errorf("bob's presence defaults to %v", c.Agents[1].Presence)
	}
	b, _ := c.Queue("billing")
	if b.Strategy != StrategyLongestIdle || b.WrapUp != 15*time.Second || b.Overflow != "general" ||
		len(b.Relax) != 2 || b.Relax[1].Drop[0] != "billing" || b.PriorityPerMinute != 0.5 || !b.Whisper {
		t.Errorf("billing = %+v", b)
	}
	if b.ServiceLevel != DefaultServiceLevel || b.ShortAbandon != DefaultShortAbandon || !b.JoinWhenEmpty {
		t.Errorf("billing defaults = %+v", b)
	}
	cq, _ := c.Queue("complaints")
	if cq.JoinWhenEmpty || !cq.LeaveWhenEmpty || cq.Empty != EmptyNoAvailable || cq.Strategy != StrategyBestSkillMatch {
		t.Errorf("complaints = %+v", cq)
	}
	if g, _ := c.Queue("general"); g.Strategy != StrategyRingAll || len(g.Members) != 3 {
		t.Errorf("general = %+v", g)
	}
	if c.Engine.Timezone != "UTC" || c.Engine.AutoBreakAfter != 3 {
		t.Errorf("engine = %+v", c.Engine)
	}
}

func TestRequirementRelaxation(t *testing.T) {
	q := DefaultQueue("q")
	q.Skills = Skills{"billing": 3, "french": 2}
	q.Relax = []RelaxStep{{After: 30 * time.Second, Lower: 1}, {After: time.Minute, Drop: []string{"french"}}, {After: 2 * time.Minute, Lower: 4}}
	for _, tc := range []struct {
		w    time.Duration
		flow Skills
		want string
	}{
		{0, nil, "billing:3,french:2"},
		{0, Skills{"billing": 5, "vip": 1}, "billing:5,french:2,vip:1"},
		{29 * time.Second, nil, "billing:3,french:2"},
		{30 * time.Second, nil, "billing:2,french:1"},
		{time.Minute, nil, "billing:2"},
		{time.Hour, nil, "billing:1"},
	} {
		if got := q.Requirement(tc.flow, tc.w).String(); got != tc.want {
			t.Errorf("after %v with %v: %s, want %s", tc.w, tc.flow, got, tc.want)
		}
	}
	if q.Skills["billing"] != 3 {
		t.Error("Requirement modified the queue's skills")
	}
}

// TestConfigErrors checks that every problem is reported, with its position.
func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		want       []string
	}{
		{"unknown key", "queues:\n  q:\n    stratgy: ring_all\n", []string{`x.yaml:3:5: queues.q: unknown key "stratgy" (did you mean "strategy"?)`}},
		{"unknown top key", "agent: []\n", []string{`x.yaml:1:1: : unknown key "agent" (did you mean "agents"?)`}},
		{"bad enum", "queues:\n  q: {strategy: random}\n", []string{`x.yaml:2:17: queues.q.strategy: unknown strategy "random"`}},
		{"skill level", "agents:\n  - {id: a, skills: {billing: 6}}\n", []string{`x.yaml:2:31: agents[0].skills.billing must be from 1 to 5, got 6`}},
		{"missing id", "agents:\n  - {name: A}\n", []string{`x.yaml:2:5: agents[0]: id is required`}},
		{"duplicate agent", "agents:\n  - {id: a}\n  - {id: a}\n", []string{`x.yaml:3:10: agents[1]: duplicate agent id "a"`}},
		{"duplicate key", "queues:\n  q: {wrap_up: 1s, wrap_up: 2s}\n", []string{`x.yaml:2:20: queues.q: duplicate key "wrap_up" (first at line 2)`}},
		{"bad duration", "queues:\n  q: {ring_timeout: soon}\n", []string{`x.yaml:2:21: queues.q.ring_timeout must be a duration`}},
		{"zero ring", "queues:\n  q: {ring_timeout: 0}\n", []string{`x.yaml:2:21: queues.q.ring_timeout must be more than 0`}},
		{"yes is not a bool", "queues:\n  q: {whisper: yes}\n", []string{`queues.q.whisper must be true or false, got "yes"`}},
		{"unknown overflow", "queues:\n  q: {overflow: nowhere, max_wait: 1m}\n", []string{`x.yaml:2:17: queues.q.overflow: unknown queue "nowhere"`}},
		{"overflow cycle", "queues:\n  a: {overflow: b, max_wait: 1m}\n  b: {overflow: a, max_wait: 1m}\n", []string{"overflow cycle a -> b -> a"}},
		{"overflow without max_wait", "queues:\n  a: {overflow: b}\n  b: {}\n", []string{"queues.a.overflow needs max_wait"}},
		{"unknown member", "queues:\n  a: {agents: [zed]}\n", []string{`queues.a.agents: unknown agent "zed"`}},
		{"relax order", "queues:\n  a:\n    relax:\n      - {after: 1m, lower: 1}\n      - {after: 30s, lower: 1}\n", []string{"x.yaml:5:17: queues.a.relax[1].after must be later than the step before (1m0s)"}},
		{"relax empty step", "queues:\n  a:\n    relax: [{after: 1m}]\n", []string{"queues.a.relax[0]: a step must lower levels or drop skills"}},
		{"interval", "engine: {interval: 7m}\n", []string{"engine.interval must be at least 1m and divide 24h"}},
		{"timezone", "engine: {timezone: Mars/Olympus}\n", []string{`engine.timezone: unknown time zone "Mars/Olympus"`}},
		{"two documents", "queues: {}\n---\nqueues: {}\n", []string{"a config file holds one YAML document"}},
		{"syntax", "queues:\n  a: [\n", []string{"x.yaml:"}},
		{"not utf8", "queues: {\xff: {}}\n", []string{"file is not UTF-8"}},
		{"several at once", "queues:\n  a: {strategy: x, max_size: -1, wrap_up: -1s}\n", []string{"strategy", "max_size must be from 0", "wrap_up must be 0 or more"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseConfig("x.yaml", []byte(tc.yaml))
			if err == nil {
				t.Fatal("accepted")
			}
			var es Errors
			if !errors.As(err, &es) {
				t.Fatalf("error %T is not Errors: %v", err, err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error:\n%v\nwant it to contain %q", err, w)
				}
			}
		})
	}
}

func TestConfigAliases(t *testing.T) {
	y := "queues:\n  a: &base {wrap_up: 7s, skills: {x: 2}}\n  b: *base\n"
	c, err := ParseConfig("x.yaml", []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := c.Queue("b"); b.WrapUp != 7*time.Second || b.Skills["x"] != 2 {
		t.Errorf("b = %+v", b)
	}
}

func TestLoadConfigMissing(t *testing.T) {
	if _, err := LoadConfig(filepath.Join(t.TempDir(), "none.yaml")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("err = %v", err)
	}
}

// FuzzConfig feeds arbitrary bytes to the config parser: it must never panic, and
// every problem must carry a position in the file.
func FuzzConfig(f *testing.F) {
	sample, err := os.ReadFile("testdata/acd.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(sample)
	for _, s := range []string{
		"", "queues:\n  q: {strategy: ring_all}\n", "agents: [{id: a, skills: {x: 9}}]\n",
		"queues: {a: {overflow: a, max_wait: 1s}}", "a: &a [*a]", "queues: {q: {relax: [{after: 1s, drop: [x]}]}}",
		"engine: {interval: 1e308}", "queues: {q: {max_wait: -1e300}}", "queues:\n  ? [a]\n  : {}\n",
		"agents:\n  - <<: {id: a}\n", "queues: {q: {priority_per_minute: .nan}}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseConfig("f.yaml", data)
		if err != nil {
			var es Errors
			if !errors.As(err, &es) || len(es) == 0 {
				t.Fatalf("error is not Errors: %v", err)
			}
			for _, e := range es {
				if e.Pos.File != "f.yaml" && e.Pos.File != "" {
					t.Fatalf("bad position %v", e.Pos)
				}
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("parsed config does not validate: %v", err)
		}
	})
}
