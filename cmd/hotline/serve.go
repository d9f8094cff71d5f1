package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"

	"github.com/hotline-ivr/hotline/flows"
	"github.com/hotline-ivr/hotline/ivr"
	"github.com/hotline-ivr/hotline/media"
	"github.com/hotline-ivr/hotline/media/codec"
	"github.com/hotline-ivr/hotline/sip"
	"github.com/hotline-ivr/hotline/tts"
)

func newServeCmd() *cobra.Command {
	var (
		configPath  string
		sipListen   []string
		httpListen  string
		rtpPorts    string
		rtpBind     string
		publicAddr  string
		flowsDir    string
		defaultFlow string
		logLevel    string
		logFormat   string
	)
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the engine: answer SIP calls and run them through the flow",
		Long: `Run the engine. With no flags and no config file it listens for SIP on UDP and TCP
127.0.0.1:5060, serves /healthz and /metrics on http://127.0.0.1:8080 and answers every
call with the sample flow built into the binary.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg := DefaultConfig()
			if configPath != "" {
				var err error
				if cfg, err = LoadConfig(configPath); err != nil {
					return err
				}
			}
			f := cmd.Flags()
			if f.Changed("sip-listen") {
				cfg.SIP.Listen = sipListen
			}
			if f.Changed("http-listen") {
				cfg.HTTP.Listen = httpListen
			}
			if f.Changed("rtp-ports") {
				lo, hi, err := parsePortRange(rtpPorts)
				if err != nil {
					return fmt.Errorf("--rtp-ports: %w", err)
				}
				cfg.RTP.PortMin, cfg.RTP.PortMax = lo, hi
			}
			if f.Changed("rtp-bind") {
				cfg.RTP.BindAddress = rtpBind
			}
			if f.Changed("public-address") {
				cfg.SIP.PublicAddress = publicAddr
				cfg.RTP.PublicAddress = publicAddr
			}
			if f.Changed("flows") {
				cfg.Flows.Dir = flowsDir
			}
			if f.Changed("flow") {
				cfg.Flows.Default = defaultFlow
			}
			if f.Changed("log-level") {
				cfg.Log.Level = logLevel
			}
			if f.Changed("log-format") {
				cfg.Log.Format = logFormat
			}
			if err := cfg.Validate(); err != nil {
				return fmt.Errorf("invalid configuration:\n%w", err)
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return run(ctx, cfg, os.Stderr)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&configPath, "config", "c", "", "YAML configuration file")
	f.StringSliceVar(&sipListen, "sip-listen", nil, "SIP listen addresses as transport:host:port (default udp and tcp on 127.0.0.1:5060)")
	f.StringVar(&httpListen, "http-listen", defaultHTTPListen, "HTTP listen address for /healthz and /metrics")
	f.StringVar(&rtpPorts, "rtp-ports", "10000-20000", "RTP port range MIN-MAX")
	f.StringVar(&rtpBind, "rtp-bind", defaultRTPBind, "IP address RTP sockets bind to")
	f.StringVar(&publicAddr, "public-address", "", "address written into SDP and Contact headers (1:1 NAT)")
	f.StringVar(&flowsDir, "flows", "", "directory of flow YAML files (default: the built-in sample flows)")
	f.StringVar(&defaultFlow, "flow", defaultFlow, "name of the flow that answers calls")
	f.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	f.StringVar(&logFormat, "log-format", "text", "text or json")
	return cmd
}

// newLogger builds the process logger from the log section.
func newLogger(cfg LogConfig, w io.Writer) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(cfg.Level))
	opts := &slog.HandlerOptions{Level: lvl}
	if cfg.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// run starts the engine and blocks until ctx ends, then shuts it down.
func run(ctx context.Context, cfg Config, logOut io.Writer) error {
	log := newLogger(cfg.Log, logOut)
	e, err := newEngine(cfg, log)
	if err != nil {
		return err
	}
	if err := e.listen(); err != nil {
		e.close()
		return err
	}
	return e.serve(ctx)
}

// engine is one running hotline: every component, wired.
type engine struct {
	cfg     Config
	log     *slog.Logger
	reg     *prometheus.Registry
	media   *media.Engine
	sip     *sip.Server
	runtime *ivr.Runtime
	prompts *tts.Cache
	flows   map[string]*flows.Flow
	flow    *flows.Flow
	http    *http.Server
	httpLn  net.Listener
	wg      sync.WaitGroup
}

func newEngine(cfg Config, log *slog.Logger) (*engine, error) {
	e := &engine{cfg: cfg, log: log, reg: prometheus.NewRegistry()}
	e.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	if err := e.loadFlows(); err != nil {
		return nil, err
	}

	backend, err := tts.NewEspeak(tts.WithEspeakPath(cfg.TTS.EspeakPath), tts.WithSpeed(cfg.TTS.Speed))
	if err != nil {
		return nil, err
	}
	e.prompts, err = tts.NewCache(backend, tts.WithDir(cfg.TTS.CacheDir), tts.WithRegistry(e.reg))
	if err != nil {
		return nil, err
	}
	ivrMetrics, err := ivr.NewMetrics(e.reg)
	if err != nil {
		return nil, err
	}
	e.runtime = ivr.New(e.prompts, ivr.WithLogger(log), ivr.WithMetrics(ivrMetrics))

	latch, _ := media.ParseLatch(cfg.RTP.Symmetric)
	mcfg := media.Config{
		BindIP:       netip.MustParseAddr(cfg.RTP.BindAddress),
		PortMin:      cfg.RTP.PortMin,
		PortMax:      cfg.RTP.PortMax,
		SocketBuffer: cfg.RTP.SocketBuffer,
		Latch:        latch,
	}
	if cfg.RTP.Timeout != nil {
		mcfg.Timeout = cfg.RTP.Timeout.Duration
	}
	e.media, err = media.NewEngine(mcfg, media.WithLogger(log), media.WithRegistry(e.reg))
	if err != nil {
		return nil, err
	}

	scfg := sip.Config{Host: cfg.SIP.PublicAddress, UserAgent: cfg.SIP.UserAgent, Codecs: codec.Builtin()}
	for _, l := range cfg.SIP.Listen {
		la, _ := parseListen(l)
		scfg.Listen = append(scfg.Listen, sip.Listen{Transport: la.transport, Addr: la.addr})
	}
	if cfg.RTP.PublicAddress != "" {
		scfg.MediaIP = netip.MustParseAddr(cfg.RTP.PublicAddress)
	}
	e.sip, err = sip.NewServer(scfg, e.media, sip.HandlerFunc(e.handleCall), sip.WithLogger(log), sip.WithRegistry(e.reg))
	if err != nil {
		e.media.Close()
		return nil, err
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, "ok\n")
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(e.reg, promhttp.HandlerOpts{Registry: e.reg}))
	e.http = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	return e, nil
}

// loadFlows reads the flow directory, or the sample flows built into the binary.
func (e *engine) loadFlows() error {
	var list []*flows.Flow
	if e.cfg.Flows.Dir == "" {
		f, err := flows.Sample()
		if err != nil {
			return fmt.Errorf("built-in sample flow: %w", err)
		}
		list = []*flows.Flow{f}
	} else {
		var err error
		if list, err = flows.LoadDir(e.cfg.Flows.Dir); err != nil {
			return fmt.Errorf("load flows from %s:\n%w", e.cfg.Flows.Dir, err)
		}
	}
	e.flows = make(map[string]*flows.Flow, len(list))
	for _, f := range list {
		e.flows[f.Name] = f
		e.log.Info("flow loaded", "flow", f.Name, "version", f.Version, "file", f.File, "nodes", len(f.Nodes))
	}
	e.flow = e.flows[e.cfg.Flows.Default]
	if e.flow == nil {
		return fmt.Errorf("flows.default: no flow named %q is loaded", e.cfg.Flows.Default)
	}
	return nil
}

// handleCall runs the default flow for a call.
func (e *engine) handleCall(ctx context.Context, c *sip.Call) {
	e.runtime.Run(ctx, c, e.flow)
}

// listen binds the SIP and HTTP sockets.
func (e *engine) listen() error {
	if err := e.sip.Listen(); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", e.cfg.HTTP.Listen)
	if err != nil {
		e.sip.Close()
		return fmt.Errorf("http: listen %s: %w", e.cfg.HTTP.Listen, err)
	}
	e.httpLn = ln
	return nil
}

// serve runs until ctx ends, then hangs up every call and stops.
func (e *engine) serve(ctx context.Context) error {
	e.wg.Add(2)
	go func() {
		defer e.wg.Done()
		e.prerender(ctx)
	}()
	httpErr := make(chan error, 1)
	go func() {
		defer e.wg.Done()
		e.log.Info("HTTP listening", "addr", e.httpLn.Addr().String())
		if err := e.http.Serve(e.httpLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
			httpErr <- err
		}
	}()
	sipErr := make(chan error, 1)
	go func() { sipErr <- e.sip.Serve(ctx) }()
	e.log.Info("hotline ready", "version", version, "flow", e.flow.Name)

	var err error
	select {
	case <-ctx.Done():
		err = <-sipErr
	case err = <-sipErr:
	case err = <-httpErr:
	}
	e.log.Info("shutting down")
	e.close()
	e.wg.Wait()
	return err
}

func (e *engine) close() {
	e.sip.Close()
	sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = e.http.Shutdown(sctx)
	e.media.Close()
}

// prerender synthesizes every static prompt of the loaded flows at each codec's rate,
// so the first caller does not wait for synthesis.
func (e *engine) prerender(ctx context.Context) {
	rates := map[int]bool{}
	for _, c := range codec.Builtin() {
		rates[c.SampleRate()] = true
	}
	start, n := time.Now(), 0
	for _, f := range e.flows {
		for _, p := range staticPrompts(f) {
			for rate := range rates {
				if ctx.Err() != nil {
					return
				}
				if _, err := e.prompts.Synthesize(ctx, p.text, p.voice, rate); err != nil {
					e.log.Warn("prompt pre-render failed", "flow", f.Name, "text", p.text, "error", err)
					continue
				}
				n++
			}
		}
	}
	e.log.Info("prompts pre-rendered", "count", n, "took", time.Since(start).Round(time.Millisecond))
}

type prompt struct{ text, voice string }

func staticPrompts(f *flows.Flow) []prompt {
	var out []prompt
	for _, name := range f.Order {
		switch a := f.Nodes[name].Action.(type) {
		case *flows.Say:
			out = append(out, prompt{a.Text, a.Voice})
		case *flows.Gather:
			for _, t := range []string{a.Prompt, a.NoInputPrompt, a.NoMatchPrompt} {
				if t != "" {
					out = append(out, prompt{t, a.Voice})
				}
			}
		}
	}
	return out
}
