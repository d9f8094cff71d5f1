package flowtest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/hotline-ivr/hotline/flows"
)

// Transcript renders log as indented lines: each node flush left, what happened
// in it below.
func Transcript(log []Entry) []string {
	var out []string
	for _, e := range log {
		s := e.String()
		switch {
		case s == "":
		case e.Kind == EntryNode:
			out = append(out, s)
		default:
			out = append(out, "   "+s)
		}
	}
	return out
}

// WriteText reports results for people: PASS or FAIL per case and, for each
// failure, the step, what it expected, what happened instead, the transcript up to
// there and the path. verbose adds the transcript of passing cases.
func WriteText(w io.Writer, results []FileResult, verbose bool) {
	failed := 0
	for _, f := range results {
		if f.Err != nil {
			fmt.Fprintf(w, "%s: does not load\n", f.File)
			var es flows.Errors
			if errors.As(f.Err, &es) {
				for _, e := range es {
					fmt.Fprintf(w, "  %s\n", e)
				}
				fmt.Fprintf(w, "  %s\n", es.Summary())
			} else {
				fmt.Fprintf(w, "  %v\n", f.Err)
			}
			failed++
			continue
		}
		fmt.Fprintf(w, "%s (flow %s)\n", f.File, f.Flow)
		if len(f.Cases) == 0 {
			fmt.Fprintln(w, "  no case selected")
		}
		for _, c := range f.Cases {
			verdict := "PASS"
			if !c.Passed {
				verdict = "FAIL"
				failed++
			}
			fmt.Fprintf(w, "  %s  %s (%s)\n", verdict, c.Name, formatElapsed(c.Elapsed))
			if c.Failure != nil {
				fl := c.Failure
				fmt.Fprintf(w, "        %s: %s\n", fl.Pos, fl.Step)
				fmt.Fprintf(w, "          expected: %s\n", fl.Expected)
				fmt.Fprintf(w, "          happened: %s\n", fl.Got)
			}
			if c.Failure != nil || verbose {
				fmt.Fprintln(w, "        transcript:")
				for _, l := range Transcript(c.Log) {
					fmt.Fprintf(w, "          %s\n", l)
				}
				fmt.Fprintf(w, "        path: %s\n", strings.Join(c.Path, " > "))
			}
		}
	}
	passed, total := Passed(results)
	fmt.Fprintf(w, "%d of %d cases passed", passed, total)
	if failed > 0 {
		fmt.Fprintf(w, ", %d failed", failed)
	}
	fmt.Fprintln(w)
}

// formatElapsed renders a case's real duration: 0.4ms, 12ms, 1.2s.
func formatElapsed(d time.Duration) string {
	switch {
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond))
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	}
	return fmt.Sprintf("%.1fs", d.Seconds())
}

// The JSON report (hotline flow test --json), for CI.
type (
	jsonReport struct {
		Passed int        `json:"passed"`
		Failed int        `json:"failed"`
		Files  []jsonFile `json:"files"`
	}
	jsonFile struct {
		File   string     `json:"file"`
		Flow   string     `json:"flow,omitempty"`
		Errors []string   `json:"errors,omitempty"` // the file does not load: file:line:col: message
		Cases  []jsonCase `json:"cases"`
	}
	jsonCase struct {
		Name        string       `json:"name"`
		Pos         string       `json:"pos"`
		Passed      bool         `json:"passed"`
		Failure     *jsonFailure `json:"failure,omitempty"`
		Path        []string     `json:"path"`
		Disposition string       `json:"disposition"`
		Transcript  []string     `json:"transcript,omitempty"` // of failed cases
		ElapsedMS   float64      `json:"elapsed_ms"`
		VirtualMS   int64        `json:"virtual_ms"` // how long the call lasted in virtual time
	}
	jsonFailure struct {
		Pos      string `json:"pos"`
		Step     string `json:"step"`
		Expected string `json:"expected"`
		Got      string `json:"got"`
	}
)

// WriteJSON reports results as one JSON document.
func WriteJSON(w io.Writer, results []FileResult) error {
	rep := jsonReport{Files: []jsonFile{}}
	for _, f := range results {
		jf := jsonFile{File: f.File, Flow: f.Flow, Cases: []jsonCase{}}
		if f.Err != nil {
			var es flows.Errors
			if errors.As(f.Err, &es) {
				for _, e := range es {
					jf.Errors = append(jf.Errors, e.Error())
				}
			} else {
				jf.Errors = []string{f.Err.Error()}
			}
			rep.Failed++
		}
		for _, c := range f.Cases {
			jc := jsonCase{
				Name: c.Name, Pos: c.Pos.String(), Passed: c.Passed, Path: c.Path, Disposition: c.Disposition,
				ElapsedMS: float64(c.Elapsed.Microseconds()) / 1000, VirtualMS: c.Virtual.Milliseconds(),
			}
			if jc.Path == nil {
				jc.Path = []string{}
			}
			if c.Passed {
				rep.Passed++
			} else {
				rep.Failed++
				jc.Transcript = Transcript(c.Log)
			}
			if fl := c.Failure; fl != nil {
				jc.Failure = &jsonFailure{Pos: fl.Pos.String(), Step: fl.Step, Expected: fl.Expected, Got: fl.Got}
			}
			jf.Cases = append(jf.Cases, jc)
		}
		rep.Files = append(rep.Files, jf)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}
