package deploy

import (
	"regexp"
	"slices"
	"strings"
	"testing"
)

// promqlKeywords are identifiers that PromQL reads as operators, modifiers or
// aggregations, never as series names. Functions are told apart by the "(" after them
// instead, so they need no list.
var promqlKeywords = map[string]bool{
	"and": true, "or": true, "unless": true, "bool": true, "offset": true,
	"by": true, "without": true, "on": true, "ignoring": true,
	"group_left": true, "group_right": true, "inf": true, "nan": true,
	"atan2": true, // a binary operator, written between its operands
	// Aggregation operators: their clause may stand between them and "(".
	"sum": true, "min": true, "max": true, "avg": true, "group": true, "stddev": true,
	"stdvar": true, "count": true, "count_values": true, "bottomk": true, "topk": true,
	"quantile": true, "limitk": true, "limit_ratio": true,
}

// labelListKeywords take a parenthesised list of label names.
var labelListKeywords = map[string]bool{
	"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true,
}

func isIdentStart(c byte) bool {
	return c == '_' || c == ':' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

func isIdentChar(c byte) bool { return isIdentStart(c) || (c >= '0' && c <= '9') }

// seriesNames returns the series names a PromQL expression selects, in order of
// appearance without repeats. It is a small lexer rather than a parser: strings,
// label matchers {…}, ranges […], label lists after by/without/on/ignoring/
// group_left/group_right, numbers and durations, Grafana variables ($x, ${x}) and
// function names (an identifier followed by "(") are skipped; every identifier left is
// a series name. Selecting by {__name__=…} is reported as the pseudo-name
// "{__name__}" so that the caller can refuse it: such a name cannot be checked.
func seriesNames(expr string) []string {
	var out []string
	add := func(n string) {
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	i, n := 0, len(expr)
	skipSpace := func(j int) int {
		for j < n && (expr[j] == ' ' || expr[j] == '\t' || expr[j] == '\n' || expr[j] == '\r') {
			j++
		}
		return j
	}
	skipString := func(j int) int { // expr[j] is the opening quote
		q := expr[j]
		j++
		for j < n && expr[j] != q {
			if expr[j] == '\\' && q != '`' {
				j++
			}
			j++
		}
		return j + 1
	}
	for i < n {
		c := expr[i]
		switch {
		case c == '"' || c == '\'' || c == '`':
			i = skipString(i)
		case c == '#': // comment to the end of the line
			for i < n && expr[i] != '\n' {
				i++
			}
		case c == '{':
			j := i + 1
			for j < n && expr[j] != '}' {
				if expr[j] == '"' || expr[j] == '\'' || expr[j] == '`' {
					j = skipString(j)
					continue
				}
				j++
			}
			if strings.Contains(expr[i:min(j, n)], "__name__") {
				add("{__name__}")
			}
			i = j + 1
		case c == '[':
			for i < n && expr[i] != ']' {
				i++
			}
			i++
		case c == '$':
			i++
			if i < n && expr[i] == '{' {
				for i < n && expr[i] != '}' {
					i++
				}
				i++
			} else {
				for i < n && isIdentChar(expr[i]) {
					i++
				}
			}
		case c >= '0' && c <= '9' || c == '.' && i+1 < n && expr[i+1] >= '0' && expr[i+1] <= '9':
			for i < n && (isIdentChar(expr[i]) || expr[i] == '.') {
				i++
			}
		case isIdentStart(c):
			j := i
			for j < n && isIdentChar(expr[j]) {
				j++
			}
			word := expr[i:j]
			k := skipSpace(j)
			switch {
			case labelListKeywords[strings.ToLower(word)]:
				if k < n && expr[k] == '(' {
					for k < n && expr[k] != ')' {
						k++
					}
					j = k + 1
				}
			case promqlKeywords[strings.ToLower(word)]:
			case k < n && expr[k] == '(':
			default:
				add(word)
			}
			i = j
		default:
			i++
		}
	}
	return out
}

func TestSeriesNames(t *testing.T) {
	for _, tc := range []struct {
		expr string
		want []string
	}{
		{`up`, []string{"up"}},
		{`hotline_calls_active{instance=~"$instance"}`, []string{"hotline_calls_active"}},
		{`sum by (direction, transport) (rate(hotline_calls_started_total{job="hotline"}[$__rate_interval]))`,
			[]string{"hotline_calls_started_total"}},
		{`histogram_quantile(0.95, sum by (le) (rate(hotline_call_setup_seconds_bucket[5m])))`,
			[]string{"hotline_call_setup_seconds_bucket"}},
		{`a / on (instance) group_left (queue) b > bool 0.5 and c offset 1h unless d or e`,
			[]string{"a", "b", "c", "d", "e"}},
		{`sum(rate(x[5m] @ end())) without (le) / ignoring(code) y{code=~"5.."} * 1e3`, []string{"x", "y"}},
		{`label_replace(m, "dst", "$1", "src", "(.*)")`, []string{"m"}},
		{`{__name__=~"hotline_.*"}`, []string{"{__name__}"}},
		{`rate(m[${__rate_interval}]) # comment with words`, []string{"m"}},
		{`max_over_time(m[1h:5m]) > .5`, []string{"m"}},
		{`vector(0) or m`, []string{"m"}},
	} {
		if got := seriesNames(tc.expr); !slices.Equal(got, tc.want) {
			t.Errorf("seriesNames(%q) = %q, want %q", tc.expr, got, tc.want)
		}
	}
}

// grafanaVar matches a Grafana template variable reference: $x, ${x} or ${x:format}.
var grafanaVar = regexp.MustCompile(`\$\{([A-Za-z0-9_]+)(?::[^}]*)?\}|\$([A-Za-z0-9_]+)`)

// substituteGrafana replaces Grafana's variables so that a dashboard query becomes
// plain PromQL: interval variables by durations, every other variable by ".*" (the
// dashboard uses its variables only inside regex label matchers).
func substituteGrafana(expr string) string {
	return grafanaVar.ReplaceAllStringFunc(expr, func(m string) string {
		sub := grafanaVar.FindStringSubmatch(m)
		name := sub[1] + sub[2]
		switch name {
		case "__rate_interval", "__interval", "__range":
			return "5m"
		case "__interval_ms", "__range_ms":
			return "300000"
		case "__range_s":
			return "300"
		}
		return ".*"
	})
}

func TestSubstituteGrafana(t *testing.T) {
	got := substituteGrafana(`rate(m{queue=~"$queue",instance=~"${instance:regex}"}[$__rate_interval])`)
	want := `rate(m{queue=~".*",instance=~".*"}[5m])`
	if got != want {
		t.Errorf("substituteGrafana = %q, want %q", got, want)
	}
}
