// Package deploy holds what operators install next to the engine, and the tests that
// keep it true to the code: the Grafana dashboard (grafana/hotline.json), the
// Prometheus alerting rules with their promtool unit tests (prometheus/alerts.yml,
// prometheus/alerts_test.yml) and a sample scrape configuration
// (prometheus/prometheus.yml).
//
// The package has no Go API. Its tests are why it exists:
//
//   - promtool (Debian package prometheus) checks the rules and the sample
//     configuration and runs the rule unit tests, and checks that every query of the
//     dashboard parses as PromQL;
//   - every series name the dashboard and the rules use must be one the engine
//     exports: the tests read the Go source of the repository (go/parser), collect the
//     names given to client_golang (Opts literals, NewDesc, small helpers that pass a
//     name on to an Opts literal), add _bucket, _sum and _count for histograms, and
//     add the Go runtime, process and promhttp series by gathering the same collectors
//     cmd/hotline registers. A renamed or removed metric thus fails here, not on an
//     operator's screen;
//   - the dashboard is valid importable JSON whose every panel queries the
//     ${DS_PROMETHEUS} data source chosen at import, and every alert carries summary,
//     description and runbook annotations and a unit test in which it fires.
package deploy
