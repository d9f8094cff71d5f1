package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
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

	"github.com/hotline-ivr/hotline/api"
	"github.com/hotline-ivr/hotline/flows"
	"github.com/hotline-ivr/hotline/ivr"
	"github.com/hotline-ivr/hotline/ivr/flowtest"
	"github.com/hotline-ivr/hotline/media"
	"github.com/hotline-ivr/hotline/sip"
	"github.com/hotline-ivr/hotline/sip/guard"
	"github.com/hotline-ivr/hotline/store"
	"github.com/hotline-ivr/hotline/tts"
	"github.com/hotline-ivr/hotline/webrtc"
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
			// The first SIGTERM or SIGINT starts the drain, a second one stops at once,
			// SIGHUP reloads the flows.
			sigs := make(chan os.Signal, 4)
			signal.Notify(sigs, syscall.SIGHUP, os.Interrupt, syscall.SIGTERM)
			defer signal.Stop(sigs)
			return run(cmd.Context(), cfg, os.Stderr, sigs)
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

// run starts the engine and blocks until ctx ends, then drains and shuts it down.
// signals, when not nil, delivers SIGHUP (reload flows) and a second SIGTERM or
// SIGINT (stop draining at once).
func run(ctx context.Context, cfg Config, logOut io.Writer, signals <-chan os.Signal) error {
	log := newLogger(cfg.Log, logOut)
	e, err := newEngine(cfg, log)
	if err != nil {
		return err
	}
	e.signals = signals
	if err := e.listen(); err != nil {
		e.close()
		return err
	}
	return e.serve(ctx)
}

// engine is one running hotline: every component, wired.
type engine struct {
	cfg        Config
	log        *slog.Logger
	reg        *prometheus.Registry
	media      *media.Engine
	sip        *sip.Server
	runtime    *ivr.Runtime
	prompts    *tts.Cache
	flows      *flowSet
	board      *switchboard
	admission  *admission // limits: max_calls, max_cps, max_cpu, the drain
	recordings *recordings
	records    *records
	asr        io.Closer // the speech recognizers' decoder pools and connections
	people     *people   // the ACD, the agents' registrar and phones
	acdAPI     acdAPI
	agentAdmin *agentAdmin      // agents changed through the API, kept in data_dir
	rtc        *webrtc.Endpoint // browser callers and agents
	transfers  *transferer
	guard      *guard.Guard
	api        *api.Server
	audit      io.Closer // the API's audit log file, nil when it logs to slog
	http       *http.Server
	httpLn     net.Listener
	signals    <-chan os.Signal
	wg         sync.WaitGroup
}

