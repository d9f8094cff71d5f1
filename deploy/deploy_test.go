package deploy

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

const (
	dashboardFile   = "grafana/hotline.json"
	rulesFile       = "prometheus/alerts.yml"
	rulesTestFile   = "prometheus/alerts_test.yml"
	promConfigFile  = "prometheus/prometheus.yml"
	datasourceInput = "DS_PROMETHEUS"
	datasourceUID   = "${" + datasourceInput + "}"
)

// promtool returns the path of promtool, failing the test with how to install it.
func promtool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatalf("promtool not found in PATH (%v): install Debian's prometheus package, which ships /usr/bin/promtool: "+
			"sudo apt-get update && sudo apt-get install -y --no-install-recommends prometheus "+
			"(the Makefile's TEST_PACKAGES lists it so that make test installs it)", err)
	}
	return p
}

// runPromtool runs promtool with args in dir and fails the test with its output when
// it exits non-zero.
func runPromtool(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), promtool(t), args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("promtool %s (in %s): %v\n%s", strings.Join(args, " "), dir, err, out)
	}
	return string(out)
}

func TestPromtoolCheckRules(t *testing.T) {
	out := runPromtool(t, ".", "check", "rules", rulesFile)
	t.Log(strings.TrimSpace(out))
}

func TestPromtoolRuleUnitTests(t *testing.T) {
	// Run beside the file: its rule_files entry is relative to it.
	out := runPromtool(t, filepath.Dir(rulesTestFile), "test", "rules", filepath.Base(rulesTestFile))
	if !strings.Contains(out, "SUCCESS") {
		t.Fatalf("promtool test rules did not report SUCCESS:\n%s", out)
	}
}

func TestPromtoolCheckConfig(t *testing.T) {
	runPromtool(t, ".", "check", "config", promConfigFile)
}

