package main

// hotline flow: the flow author's tools. validate checks flow files as the engine
// loads them, simulate runs one as a call in the terminal, test runs conversation
// tests (YAML) in virtual time for CI, and mock-billing serves the mock billing
// service the sample flows' environment points at. The work is done by packages
// flows and ivr/flowtest; this file parses flags and sets exit codes.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/hotline-ivr/hotline/flows"
	"github.com/hotline-ivr/hotline/ivr/flowtest"
)

func newFlowCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "flow",
		Short: "Check, simulate and test call flows",
		Long: `The flow author's tools:

  hotline flow validate [--env FILE] FILE…      every problem of every file, file:line:col
  hotline flow simulate [--env FILE] FILE       run a flow as a call in the terminal
  hotline flow test [--env FILE] [--json] FILE… run conversation tests, for CI
  hotline flow mock-billing [--listen ADDR]     the mock billing service of the sample flows

The flow language is documented in the package comment of
github.com/hotline-ivr/hotline/flows (go doc ./flows), the test file format in
that of github.com/hotline-ivr/hotline/ivr/flowtest.`,
	}
	cmd.AddCommand(newFlowValidateCmd(), newFlowSimulateCmd(), newFlowTestCmd(), newFlowMockBillingCmd())
	return cmd
}

// yamlFiles expands the arguments: a directory stands for its *.yaml and *.yml
// files (not hidden, not in subdirectories), in name order.
func yamlFiles(args []string) ([]string, error) {
	var out []string
	for _, a := range args {
		st, err := os.Stat(a)
		if err != nil || !st.IsDir() {
			out = append(out, a) // a file that cannot be read is reported by its reader
			continue
		}
		entries, err := os.ReadDir(a)
		if err != nil {
			return nil, err
		}
		n := len(out)
		for _, e := range entries {
			ext := strings.ToLower(filepath.Ext(e.Name()))
			if !e.IsDir() && !strings.HasPrefix(e.Name(), ".") && (ext == ".yaml" || ext == ".yml") {
				out = append(out, filepath.Join(a, e.Name()))
			}
		}
		if len(out) == n {
			return nil, fmt.Errorf("%s: no .yaml files", a)
		}
	}
	return out, nil
}

// isEnvFile reports whether path is named like an environment file.
func isEnvFile(path string) bool {
	return slices.ContainsFunc(flows.EnvFileNames, func(n string) bool { return strings.EqualFold(filepath.Base(path), n) })
}

// loadEnvFlag loads --env; flows.Errors print one a line on w.
func loadEnvFlag(path string, w io.Writer) (*flows.Env, error) {
	if path == "" {
		return nil, nil
	}
	env, err := flows.LoadEnv(path)
	return env, reportFlowErrors(err, w)
}

// reportFlowErrors prints the problems of a flows.Errors on w, one a line, and
// returns an error whose text is their count ("2 errors in 1 file"): main prints it
// last and exits 1. Other errors are returned as they are.
func reportFlowErrors(err error, w io.Writer) error {
	var es flows.Errors
	if !errors.As(err, &es) {
		return err
	}
	for _, e := range es {
		fmt.Fprintln(w, e)
	}
	return errors.New(es.Summary())
}