func newEngine(cfg Config, log *slog.Logger) (*engine, error) {
	e := &engine{cfg: cfg, log: log, reg: prometheus.NewRegistry()}
	e.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	e.flows = newFlowSet(cfg.Flows.Dir, cfg.Flows.Default, log)
	if err := e.flows.load(); err != nil {
		return nil, err
	}
	var err error
	if e.admission, err = newAdmission(cfg.Limits, e.reg, log); err != nil {
		return nil, err
	}
	e.board = newSwitchboard(e.admission)
	e.recordings = &recordings{dir: cfg.recordingsDir()}
	if e.records, err = openRecords(context.Background(), cfg, e.reg, log); err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			e.records.close()
		}
	}()

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
	recognizer, asrCloser, err := newRecognizer(cfg.ASR, e.reg, log)
	if err != nil {
		return nil, fmt.Errorf("speech recognition: %w", err)
	}
	e.asr = asrCloser
	defer func() {
		if !ok && asrCloser != nil {
			_ = asrCloser.Close()
		}
	}()
	if e.people, err = newPeople(cfg, e.records, e.reg, log); err != nil {
		return nil, err
	}
	defer func() {
		if !ok {
			e.people.close()
		}
	}()
	if e.agentAdmin, err = openAgentAdmin(cfg, e.people.acd, e.people.acdCfg); err != nil {
		return nil, err
	}
	e.transfers = &transferer{}     // bridge transfers need the SIP server: set below
	understanding := flowtest.NLU{} // package nlu, trained per flow on its intents
	e.runtime = ivr.New(e.prompts,
		ivr.WithLogger(log),
		ivr.WithMetrics(ivrMetrics),
		ivr.WithRecognizer(recognizer),
		ivr.WithClassifier(understanding),
		ivr.WithSentiment(understanding),
		ivr.WithRecorder(e.recordings),
		ivr.WithTickets(ticketStore{e.records.writer}),
		ivr.WithQueue(e.people.queue),
		ivr.WithQueueInfo(e.people.queue),
		ivr.WithTransferer(e.transfers),
		ivr.WithObserver(e.observe),
	)

	latch, _ := media.ParseLatch(cfg.RTP.Symmetric)
	mcfg := media.Config{
		BindIP:          netip.MustParseAddr(cfg.RTP.BindAddress),
		PortMin:         cfg.RTP.PortMin,
		PortMax:         cfg.RTP.PortMax,
		SocketBuffer:    cfg.RTP.SocketBuffer,
		Latch:           latch,
		SendBatching:    cfg.RTP.SendBatching,
		ReceiveBatching: cfg.RTP.ReceiveBatching,
		ClockShards:     cfg.RTP.ClockShards,
	}
	if cfg.RTP.Timeout != nil {
		mcfg.Timeout = cfg.RTP.Timeout.Duration
	}
	e.media, err = media.NewEngine(mcfg, media.WithLogger(log), media.WithRegistry(e.reg))
	if err != nil {
		return nil, err
	}

	codecs, err := cfg.RTP.codecs()
	if err != nil {
		e.media.Close()
		return nil, fmt.Errorf("rtp.codecs: %w", err)
	}
	scfg := sip.Config{Host: cfg.SIP.PublicAddress, UserAgent: cfg.SIP.UserAgent, Codecs: codecs,
		Inbound: cfg.SIP.Inbound, TLS: cfg.SIP.TLS, Trunks: cfg.SIP.Trunks, Conns: cfg.SIP.Connections}
	for _, l := range cfg.SIP.Listen {
		la, _ := parseListen(l)
		scfg.Listen = append(scfg.Listen, sip.Listen{Transport: la.transport, Addr: la.addr})
	}
	if cfg.RTP.PublicAddress != "" {
		scfg.MediaIP = netip.MustParseAddr(cfg.RTP.PublicAddress)
	}
	if len(cfg.SIP.Routes) > 0 {
		router, err := sip.NewRouter(cfg.SIP.Routes)
		if err != nil {
			e.media.Close()
			return nil, fmt.Errorf("sip.routes: %w", err)
		}
		scfg.Route = router.Route
	}
	if e.guard, err = guard.New(cfg.SIP.Guard, guard.WithRegistry(e.reg), guard.WithLogger(log),
		guard.WithAdmitter(e.admission)); err != nil {
		e.media.Close()
		return nil, fmt.Errorf("sip.guard: %w", err)
	}
	scfg.Guard = e.guard
	sipOpts := []sip.Option{sip.WithLogger(log), sip.WithRegistry(e.reg), sip.WithMessageTrace(e.records.traceSIP),
		sip.WithRefusedCalls(e.records.refuse.observe)}
	regOpt, err := e.people.registrarOption(cfg, e.agentAdmin, e.reg, log)
	if err != nil {
		e.media.Close()
		return nil, err
	}
	if regOpt != nil {
		sipOpts = append(sipOpts, regOpt)
	}
	e.sip, err = sip.NewServer(scfg, e.media, sip.HandlerFunc(e.handleCall), sipOpts...)
	if err != nil {
		e.media.Close()
		return nil, err
	}
	e.transfers.bridge = &sipBridge{sip: e.sip, log: log}
	if err := e.people.ringAgents(e.sip, e.prompts, cfg.ACD, log); err != nil {
		e.sip.Close()
		e.media.Close()
		return nil, err
	}
	e.enableAgentTransfers() // agenttransfer.go: transfers to agents and numbers, REFER from phones
	if err := e.enableCallbacks(); err != nil {
		e.sip.Close()
		e.media.Close()
		return nil, err
	}

	if err := e.newAPI(); err != nil {
		e.sip.Close()
		e.media.Close()
		return nil, err
	}
	e.rtc, err = webrtc.New(cfg.WebRTC, e.media, e.handleBrowserCall, webrtc.WithLogger(log),
		webrtc.WithRegistry(e.reg), webrtc.WithAgents(e.people.softphones(), nil),
		webrtc.WithHoldMusic(e.people.music), webrtc.WithWhisper(e.prompts, cfg.ACD.WhisperVoice),
		webrtc.WithAdmission(e.admission.AdmitBrowser, e.records.refuse.observeBrowser))
	if err != nil {
		e.sip.Close()
		e.media.Close()
		return nil, fmt.Errorf("webrtc: %w", err)
	}
	mux := http.NewServeMux()
	e.rtc.Register(mux)
	mux.Handle("GET /metrics", promhttp.HandlerFor(e.reg, promhttp.HandlerOpts{Registry: e.reg}))
	mux.Handle("/", e.api)
	if cfg.HTTP.Pprof { // http.pprof: the profiler for bench/PROFILE.md
		mux.HandleFunc("GET /debug/pprof/", pprof.Index)
		mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	}
	e.http = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	ok = true
	return e, nil
}

