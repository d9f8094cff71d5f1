// Command hotline is the hotline voice/IVR engine: `hotline serve` answers SIP calls
// and runs them through YAML call flows.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

func main() {
	if err := newRootCmd().ExecuteContext(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "hotline:", err)
		os.Exit(1)
	}
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "hotline",
		Short:         "hotline is a voice/IVR telephony engine for contact centers",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newServeCmd(), newVersionCmd(), newFlowCmd(), newLoadtestCmd(), newStaffingCmd(), newCallsCmd())
	return root
}