func newFlowValidateCmd() *cobra.Command {
	var envFile string
	cmd := &cobra.Command{
		Use:   "validate [--env FILE] FILE…",
		Short: "Check flow files and report every problem as file:line:col",
		Long: `validate loads the flow files together, as the engine loads a flow directory, and
reports every problem of every file on standard error as file:line:col: message,
then their count, and exits 1; with none it prints "ok: N flows". A directory
stands for its YAML files. The environment is --env, else an env.yaml among the
files, else the env.yaml beside the first flow if there is one.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			paths, err := yamlFiles(args)
			if err != nil {
				return err
			}
			env, err := loadEnvFlag(envFile, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			envUsed := envFile
			if env == nil {
				if i := slices.IndexFunc(paths, isEnvFile); i >= 0 {
					envUsed = paths[i]
				} else if first := slices.IndexFunc(paths, func(p string) bool { return !isEnvFile(p) }); first >= 0 {
					for _, name := range flows.EnvFileNames {
						beside := filepath.Join(filepath.Dir(paths[first]), name)
						if _, err := os.Stat(beside); err == nil {
							paths, envUsed = append(paths, beside), beside
							break
						}
					}
				}
			}
			if errs := flows.ValidateFiles(paths, env); len(errs) > 0 {
				return reportFlowErrors(errs, cmd.ErrOrStderr())
			}
			n := 0
			for _, p := range paths {
				if !isEnvFile(p) {
					n++
				}
			}
			noun := "flows"
			if n == 1 {
				noun = "flow"
			}
			if envUsed != "" {
				fmt.Fprintf(cmd.OutOrStdout(), "ok: %d %s (environment %s)\n", n, noun, envUsed)
			} else {
				fmt.Fprintf(cmd.OutOrStdout(), "ok: %d %s (no environment)\n", n, noun)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&envFile, "env", "", "environment file binding the flows' names (default: env.yaml beside the first flow)")
	return cmd
}

func newFlowSimulateCmd() *cobra.Command {
	var envFile, lang, caller, called, at string
	var verbose bool
	cmd := &cobra.Command{
		Use:   "simulate [--env FILE] [--lang en] FILE",
		Short: "Run a flow as a call in the terminal: prompts as text, you type keys or words",
		Long: `simulate runs the flow as one call without SIP or audio. Prompts print as text
under the node that says them, with the path and the variables each node changes.
Each line you type answers the call when it waits for you: keys (0-9 * #), words
(speech, understood by the engine's intent classifier), an empty line or /timeout
for no input, /vars, /path, /hangup, /help. Waits run in real time. Queue and
transfer nodes ask how they turn out; tickets are numbered T-1, T-2…; http nodes
call what the environment points at (run "hotline flow mock-billing" for the
sample flows). It reads standard input to its end, so a program can drive it
through a pipe; the end of the input hangs up.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			env, err := loadEnvFlag(envFile, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			f, err := flowtest.LoadFlow(args[0], env)
			if err != nil {
				return reportFlowErrors(err, cmd.ErrOrStderr())
			}
			cfg := flowtest.Config{Caller: caller, Called: called, Language: lang, CallID: "simulate-1"}
			if at != "" {
				if cfg.Start, err = time.Parse(time.RFC3339, at); err != nil {
					return fmt.Errorf("--time %q: want an RFC 3339 time such as 2026-06-02T10:00:00+02:00", at)
				}
			}
			if verbose {
				cfg.Logger = newLogger(LogConfig{Level: "debug"}, cmd.ErrOrStderr())
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
			defer stop()
			go func() { <-ctx.Done(); stop() }() // a second Ctrl-C ends the process
			in := cmd.InOrStdin()
			_, err = flowtest.Simulate(ctx, f, cfg, in, cmd.OutOrStdout(), flowtest.SimOptions{Echo: !isTerminal(in)})
			return err
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&envFile, "env", "", "environment file (default: env.yaml beside the flow)")
	fl.StringVar(&lang, "lang", "", "the call's language at its start, one the flow declares (default: the flow's)")
	fl.StringVar(&caller, "caller", flowtest.DefaultCaller, "the caller's number")
	fl.StringVar(&called, "called", flowtest.DefaultCalled, "the number called")
	fl.StringVar(&at, "time", "", "the clock at the call's start, RFC 3339 (default: now)")
	fl.BoolVarP(&verbose, "verbose", "v", false, "print the runtime's log on standard error")
	return cmd
}

// isTerminal reports whether r is a terminal, whose user sees what they type.
func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func newFlowTestCmd() *cobra.Command {
	var envFile, run string
	var asJSON, verbose bool
	cmd := &cobra.Command{
		Use:   "test [--env FILE] [--json] FILE…",
		Short: "Run conversation tests of flows, in virtual time, for CI",
		Long: `test runs the conversation test files (YAML; a directory stands for its YAML
files): each case is a call in which the caller presses keys, says words, waits or
hangs up, and expectations check the prompts, nodes, variables, queue, transfer,
tickets, path and disposition. Time is virtual, so a case with 5 s timeouts takes
milliseconds; http nodes are answered by the file's http_mocks, else the built-in
mock billing service, never the network. It prints PASS or FAIL per case, with what
was expected, what happened and the transcript for each failure (--json: one JSON
document), and exits 1 when a case fails or a file does not load. --env replaces
every file's environment.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			files, err := yamlFiles(args)
			if err != nil {
				return err
			}
			opts := flowtest.Options{}
			if opts.Env, err = loadEnvFlag(envFile, cmd.ErrOrStderr()); err != nil {
				return err
			}
			if run != "" {
				if opts.Run, err = regexp.Compile(run); err != nil {
					return fmt.Errorf("--run: %w", err)
				}
			}
			var results []flowtest.FileResult
			for _, f := range files {
				results = append(results, flowtest.RunFile(cmd.Context(), f, opts))
			}
			out := cmd.OutOrStdout()
			if asJSON {
				if err := flowtest.WriteJSON(out, results); err != nil {
					return err
				}
			} else {
				flowtest.WriteText(out, results, verbose)
			}
			if passed, total := flowtest.Passed(results); passed < total {
				return fmt.Errorf("%d of %d cases failed", total-passed, total)
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&envFile, "env", "", "environment file for every flow (default: each test file's env, else env.yaml beside the flow)")
	fl.BoolVar(&asJSON, "json", false, "report as one JSON document")
	fl.StringVar(&run, "run", "", "run only the cases whose name matches this regular expression")
	fl.BoolVarP(&verbose, "verbose", "v", false, "print the transcript of passing cases too")
	return cmd
}

func newFlowMockBillingCmd() *cobra.Command {
	var listen, apiKey string
	cmd := &cobra.Command{
		Use:   "mock-billing [--listen 127.0.0.1:8099]",
		Short: "Serve the mock billing service the sample flows' env.yaml points at",
		Long: `mock-billing serves the billing service of flows/env.yaml's contract for the demo:
GET /accounts/{account} (200 with the balance, 404 for an unknown account),
POST /events/call-ended (204), and GET /events (the events received). Demo
accounts: 12345678, 87654321 (VIP) and 55501234; 99999999 answers 503. It logs
each request and stops on Ctrl-C.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
			defer stop()
			return serveMockBilling(ctx, listen, apiKey, cmd.OutOrStdout())
		},
	}
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:8099", "address to listen on (port 0: any free port)")
	cmd.Flags().StringVar(&apiKey, "api-key", "dev-key", `X-Api-Key every request needs, as env.yaml sends it ("" for none)`)
	return cmd
}

// serveMockBilling serves the mock billing service on listen until ctx ends. The
// first line it prints names the address, for a script that started it on port 0.
func serveMockBilling(ctx context.Context, listen, apiKey string, out io.Writer) error {
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("mock billing: %w", err)
	}
	b := flowtest.NewBilling()
	b.APIKey = apiKey
	var mu sync.Mutex // requests are served concurrently; their log lines must not interleave
	logf := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(out, format, args...)
	}
	srv := &http.Server{
		ReadHeaderTimeout: 5 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
			b.ServeHTTP(rec, r)
			logf("%s %s %s -> %d\n", time.Now().Format("15:04:05"), r.Method, r.URL.Path, rec.status)
		}),
	}
	logf("mock billing service on http://%s (accounts 12345678, 87654321, 55501234; %s answers 503)\n", ln.Addr(), flowtest.DownAccount)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("mock billing: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	err = srv.Shutdown(sctx)
	<-errc // Serve returned http.ErrServerClosed
	return err
}

// statusRecorder remembers the status a handler wrote, for the request log.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}