// newAPI builds the REST API, health probes and wallboard over the engine's parts.
func (e *engine) newAPI() error {
	opts := []api.Option{
		api.WithLogger(e.log),
		api.WithCalls(e.callsAPI()), // the switchboard, with supervisor monitoring (monitor.go)
		api.WithFlows(e.flows),
		api.WithReadiness(e.board),
		api.WithWallboard(e),
	}
	opts = append(opts, api.WithBans(bansAPI{e.guard}), api.WithOriginator(originator{e}))
	e.acdAPI = newACDAPI(e.people.acd, e.people.acdCfg)
	e.acdAPI.admin = e.agentAdmin
	opts = append(opts, api.WithQueues(e.acdAPI), api.WithAgents(e.acdAPI))
	sa := storeAPI{s: e.records.store, recDir: e.recordings.dir}
	opts = append(opts, api.WithRecords(sa), api.WithTickets(sa), api.WithSurveys(sa))
	tokens, err := api.NewTokens(e.cfg.API.Tokens)
	if err != nil {
		return fmt.Errorf("api.tokens: %w", err)
	}
	opts = append(opts, api.WithTokens(tokens))
	if e.cfg.API.AuditLog != "" {
		audit, err := api.OpenAuditFile(e.cfg.API.AuditLog)
		if err != nil {
			return fmt.Errorf("api.audit_log: %w", err)
		}
		e.audit = audit
		opts = append(opts, api.WithAuditLog(audit))
	}
	if err := os.MkdirAll(e.recordings.dir, 0o750); err != nil {
		return fmt.Errorf("recordings directory: %w", err)
	}
	recs, err := api.NewDirRecordings(e.recordings.dir)
	if err != nil {
		return fmt.Errorf("recordings directory: %w", err)
	}
	opts = append(opts, api.WithRecordings(recs))
	if e.cfg.API.WallboardInterval != nil {
		opts = append(opts, api.WithWallboardInterval(e.cfg.API.WallboardInterval.Duration))
	}
	e.api, err = api.New(opts...)
	return err
}

// Wallboard samples what the wallboard shows.
func (e *engine) Wallboard(ctx context.Context) (api.WallboardData, error) {
	qs, agents, err := e.acdAPI.wallboard(ctx)
	if err != nil {
		return api.WallboardData{}, err
	}
	return api.WallboardData{Calls: e.board.counts(), Queues: qs, Agents: agents}, nil
}

// observe follows each call through its flow for the live call list.
func (e *engine) observe(st ivr.Step) {
	if !st.Done {
		e.records.event(st.CallID, store.KindNode, st.Node, st.Type)
	} else if st.Err != nil && !errors.Is(st.Err, context.Canceled) { // a hang-up is no error
		e.records.event(st.CallID, store.KindError, st.Node, st.Err.Error())
	}
	if st.Done || st.Section {
		if st.Type == "queue" && st.Done {
			e.board.update(st.CallID, func(a *api.ActiveCall) { a.Stage, a.Queue, a.Agent = api.StageIVR, "", "" })
		}
		return
	}
	e.board.update(st.CallID, func(a *api.ActiveCall) {
		a.Node = st.Node
		if st.Type == "queue" {
			a.Stage = api.StageQueue
		}
	})
}

// leg is what runCall needs of a caller's leg, SIP or WebRTC.
type leg interface {
	ivr.Channel
	Logger() *slog.Logger
	Media() *media.Session
	Codec() string
	Cause() string
	AnsweredAt() time.Time
}

// arrival is what the signalling layer knows of a new call.
type arrival struct {
	id, caller, called, trunk, transport, source, flow string
	outbound                                           bool      // placed by the engine (the API's originate)
	admitted                                           bool      // admitted at the edge (the INVITE's guard hook, the WebRTC endpoint)
	started                                            time.Time // when the call began, zero: now
	// reject refuses the call before it is answered: why is an admission limit
	// (draining, max_calls, max_cps, max_cpu) or no_flow (a route names a flow that is
	// not loaded).
	reject func(ctx context.Context, why string) error
}

