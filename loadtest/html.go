package loadtest

import (
	"bytes"
	"fmt"
	"html"
	"html/template"
	"io"
	"math"
	"strings"
)

// WriteHTML writes the report as one self-contained HTML page: the text summary and
// inline SVG plots (setup latency distribution, jitter over time, the engine's CPU
// and memory over time, calls over time), with no script and nothing fetched, so it
// can be attached to an issue or archived with the results.
func (r *Report) WriteHTML(w io.Writer) error {
	var text bytes.Buffer
	if err := r.WriteText(&text); err != nil {
		return err
	}
	var charts []template.HTML
	charts = append(charts, barChart("Setup latency (INVITE → 200 OK)", "ms", r.SetupHistogram))

	var jMean, jMax, gMax []point
	for _, p := range r.Jitter {
		jMean = append(jMean, point{p.T, p.MeanMs})
		jMax = append(jMax, point{p.T, p.MaxMs})
		gMax = append(gMax, point{p.T, p.MaxGapMs})
	}
	charts = append(charts, lineChart("RTP jitter over time (RFC 3550, as received)", "ms",
		[]line{{"mean jitter", "#1f77b4", jMean}, {"max jitter", "#ff7f0e", jMax}}))
	charts = append(charts, lineChart("Longest RTP inter-arrival gap per second", "ms",
		[]line{{"max gap", "#d62728", gMax}}))

	var eCPU, gCPU, rss, active, cps []point
	for _, s := range r.Series {
		if s.EngineCPU >= 0 {
			eCPU = append(eCPU, point{s.T, 100 * s.EngineCPU})
		}
		if s.GeneratorCPU >= 0 {
			gCPU = append(gCPU, point{s.T, 100 * s.GeneratorCPU})
		}
		if s.EngineRSS > 0 {
			rss = append(rss, point{s.T, float64(s.EngineRSS) / (1 << 20)})
		}
		active = append(active, point{s.T, float64(s.Active)})
		cps = append(cps, point{s.T, s.CPS})
	}
	cpuLines := []line{{"generator", "#2ca02c", gCPU}}
	if len(eCPU) > 0 {
		cpuLines = append([]line{{"engine", "#9467bd", eCPU}}, cpuLines...)
	}
	charts = append(charts, lineChart("CPU over time (% of one core)", "%", cpuLines))
	if len(rss) > 0 {
		charts = append(charts, lineChart("Engine resident memory over time", "MiB", []line{{"engine RSS", "#8c564b", rss}}))
	}
	charts = append(charts, lineChart("Calls over time", "calls", []line{{"active calls", "#1f77b4", active}, {"calls started per second", "#e377c2", cps}}))

	return pageTmpl.Execute(w, struct {
		Title  string
		Text   string
		Charts []template.HTML
	}{
		Title:  fmt.Sprintf("hotline loadtest %s, %d calls, %s", r.Started.Format("2006-01-02 15:04:05"), r.Config.Concurrency, r.Config.Mode),
		Text:   text.String(),
		Charts: charts,
	})
}

