package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"os/signal"
	"runtime/pprof"
	"runtime/trace"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/hotline-ivr/hotline/loadtest"
)

// errLoadtestFailed makes `hotline loadtest` exit non-zero when the run did not meet
// its quality criteria, so scripts and CI can branch on it.
var errLoadtestFailed = errors.New("the run did not meet its quality criteria")

// newLoadtestCmd is `hotline loadtest`: the SIP load generator of package loadtest.
func newLoadtestCmd() *cobra.Command {
	var (
		cfg                 loadtest.Config
		localIP, mode, hang string
		jsonOut, htmlOut    string
		cpuProfile          string
		tracePath           string
		traceAt, traceFor   time.Duration
		quiet, noFail       bool
	)
	cmd := &cobra.Command{
		Use:   "loadtest [host:port]",
		Short: "Place many concurrent calls against an engine and report what the callers experienced",
		Long: `Place concurrent SIP calls against a hotline engine (or any IVR), each one a caller
that sends real audio, listens for the prompts, presses digits (RFC 4733) and says a
phrase, and report per call and in total: setup latency, time to first audio, prompt
timing, RTP loss, jitter and inter-arrival gaps, completion of the script, and the
engine's CPU and memory (--engine-pid or --engine-metrics).

Examples:
  hotline loadtest 127.0.0.1:5060 -n 200 --rate 20 --duration 60s --engine-pid $(pidof hotline)
  hotline loadtest 127.0.0.1:5060 -n 50 --calls 500 --script greeting --html report.html
  hotline loadtest 127.0.0.1:5060 -n 1000 --rate 500 --calls 5000 --script signalling

The command exits 1 when the run misses its quality criteria (completion, RTP gaps,
loss, setup latency); --no-fail reports without failing.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				cfg.Target = args[0]
			}
			var err error
			if cfg.Mode, err = loadtest.ParseMode(mode); err != nil {
				return err
			}
			if cfg.Hangup, err = loadtest.ParseHangup(hang); err != nil {
				return err
			}
			if cfg.LocalIP, err = netip.ParseAddr(localIP); err != nil {
				return fmt.Errorf("--local-ip: %w", err)
			}
			if !quiet {
				cfg.Progress = cmd.ErrOrStderr()
			}
			cfg.Logger = slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelWarn}))
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			stopProfile, err := startCPUProfile(cpuProfile)
			if err != nil {
				return err
			}
			traced, err := startTraceWindow(ctx, tracePath, traceAt, traceFor)
			if err != nil {
				return err
			}
			rep, err := loadtest.Run(ctx, cfg)
			if perr := stopProfile(); err == nil && perr != nil {
				return perr
			}
			if terr := traced(); err == nil && terr != nil {
				return terr
			}
			if err != nil {
				return err
			}
			if err := rep.WriteText(cmd.OutOrStdout()); err != nil {
				return err
			}
			if err := writeReport(jsonOut, rep.WriteJSON); err != nil {
				return err
			}
			if err := writeReport(htmlOut, rep.WriteHTML); err != nil {
				return err
			}
			if !rep.Verdict.Pass && !noFail {
				return errLoadtestFailed
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Target, "target", "127.0.0.1:5060", "the engine's SIP address host:port (or the first argument)")
	f.StringVar(&cfg.Transport, "transport", "udp", "SIP transport: udp or tcp")
	f.StringVar(&cfg.User, "user", loadtest.DefaultUser, "user part of the request URI (the number called)")
	f.StringVar(&localIP, "local-ip", "127.0.0.1", "address the generator's SIP and RTP sockets bind to")
	f.IntVarP(&cfg.Concurrency, "concurrency", "n", 10, "most calls up at once")
	f.Float64VarP(&cfg.Rate, "rate", "r", loadtest.DefaultRate, "new calls per second")
	f.DurationVarP(&cfg.Duration, "duration", "d", 0, "how long to keep starting calls (then running calls finish)")
	f.IntVar(&cfg.Calls, "calls", 0, "stop after starting this many calls (0: no limit; --duration or --calls is required)")
	f.StringVar(&mode, "script", "ivr", "caller script: ivr (greeting, digits, phrase, answer), greeting (hear the greeting, hang up) or signalling (no media)")
	f.StringVar(&cfg.Digits, "digits", loadtest.DefaultDigits, `keys to press once the prompts end ("-" for none)`)
	f.StringVar(&cfg.Phrase, "say", "check my balance", `phrase to say after the digits, rendered with espeak-ng ("" for none)`)
	f.StringVar(&cfg.PhraseWAV, "say-wav", "", "WAV file to say instead of --say")
	f.StringVar(&cfg.Voice, "voice", "en-us", "espeak-ng voice of --say")
	f.BoolVar(&cfg.Talk, "talk", false, "send the phrase in a loop instead of silence whenever not pressing keys")
	f.StringVar(&hang, "hangup", "engine", "who ends an ivr call: engine (wait for its BYE) or caller (--hold after the answer begins)")
	f.DurationVar(&cfg.Hold, "hold", 0, "how long to stay before hanging up (after the answer, the greeting or the engine's response)")
	f.StringVar(&cfg.Codec, "codec", "PCMU", "codec: PCMU, PCMA or opus")
	f.DurationVar(&cfg.PromptGap, "prompt-gap", loadtest.DefaultPromptGap, "silence that ends a prompt")
	f.Float64Var(&cfg.SpeechDBFS, "speech-dbfs", loadtest.DefaultSpeechDBFS, "level above which received audio is speech")
	f.DurationVar(&cfg.SetupTimeout, "setup-timeout", loadtest.DefaultSetupTimeout, "longest INVITE to 200 OK")
	f.DurationVar(&cfg.FirstAudioTimeout, "first-audio-timeout", loadtest.DefaultFirstAudioTimeout, "longest 200 OK to greeting")
	f.DurationVar(&cfg.PromptTimeout, "prompt-timeout", loadtest.DefaultPromptTimeout, "longest greeting start to end of prompts")
	f.DurationVar(&cfg.ResponseTimeout, "response-timeout", loadtest.DefaultResponseTimeout, "longest end of input to the engine's answer")
	f.DurationVar(&cfg.CallTimeout, "call-timeout", loadtest.DefaultCallTimeout, "longest call")
	f.IntVar(&cfg.Sockets, "rtp-sockets", loadtest.DefaultSockets, "RTP sockets shared by the calls")
	f.IntVar(&cfg.EnginePID, "engine-pid", 0, "engine process to sample CPU and memory from (/proc)")
	f.StringVar(&cfg.EngineMetrics, "engine-metrics", "", "engine /metrics URL to sample CPU and memory from, when not local")
	f.Float64Var(&cfg.Criteria.MinCompletion, "min-completion", loadtest.DefaultMinCompletion, "criterion: share of calls that complete the script")
	f.DurationVar(&cfg.Criteria.MaxGapP99, "max-gap-p99", loadtest.DefaultMaxGapP99, "criterion: RTP inter-arrival p99")
	f.Float64Var(&cfg.Criteria.MaxLoss, "max-loss", loadtest.DefaultMaxLoss, "criterion: RTP loss ratio")
	f.DurationVar(&cfg.Criteria.MaxSetupP99, "max-setup-p99", loadtest.DefaultMaxSetupP99, "criterion: setup latency p99")
	f.StringVar(&jsonOut, "json", "", "write the report as JSON to this file (- for stdout)")
	f.StringVar(&htmlOut, "html", "", "write the report as an HTML page with plots to this file")
	f.BoolVar(&cfg.KeepCalls, "keep-calls", false, "include every call's record in the JSON report")
	f.BoolVarP(&quiet, "quiet", "q", false, "no progress line")
	f.StringVar(&cpuProfile, "cpuprofile", "", "write the generator's own CPU profile to this file (go tool pprof); the engine's comes from its /debug/pprof (http.pprof)")
	f.StringVar(&tracePath, "trace", "", "write a Go execution trace of the generator itself to this file (go run ./bench/schedtrace), from --trace-at for --trace-for")
	f.DurationVar(&traceAt, "trace-at", 0, "when the --trace window starts, after the run's start")
	f.DurationVar(&traceFor, "trace-for", 4*time.Second, "how long the --trace window lasts")
	f.BoolVar(&noFail, "no-fail", false, "exit 0 even when the quality criteria are not met")
	return cmd
}

// startTraceWindow traces this process into path ("" for none) from at after now for
// length, or until the returned function is called: which of the generator's own
// goroutines held its core while a call's INVITE or 200 OK waited (bench/PROFILE.md).
// The function reports a failure to start, stop or write the trace.
func startTraceWindow(ctx context.Context, path string, at, length time.Duration) (wait func() error, err error) {
	if path == "" {
		return func() error { return nil }, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("--trace: %w", err)
	}
	done := make(chan error, 1)
	stop := make(chan struct{})
	go func() {
		defer close(done)
		select {
		case <-time.After(at):
		case <-stop:
			done <- f.Close()
			return
		case <-ctx.Done():
			done <- f.Close()
			return
		}
		if err := trace.Start(f); err != nil {
			f.Close()
			done <- fmt.Errorf("--trace: %w", err)
			return
		}
		select {
		case <-time.After(length):
		case <-stop:
		case <-ctx.Done():
		}
		trace.Stop()
		if err := f.Close(); err != nil {
			done <- fmt.Errorf("--trace: %w", err)
		}
	}()
	return func() error {
		close(stop)
		return <-done
	}, nil
}

// startCPUProfile profiles this process into path ("" for none) until the returned
// function is called: whether the generator itself, not the engine, bounds a run.
func startCPUProfile(path string) (stop func() error, err error) {
	if path == "" {
		return func() error { return nil }, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("--cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("--cpuprofile: %w", err)
	}
	return func() error {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			return fmt.Errorf("--cpuprofile: %w", err)
		}
		return nil
	}, nil
}

// writeReport writes one report format to path ("" for none, "-" for stdout).
func writeReport(path string, write func(io.Writer) error) error {
	switch path {
	case "":
		return nil
	case "-":
		return write(os.Stdout)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Close()
}