// handleCall runs a SIP call.
func (e *engine) handleCall(ctx context.Context, c *sip.Call) {
	info := c.Info()
	e.runCall(ctx, c, arrival{id: info.CallID, caller: info.Caller, called: info.Called, trunk: info.Trunk,
		transport: info.Transport, source: info.Source.String(), flow: info.Flow, admitted: true,
		reject: func(ctx context.Context, why string) error {
			if why == "no_flow" {
				return c.Reject(ctx, 404)
			}
			return c.Reject(ctx, 503)
		}})
}

// handleBrowserCall runs a WebRTC call; the page's "to" picks the flow by name.
func (e *engine) handleBrowserCall(ctx context.Context, c *webrtc.Call) {
	flow := ""
	if e.flows.get(c.Called()) != nil {
		flow = c.Called()
	}
	e.runCall(ctx, c, arrival{id: c.ID(), caller: c.Caller(), called: c.Called(), transport: "webrtc",
		source: c.Source(), flow: flow, admitted: c.Admitted(),
		reject: func(ctx context.Context, why string) error { return c.Reject(ctx, why) }})
}

// runCall runs a call through its flow, from arrival to its record.
func (e *engine) runCall(ctx context.Context, c leg, a arrival) {
	log := c.Logger()
	rec := store.CallRecord{ID: a.id, StartedAt: a.started, Direction: store.DirectionInbound,
		Caller: a.caller, Called: a.called, Trunk: a.trunk, Transport: a.transport, Codec: c.Codec()}
	if rec.StartedAt.IsZero() {
		rec.StartedAt = time.Now()
	}
	direction := "inbound"
	if a.outbound {
		rec.Direction, direction = store.DirectionOutbound, "outbound"
	}
	refuse := func(why string, disp store.Disposition) {
		_ = a.reject(ctx, why)
		rec.EndedAt, rec.Disposition = time.Now(), disp
		rec.HangupCause, rec.HangupSide = why, store.HangupEngine
		e.records.submit(rec.ID, store.StartCall{Record: rec}, store.FinishCall{Record: rec})
	}
	release, why := e.admitCall(a) // admission.go
	if why != "" {
		log.Info("call refused", "reason", why)
		refuse(why, store.DispositionRejected)
		return
	}
	defer release()
	f := e.flows.get(a.flow) // the route's flow, else flows.default
	if f == nil {
		log.Warn("call refused: its route names a flow that is not loaded", "flow", a.flow)
		rec.Flow = a.flow
		refuse("no_flow", store.DispositionFailed)
		return
	}
	rec.Flow, rec.FlowVersion = f.Name, f.Version
	e.records.submit(rec.ID, store.StartCall{Record: rec}, store.CallEvent{CallID: rec.ID, At: rec.StartedAt,
		Kind: store.KindSIP, Name: "call", Detail: fmt.Sprintf("%s call from %s to %s over %s (%s)",
			direction, a.caller, a.called, a.transport, a.source)})
	lc := &liveCall{
		info: api.ActiveCall{ID: a.id, Direction: direction, Caller: a.caller, Called: a.called,
			Trunk: a.trunk, Transport: a.transport, Source: a.source, StartedAt: rec.StartedAt,
			Stage: api.StageIVR, Flow: f.Name, FlowVersion: f.Version},
		codec: c.Codec,
		hangup: func(ctx context.Context, reason string) error {
			e.records.event(a.id, store.KindNote, "hangup", "by the API: "+reason)
			return c.Hangup(ctx)
		},
	}
	defer e.board.add(lc)()

	var recording *callRecording
	if e.cfg.Recordings.Calls {
		var err error
		if recording, err = e.recordings.startCallRecording(c.Media(), a.id); err != nil {
			log.Warn("call recording not started", "error", err)
		}
	}
	res := e.runtime.Run(ctx, c, f)
	_ = c.Hangup(context.Background()) // no-op when the flow or the caller already did
	if recording != nil {
		name, err := recording.stop()
		if err != nil {
			log.Warn("call recording failed", "error", err)
		} else {
			rec.Recordings = append(rec.Recordings, name)
		}
	}
	rec.EndedAt = time.Now()
	rec.AnsweredAt = c.AnsweredAt()
	rec.Codec = c.Codec()
	rec.HangupCause = c.Cause()
	rec.HangupSide = hangupSide(rec.HangupCause)
	finishRecord(&rec, res, c.Media().Quality())
	ops := append([]store.Op{store.FinishCall{Record: rec}}, surveyOps(rec.ID, rec.EndedAt, res)...)
	if !rec.AnsweredAt.IsZero() {
		ops = append(ops, store.CallEvent{CallID: rec.ID, At: rec.AnsweredAt, Kind: store.KindSIP, Name: "answered", Detail: rec.Codec})
	}
	q := rec.Quality
	ops = append(ops,
		store.CallEvent{CallID: rec.ID, At: rec.EndedAt, Kind: store.KindSIP, Name: "hang-up",
			Detail: fmt.Sprintf("%s by the %s", rec.HangupCause, rec.HangupSide)},
		store.CallEvent{CallID: rec.ID, At: rec.EndedAt, Kind: store.KindQuality, Name: "summary",
			Detail: fmt.Sprintf("%d packets received, %d lost (%.2f %%), jitter %.1f ms, MOS %.2f",
				q.PacketsReceived, q.PacketsLost, q.LossPercent, q.JitterMs, q.MOS)})
	for _, text := range res.Transcript {
		ops = append(ops, store.CallEvent{CallID: rec.ID, At: rec.EndedAt, Kind: store.KindSpeech, Name: "transcript", Detail: text})
	}
	e.records.submit(rec.ID, ops...)
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

// serve runs until ctx ends, then drains: /readyz turns 503 and new calls are refused
// with 503 while the calls in progress finish, for at most limits.drain_timeout (or
// until a second SIGTERM); then it hangs up what is left and stops.
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
	sipCtx, stopSIP := context.WithCancel(context.Background())
	defer stopSIP()
	sipErr := make(chan error, 1)
	go func() { sipErr <- e.sip.Serve(sipCtx) }()
	e.wg.Go(func() { e.admission.run(sipCtx) }) // CPU samples for limits.max_cpu
	e.log.Info("hotline ready", "version", version, "flow", e.cfg.Flows.Default)

	var err error
	var drain <-chan time.Time // set once draining: the drain deadline
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	done := ctx.Done()
loop:
	for {
		select {
		case <-done:
			done = nil
			if drain = e.startDrain(); drain == nil {
				break loop
			}
		case sig := <-e.signals:
			if sig == syscall.SIGHUP {
				e.reload()
				continue
			}
			if drain != nil {
				e.log.Warn("second signal: stopping without waiting for the calls", "calls", e.board.count())
				break loop
			}
			if drain = e.startDrain(); drain == nil {
				break loop
			}
		case <-tick.C:
			if drain != nil && e.board.count() == 0 {
				e.log.Info("drained: no calls left")
				break loop
			}
		case <-drain:
			e.log.Warn("drain timeout: hanging up the calls left", "calls", e.board.count())
			break loop
		case err = <-sipErr:
			break loop
		case err = <-httpErr:
			break loop
		}
	}
	e.log.Info("shutting down")
	stopSIP()
	e.close()
	e.wg.Wait()
	return err
}