// ruleFile is the part of a Prometheus rule file the tests read.
type ruleFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Alert       string            `yaml:"alert"`
			Record      string            `yaml:"record"`
			Expr        string            `yaml:"expr"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

// ruleTestFile is the part of a promtool unit test file the tests read.
type ruleTestFile struct {
	RuleFiles []string `yaml:"rule_files"`
	Tests     []struct {
		Name        string `yaml:"name"`
		InputSeries []struct {
			Series string `yaml:"series"`
		} `yaml:"input_series"`
		AlertRuleTest []struct {
			Alertname string `yaml:"alertname"`
			ExpAlerts []any  `yaml:"exp_alerts"`
		} `yaml:"alert_rule_test"`
	} `yaml:"tests"`
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		t.Fatalf("parsing %s: %v", path, err)
	}
}

// severities are the values of the severity label an Alertmanager routes on.
var severities = []string{"critical", "warning", "info"}

// requiredAlerts are the alerts issue 8 asks for by meaning.
var requiredAlerts = []string{
	"HotlineServiceLevelBelowTarget", "HotlineAbandonmentSpike", "HotlineASRErrorRate",
	"HotlineRTPPacketLoss", "HotlineCapacityNearLimit",
}

// TestAlertsAnnotatedAndTested checks that every alert has a severity, a summary, a
// description and a runbook hint, and fires in at least one promtool unit test.
func TestAlertsAnnotatedAndTested(t *testing.T) {
	var rules ruleFile
	readYAML(t, rulesFile, &rules)
	var tests ruleTestFile
	readYAML(t, rulesTestFile, &tests)
	if !slices.Equal(tests.RuleFiles, []string{filepath.Base(rulesFile)}) {
		t.Errorf("%s: rule_files = %q, want [%s]", rulesTestFile, tests.RuleFiles, filepath.Base(rulesFile))
	}
	fires := map[string]bool{}
	for _, tc := range tests.Tests {
		for _, a := range tc.AlertRuleTest {
			if len(a.ExpAlerts) > 0 {
				fires[a.Alertname] = true
			}
		}
	}
	seen := map[string]bool{}
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			if seen[r.Alert] {
				t.Errorf("alert %s is defined twice", r.Alert)
			}
			seen[r.Alert] = true
			if !slices.Contains(severities, r.Labels["severity"]) {
				t.Errorf("alert %s: severity label %q, want one of %q", r.Alert, r.Labels["severity"], severities)
			}
			for _, a := range []string{"summary", "description", "runbook"} {
				if strings.TrimSpace(r.Annotations[a]) == "" {
					t.Errorf("alert %s has no %s annotation", r.Alert, a)
				}
			}
			if !fires[r.Alert] {
				t.Errorf("alert %s fires in no test of %s", r.Alert, rulesTestFile)
			}
		}
	}
	for _, a := range requiredAlerts {
		if !seen[a] {
			t.Errorf("required alert %s is missing from %s", a, rulesFile)
		}
	}
	for a := range fires {
		if !seen[a] {
			t.Errorf("%s tests alert %s, which %s does not define", rulesTestFile, a, rulesFile)
		}
	}
}

// dashboard is the part of the Grafana dashboard JSON the tests read.
type dashboard struct {
	Inputs []struct {
		Name     string `json:"name"`
		Type     string `json:"type"`
		PluginID string `json:"pluginId"`
	} `json:"__inputs"`
	UID        string  `json:"uid"`
	Title      string  `json:"title"`
	Panels     []panel `json:"panels"`
	Templating struct {
		List []struct {
			Name       string          `json:"name"`
			Type       string          `json:"type"`
			Datasource *datasource     `json:"datasource"`
			Query      json.RawMessage `json:"query"`
		} `json:"list"`
	} `json:"templating"`
}

type datasource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type panel struct {
	ID         int         `json:"id"`
	Type       string      `json:"type"`
	Title      string      `json:"title"`
	Datasource *datasource `json:"datasource"`
	GridPos    *struct {
		H, W, X, Y int
	} `json:"gridPos"`
	Targets []struct {
		RefID      string      `json:"refId"`
		Expr       string      `json:"expr"`
		Datasource *datasource `json:"datasource"`
	} `json:"targets"`
	Panels []panel `json:"panels"` // a collapsed row's panels
}

// query is one PromQL expression of the dashboard and where it is.
type query struct {
	where, expr string
}

func readDashboard(t *testing.T) dashboard {
	t.Helper()
	b, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("%s is not valid JSON: %v", dashboardFile, err)
	}
	return d
}

// allPanels returns the dashboard's panels, those of collapsed rows included.
func allPanels(ps []panel) []panel {
	var out []panel
	for _, p := range ps {
		out = append(out, p)
		out = append(out, allPanels(p.Panels)...)
	}
	return out
}

// labelValues matches Grafana's label_values(expr, label) variable query.
var labelValues = regexp.MustCompile(`^\s*label_values\((.*),\s*[A-Za-z_][A-Za-z0-9_]*\s*\)\s*$`)

// dashboardQueries returns every PromQL expression of the dashboard: panel targets and
// the series of query variables.
func dashboardQueries(t *testing.T, d dashboard) []query {
	t.Helper()
	var qs []query
	for _, p := range allPanels(d.Panels) {
		for _, tg := range p.Targets {
			qs = append(qs, query{fmt.Sprintf("panel %d %q target %s", p.ID, p.Title, tg.RefID), tg.Expr})
		}
	}
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		var s string
		var obj struct {
			Query string `json:"query"`
		}
		if err := json.Unmarshal(v.Query, &s); err != nil {
			if err := json.Unmarshal(v.Query, &obj); err != nil {
				t.Fatalf("variable %s: query is neither a string nor an object: %s", v.Name, v.Query)
			}
			s = obj.Query
		}
		m := labelValues.FindStringSubmatch(s)
		if m == nil {
			t.Errorf("variable %s: query %q is not label_values(series, label)", v.Name, s)
			continue
		}
		qs = append(qs, query{"variable " + v.Name, m[1]})
	}
	return qs
}

// TestDashboardImportable checks the dashboard JSON: the data source is the
// DS_PROMETHEUS input chosen at import, and every panel queries it with at least one
// non-empty PromQL target.
func TestDashboardImportable(t *testing.T) {
	d := readDashboard(t)
	if d.UID == "" || d.Title == "" {
		t.Errorf("dashboard uid %q, title %q: both are needed to import and link it", d.UID, d.Title)
	}
	if !slices.ContainsFunc(d.Inputs, func(in struct {
		Name     string `json:"name"`
		Type     string `json:"type"`
		PluginID string `json:"pluginId"`
	}) bool {
		return in.Name == datasourceInput && in.Type == "datasource" && in.PluginID == "prometheus"
	}) {
		t.Errorf("__inputs has no Prometheus data source input named %s", datasourceInput)
	}
	okDS := func(ds *datasource) bool { return ds != nil && ds.Type == "prometheus" && ds.UID == datasourceUID }
	ids := map[int]bool{}
	var n int
	for _, p := range allPanels(d.Panels) {
		if ids[p.ID] {
			t.Errorf("panel id %d is used twice", p.ID)
		}
		ids[p.ID] = true
		if p.GridPos == nil || p.GridPos.W <= 0 || p.GridPos.H <= 0 || p.GridPos.X+p.GridPos.W > 24 {
			t.Errorf("panel %d %q: missing or bad gridPos", p.ID, p.Title)
		}
		if p.Type == "row" {
			continue
		}
		n++
		if !okDS(p.Datasource) {
			t.Errorf("panel %d %q: datasource %+v, want prometheus %s", p.ID, p.Title, p.Datasource, datasourceUID)
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %d %q has no targets", p.ID, p.Title)
		}
		refs := map[string]bool{}
		for _, tg := range p.Targets {
			if strings.TrimSpace(tg.Expr) == "" {
				t.Errorf("panel %d %q target %s: empty expr", p.ID, p.Title, tg.RefID)
			}
			if tg.RefID == "" || refs[tg.RefID] {
				t.Errorf("panel %d %q: missing or repeated refId %q", p.ID, p.Title, tg.RefID)
			}
			refs[tg.RefID] = true
			if !okDS(tg.Datasource) {
				t.Errorf("panel %d %q target %s: datasource %+v, want prometheus %s", p.ID, p.Title, tg.RefID, tg.Datasource, datasourceUID)
			}
		}
	}
	for _, v := range d.Templating.List {
		if v.Type == "query" && !okDS(v.Datasource) {
			t.Errorf("variable %s: datasource %+v, want prometheus %s", v.Name, v.Datasource, datasourceUID)
		}
	}
	if n == 0 {
		t.Fatal("the dashboard has no panels")
	}
	t.Logf("%d panels", n)
}

// TestDashboardQueriesParse has promtool parse every dashboard query, Grafana's
// variables replaced, as the expression of a recording rule.
func TestDashboardQueriesParse(t *testing.T) {
	d := readDashboard(t)
	type rule struct {
		Record string `yaml:"record"`
		Expr   string `yaml:"expr"`
	}
	var rules []rule
	for i, q := range dashboardQueries(t, d) {
		rules = append(rules, rule{fmt.Sprintf("dashboard_query_%d", i), substituteGrafana(q.expr)})
	}
	doc := map[string]any{"groups": []any{map[string]any{"name": "dashboard", "rules": rules}}}
	b, err := yaml.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "dashboard_rules.yml")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	runPromtool(t, ".", "check", "rules", path)
}

// TestEngineSeriesScan checks the source scanner itself: it resolves every metric
// definition it meets and finds series of each kind it handles.
func TestEngineSeriesScan(t *testing.T) {
	s := scanEngineSeries(t, repoRoot(t))
	for _, u := range s.unresolved {
		t.Errorf("%s: a metric name the scanner cannot evaluate; give it as a string literal or constant", u)
	}
	for _, n := range []string{
		"hotline_calls_active",              // GaugeOpts literal
		"hotline_call_setup_seconds_bucket", // HistogramOpts: suffixes
		"hotline_rtp_lost_packets_total",    // through media's counter(name, help) helper
		"hotline_queue_waiting",             // NewDesc
		"go_goroutines", "process_open_fds", // the collectors cmd/hotline registers
		"go_gc_duration_seconds_count", // a summary
	} {
		if _, ok := s.names[n]; !ok {
			t.Errorf("the scanner did not find %s", n)
		}
	}
	if _, ok := s.names["hotline_call_setup_seconds"]; ok {
		t.Error("a histogram's bare name must not count as a series")
	}
}

// TestSeriesExistInEngine checks that every series the dashboard, the alerts and the
// alert tests name is one the engine exports.
func TestSeriesExistInEngine(t *testing.T) {
	s := scanEngineSeries(t, repoRoot(t))
	known := func(n string) bool {
		_, ok := s.names[n]
		return ok || slices.Contains(prometheusSeries, n)
	}
	used := map[string]bool{}
	check := func(where, expr string) {
		names := seriesNames(expr)
		if len(names) == 0 {
			t.Errorf("%s: no series in %q", where, expr)
		}
		for _, n := range names {
			used[n] = true
			if !known(n) {
				t.Errorf("%s: series %s is not exported by the engine (expression %q)", where, n, expr)
			}
		}
	}
	for _, q := range dashboardQueries(t, readDashboard(t)) {
		check(dashboardFile+" "+q.where, q.expr)
	}
	var rules ruleFile
	readYAML(t, rulesFile, &rules)
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			check(fmt.Sprintf("%s alert %s", rulesFile, r.Alert+r.Record), r.Expr)
		}
	}
	var tests ruleTestFile
	readYAML(t, rulesTestFile, &tests)
	for _, tc := range tests.Tests {
		for _, in := range tc.InputSeries {
			name, _, _ := strings.Cut(in.Series, "{")
			if !known(strings.TrimSpace(name)) {
				t.Errorf("%s test %q: input series %s is not exported by the engine", rulesTestFile, tc.Name, name)
			}
		}
	}
	// What the engine exports but nobody watches: informative only.
	var unused []string
	for _, f := range sortedKeys(s.families) {
		if !strings.HasPrefix(f, "hotline_") {
			continue
		}
		if !slices.ContainsFunc(exposed(f, s.families[f]), func(n string) bool { return used[n] }) {
			unused = append(unused, f)
		}
	}
	if len(unused) > 0 {
		t.Logf("hotline series on neither the dashboard nor an alert: %s", strings.Join(unused, ", "))
	}
	logUnlinked(t, s, used)
}

// logUnlinked logs the used series whose defining package cmd/hotline does not (yet)
// link: they exist in the source but a running engine does not export them until the
// package is wired in. Informative only, as wiring lands in steps.
func logUnlinked(t *testing.T, s *series, used map[string]bool) {
	t.Helper()
	root := repoRoot(t)
	cmd := exec.CommandContext(t.Context(), "go", "list", "-deps", "-f", "{{.Dir}}", "./cmd/hotline")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Logf("go list -deps ./cmd/hotline: %v (skipping the linked-package report)", err)
		return
	}
	linked := map[string]bool{}
	for _, d := range strings.Fields(string(out)) {
		if rel, err := filepath.Rel(root, d); err == nil {
			linked[rel] = true
		}
	}
	var unlinked []string
	for _, n := range sortedKeys(used) {
		at, ok := s.names[n]
		if !ok || !strings.Contains(at, ".go:") {
			continue
		}
		file, _, _ := strings.Cut(at, ":")
		if !linked[filepath.Dir(file)] {
			unlinked = append(unlinked, n+" ("+filepath.Dir(file)+")")
		}
	}
	if len(unlinked) > 0 {
		t.Logf("series used here whose package cmd/hotline does not link yet: %s", strings.Join(unlinked, ", "))
	}
}
