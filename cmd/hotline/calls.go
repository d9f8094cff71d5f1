package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/hotline-ivr/hotline/store"
)

// newCallsCmd is `hotline calls`: what happened to a call, from the call records,
// without the engine running (or while it runs: SQLite readers never block it).
func newCallsCmd() *cobra.Command {
	var configPath string
	cmd := &cobra.Command{
		Use:   "calls",
		Short: "Read the call records",
	}
	cmd.PersistentFlags().StringVarP(&configPath, "config", "c", "", "the engine's YAML configuration file (for store and data_dir)")
	show := &cobra.Command{
		Use:   "show CALL-ID",
		Short: "Print one call's record and timeline: what happened to this call",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := openStoreForCLI(cmd.Context(), configPath)
			if err != nil {
				return err
			}
			defer s.Close()
			return store.ShowCall(cmd.Context(), s, args[0], cmd.OutOrStdout())
		},
	}
	cmd.AddCommand(show)
	return cmd
}

// openStoreForCLI opens the configured store for reading. It never completes the
// records of active calls: those may belong to an engine running now.
func openStoreForCLI(ctx context.Context, configPath string) (store.Store, error) {
	cfg := DefaultConfig()
	if configPath != "" {
		var err error
		if cfg, err = LoadConfig(configPath); err != nil {
			return nil, err
		}
	}
	sc := cfg.storeConfig()
	s, err := store.Open(ctx, sc, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		return nil, fmt.Errorf("open call records (%s %s): %w", sc.Driver, sc.DSN, err)
	}
	return s, nil
}