// startDrain turns the node unready and returns the drain deadline, or nil when
// there is nothing to wait for.
func (e *engine) startDrain() <-chan time.Time {
	e.admission.drain()
	n := e.board.count()
	timeout := e.cfg.Limits.DrainTimeout.Duration
	if n == 0 || timeout <= 0 {
		return nil
	}
	e.log.Info("draining: refusing new calls, waiting for the calls in progress", "calls", n, "timeout", timeout)
	return time.After(timeout)
}

// reload loads the flows again (SIGHUP); calls in progress keep their flow.
func (e *engine) reload() {
	if e.cfg.SIP.TLS.CertFile != "" {
		if err := e.sip.ReloadCertificate(); err != nil {
			e.log.Warn("TLS certificate reload failed; the old one stays", "error", err)
		}
	}
	if _, err := e.flows.Reload(context.Background()); err != nil {
		e.log.Warn("flow reload refused; the old flows keep serving", "error", err)
		return
	}
	e.log.Info("flows reloaded")
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		e.prerender(context.Background())
	}()
}

func (e *engine) close() {
	e.sip.Close()
	_ = e.rtc.Close()
	defer e.records.close() // after the calls: their records are the last writes
	defer e.people.close()
	if e.asr != nil {
		defer e.asr.Close()
	}
	sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = e.api.Close()
	_ = e.http.Shutdown(sctx)
	e.media.Close()
	if e.audit != nil {
		_ = e.audit.Close()
	}
	_ = e.prompts.Close()
}

// prerender synthesizes every static prompt of the loaded flows at each codec's rate,
// so the first caller does not wait for synthesis.
func (e *engine) prerender(ctx context.Context) {
	rates := map[int]bool{}
	codecs, _ := e.cfg.RTP.codecs() // checked by Validate
	for _, c := range codecs {
		rates[c.SampleRate()] = true
	}
	start, n := time.Now(), 0
	for _, f := range e.flows.all() {
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