var pageTmpl = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}}</title>
<style>
body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:1000px}
pre{background:#f6f6f6;padding:1em;overflow-x:auto;font-size:13px}
svg{display:block;margin:1.5em 0;background:#fff}
svg text{font-family:system-ui,sans-serif;font-size:12px;fill:#333}
</style></head><body>
<h1>{{.Title}}</h1>
<pre>{{.Text}}</pre>
{{range .Charts}}{{.}}
{{end}}</body></html>
`))

type point struct{ x, y float64 }

type line struct {
	name   string
	color  string
	points []point
}

// Chart geometry in SVG user units.
const (
	chartW, chartH         = 900.0, 260.0
	padL, padR, padT, padB = 60.0, 20.0, 30.0, 40.0
)

// lineChart draws lines over a shared time axis (seconds).
func lineChart(title, unit string, lines []line) template.HTML {
	var xmax, ymax float64
	for _, l := range lines {
		for _, p := range l.points {
			xmax, ymax = math.Max(xmax, p.x), math.Max(ymax, p.y)
		}
	}
	var b strings.Builder
	frame(&b, title, unit, "s", xmax, ymax)
	xmax, ymax = axisMax(xmax), axisMax(ymax)
	for i, l := range lines {
		if len(l.points) == 0 {
			continue
		}
		b.WriteString(`<polyline fill="none" stroke-width="1.5" stroke="` + l.color + `" points="`)
		for _, p := range l.points {
			fmt.Fprintf(&b, "%.1f,%.1f ", sx(p.x, xmax), sy(p.y, ymax))
		}
		b.WriteString(`"/>`)
		fmt.Fprintf(&b, `<rect x="%.0f" y="%.0f" width="12" height="3" fill="%s"/><text x="%.0f" y="%.0f">%s</text>`,
			padL+10+float64(i)*220, chartH-8, l.color, padL+26+float64(i)*220, chartH-4, html.EscapeString(l.name))
	}
	b.WriteString("</svg>")
	return template.HTML(b.String()) // numbers and escaped names only
}

// barChart draws a histogram.
func barChart(title, unit string, bins []Bin) template.HTML {
	var b strings.Builder
	if len(bins) == 0 {
		frame(&b, title+" (no data)", "", unit, 1, 1)
		b.WriteString("</svg>")
		return template.HTML(b.String()) // fixed text
	}
	xmax := bins[len(bins)-1].HiMs
	var ymax float64
	for _, bin := range bins {
		ymax = math.Max(ymax, float64(bin.Count))
	}
	frame(&b, title, "calls", unit, xmax, ymax)
	xmax, ymax = axisMax(xmax), axisMax(ymax)
	for _, bin := range bins {
		x0, x1 := sx(bin.LoMs, xmax), sx(bin.HiMs, xmax)
		y := sy(float64(bin.Count), ymax)
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#1f77b4"><title>%.1f-%.1f ms: %d</title></rect>`,
			x0, y, math.Max(0.5, x1-x0-1), chartH-padB-y, bin.LoMs, bin.HiMs, bin.Count)
	}
	b.WriteString("</svg>")
	return template.HTML(b.String()) // numbers only
}

// frame opens an SVG with a title, axes, ticks and labels.
func frame(b *strings.Builder, title, yunit, xunit string, xmax, ymax float64) {
	xmax, ymax = axisMax(xmax), axisMax(ymax)
	fmt.Fprintf(b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f">`, chartW, chartH, chartW, chartH)
	fmt.Fprintf(b, `<text x="%.0f" y="18" style="font-weight:bold">%s</text>`, padL, html.EscapeString(title))
	fmt.Fprintf(b, `<line x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" stroke="#888"/>`, padL, chartH-padB, chartW-padR, chartH-padB)
	fmt.Fprintf(b, `<line x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" stroke="#888"/>`, padL, padT, padL, chartH-padB)
	for i := 0; i <= 4; i++ {
		y := ymax * float64(i) / 4
		fmt.Fprintf(b, `<line x1="%.0f" y1="%.1f" x2="%.0f" y2="%.1f" stroke="#eee"/><text x="%.0f" y="%.1f" text-anchor="end">%s</text>`,
			padL, sy(y, ymax), chartW-padR, sy(y, ymax), padL-6, sy(y, ymax)+4, tick(y))
		x := xmax * float64(i) / 4
		fmt.Fprintf(b, `<text x="%.1f" y="%.0f" text-anchor="middle">%s</text>`, sx(x, xmax), chartH-padB+16, tick(x))
	}
	fmt.Fprintf(b, `<text x="%.0f" y="%.0f" text-anchor="end">%s</text>`, chartW-padR, chartH-padB+16+12, html.EscapeString(xunit))
	fmt.Fprintf(b, `<text x="12" y="%.0f">%s</text>`, padT-4, html.EscapeString(yunit))
}

func sx(x, xmax float64) float64 { return padL + x/xmax*(chartW-padL-padR) }
func sy(y, ymax float64) float64 { return chartH - padB - y/ymax*(chartH-padT-padB) }

// axisMax rounds an axis maximum up to a round number (never 0).
func axisMax(v float64) float64 {
	if v <= 0 {
		return 1
	}
	return niceWidth(v)
}

func tick(v float64) string {
	if v == math.Trunc(v) {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.1f", v)
}
