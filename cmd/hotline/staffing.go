package main

import (
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/hotline-ivr/hotline/acd"
)

// newStaffingCmd is `hotline staffing`: how many agents a queue needs for its
// service-level target, by Erlang C, the planner's first question.
func newStaffingCmd() *cobra.Command {
	var (
		calls    float64
		interval time.Duration
		aht      time.Duration
		sl       float64
		within   time.Duration
		agents   int
		asJSON   bool
	)
	cmd := &cobra.Command{
		Use:   "staffing",
		Short: "Agents needed for a service-level target (Erlang C)",
		Long: `Compute how many agents a queue needs so that --sl of the calls are answered
within --within, given --calls arriving per --interval with an average handle time
--aht (talk + hold + wrap-up), by Erlang C as METRICS.md defines it. With --agents,
report the figures that many agents reach instead.

  hotline staffing --calls 120 --interval 30m --aht 4m --sl 0.8 --within 20s`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var r acd.Result
			if cmd.Flags().Changed("agents") {
				if agents < 1 {
					return fmt.Errorf("--agents: want 1 or more")
				}
				if interval <= 0 || aht <= 0 || calls < 0 {
					return fmt.Errorf("--calls must be 0 or more, --interval and --aht more than 0")
				}
				r = acd.ErlangC(agents, acd.Traffic(calls, interval, aht), aht, within)
			} else {
				var err error
				if r, err = acd.Staffing(calls, interval, aht, sl, within); err != nil {
					return err
				}
			}
			return printStaffing(cmd.OutOrStdout(), r, within, asJSON)
		},
	}
	f := cmd.Flags()
	f.Float64Var(&calls, "calls", 0, "calls arriving per interval")
	f.DurationVar(&interval, "interval", 30*time.Minute, "length of the interval")
	f.DurationVar(&aht, "aht", 4*time.Minute, "average handle time: talk + hold + wrap-up")
	f.Float64Var(&sl, "sl", 0.8, "service-level target: the share of calls answered within --within (0-1)")
	f.DurationVar(&within, "within", 20*time.Second, "service-level threshold")
	f.IntVar(&agents, "agents", 0, "report the figures for this many agents instead of searching")
	f.BoolVar(&asJSON, "json", false, "print JSON")
	_ = cmd.MarkFlagRequired("calls")
	return cmd
}

func printStaffing(w io.Writer, r acd.Result, within time.Duration, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	unstable := r.PWait >= 1 && r.SL == 0 && r.Agents > 0
	fmt.Fprintf(w, "traffic:        %.2f Erlangs\n", r.Traffic)
	fmt.Fprintf(w, "agents:         %d\n", r.Agents)
	if unstable {
		fmt.Fprintln(w, "unstable:       fewer agents than Erlangs of traffic; the queue grows without bound")
		return nil
	}
	fmt.Fprintf(w, "service level:  %.1f %% answered within %v\n", 100*r.SL, within)
	fmt.Fprintf(w, "ASA:            %v\n", r.ASA.Round(100*time.Millisecond))
	fmt.Fprintf(w, "P(wait):        %.1f %%\n", 100*r.PWait)
	fmt.Fprintf(w, "occupancy:      %.1f %%\n", 100*r.Occupancy)
	return nil
}
