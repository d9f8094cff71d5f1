package main

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hotline-ivr/hotline/acd"
	"github.com/hotline-ivr/hotline/acd/telephony"
	"github.com/hotline-ivr/hotline/api"
	"github.com/hotline-ivr/hotline/media"
	"github.com/hotline-ivr/hotline/media/bridge"
	"github.com/hotline-ivr/hotline/sip"
	"github.com/hotline-ivr/hotline/sip/auth"
	"github.com/hotline-ivr/hotline/sip/guard"
	"github.com/hotline-ivr/hotline/sip/registrar"
	"github.com/hotline-ivr/hotline/webrtc"
)

// defaultACD is the ACD configuration `hotline serve` runs with when acd.file is
// not set: the queues the sample flows name, no agents (they come from a file or
// the API), so a queued caller hears hold music until the queue's max wait and the
// flow's timeout outcome.
//
//go:embed acd.yaml
var defaultACD []byte

// people is the human side of the engine: the ACD, the registrar the agents'
// phones register with, the SIP side that rings them, and the merge of each
// agent's phone and browser softphone into the one endpoint the ACD rings.
type people struct {
	acd       *acd.Engine
	acdCfg    *acd.Config
	queue     *telephony.Queue
	music     *bridge.Music        // acd.music_on_hold: the queue's and the softphone's hold
	endpoints *telephony.Endpoints // phones ("sip") and softphones ("webrtc") per agent
	bindings  *registrar.Memory    // nil without SIP users
	agents    *telephony.SIPAgents
	unwatch   func()
}

// loadACD reads the ACD configuration: acd.file, or the built-in one.
func loadACD(cfg ACDConfig) (*acd.Config, error) {
	if cfg.File != "" {
		c, err := acd.LoadConfig(cfg.File)
		if err != nil {
			return nil, fmt.Errorf("acd.file: %w", err)
		}
		return c, nil
	}
	c, err := acd.ParseConfig("built-in acd.yaml", defaultACD)
	if err != nil {
		return nil, fmt.Errorf("built-in ACD configuration: %w", err)
	}
	return c, nil
}

// newPeople builds the ACD, with its queue event log in the call records, and the
// flow's queue node on top of it.
func newPeople(cfg Config, recs *records, reg prometheus.Registerer, log *slog.Logger) (*people, error) {
	ac, err := loadACD(cfg.ACD)
	if err != nil {
		return nil, err
	}
	eng, err := acd.NewEngine(acd.WithConfig(ac), acd.WithEventLog(acdLog{w: recs.writer, s: recs.store}),
		acd.WithLogger(log), acd.WithRegistry(reg), acd.WithNode(cfg.Store.Node))
	if err != nil {
		return nil, fmt.Errorf("start the ACD: %w", err)
	}
	music, err := bridge.NewMusic(cfg.ACD.MusicOnHold)
	if err != nil {
		_ = eng.Close()
		return nil, fmt.Errorf("acd.music_on_hold: %w", err)
	}
	qopts := []telephony.QueueOption{telephony.WithMusic(music),
		telephony.WithHoldPromptEvery(cfg.ACD.HoldPromptEvery.Duration), telephony.WithLogger(log)}
	if cfg.ACD.DTMFPassthrough {
		qopts = append(qopts, telephony.WithDTMFPassthrough(media.DTMFAuto))
	}
	q, err := telephony.NewQueue(eng, qopts...)
	if err != nil {
		_ = eng.Close()
		return nil, err
	}
	return &people{acd: eng, acdCfg: ac, queue: q, music: music, endpoints: telephony.NewEndpoints(eng, log)}, nil
}

// registrarOption makes the SIP server the registrar of the agents' phones when
// sip.users lists any or an agent was given a password through the API; digest
// challenges are answered against the API's agents first, then sip.users.
func (p *people) registrarOption(cfg Config, admin *agentAdmin, reg prometheus.Registerer, log *slog.Logger) (sip.Option, error) {
	if len(cfg.SIP.Users) == 0 && !admin.hasPasswords() {
		return nil, nil
	}
	users := make(map[string]auth.UserConfig, len(cfg.SIP.Users))
	for name, u := range cfg.SIP.Users {
		users[name] = auth.UserConfig{Password: u.Password, HA1MD5: u.HA1MD5, HA1SHA256: u.HA1SHA256}
	}
	realm := cfg.SIP.realm()
	static, err := auth.NewStaticUsers(realm, users)
	if err != nil {
		return nil, fmt.Errorf("sip.users: %w", err)
	}
	var algs []auth.Algorithm
	for _, name := range cfg.SIP.digestAlgorithms() {
		algs = append(algs, auth.ParseAlgorithm(name)) // checked by Validate
	}
	var lookup auth.Users = static
	if admin != nil {
		lookup = admin.registrarUsers(static)
	}
	authn, err := auth.New(realm, lookup, auth.WithLogger(log), auth.WithAlgorithms(algs...))
	if err != nil {
		return nil, fmt.Errorf("sip.users: %w", err)
	}
	if p.bindings, err = registrar.NewMemory(registrar.WithLogger(log)); err != nil {
		return nil, err
	}
	return sip.WithRegistrar(sip.RegistrarConfig{Bindings: p.bindings, Auth: authn, Aliases: []string{"*"}}), nil
}

// ringAgents makes the agents reachable on their registered phones, once the SIP
// server exists: the ACD rings them through it.
func (p *people) ringAgents(srv *sip.Server, synth telephony.Synthesizer, cfg ACDConfig, log *slog.Logger) error {
	if p.bindings == nil {
		return nil
	}
	var err error
	p.agents, err = telephony.NewSIPAgents(telephony.SIPConfig{Dialer: srv, Bindings: p.bindings, AOR: srv.AOR,
		Synthesizer: synth, Voice: cfg.WhisperVoice, Logger: log})
	if err != nil {
		return err
	}
	p.unwatch = p.agents.Watch(p.bindings, p.endpoints.Source("sip"), p.acd)
	return nil
}

// softphones is the ACD as the WebRTC agent softphone sees it: presence and
// wrap-up go to the ACD, the softphone's endpoint to the merge beside the agent's
// phones, so a phone unregistering never takes the browser away, nor the other way
// round.
func (p *people) softphones() webrtc.AgentDesk {
	return softphoneDesk{Engine: p.acd, ways: p.endpoints.Source("webrtc")}
}

// softphoneDesk is *acd.Engine with SetEndpoint going through the merge.
type softphoneDesk struct {
	*acd.Engine
	ways telephony.EndpointSetter
}

// SetEndpoint sets the agent's softphone way (nil: the tab is gone).
func (d softphoneDesk) SetEndpoint(agentID string, ep acd.Endpoint) { d.ways.SetEndpoint(agentID, ep) }

// close stops ringing agents and the ACD; the SIP server and the WebRTC endpoint
// must be closed first.
func (p *people) close() {
	if p.unwatch != nil {
		p.unwatch()
	}
	if p.agents != nil {
		p.agents.Close()
	}
	p.endpoints.Close()
	_ = p.acd.Close()
	if p.bindings != nil {
		_ = p.bindings.Close()
	}
}

// bansAPI adapts the flood guard to the API's ban list.
type bansAPI struct{ g *guard.Guard }

var _ api.Bans = bansAPI{}

func (b bansAPI) Bans(ctx context.Context) ([]api.Ban, error) {
	list, err := b.g.Bans(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]api.Ban, len(list))
	for i, x := range list {
		out[i] = api.Ban{Key: x.Key, Kind: x.Kind, Reason: x.Reason, Since: x.Since, Until: x.Until, Hits: x.Hits}
	}
	return out, nil
}

func (b bansAPI) Unban(ctx context.Context, key string) error {
	if err := b.g.Unban(ctx, key); err != nil {
		if errors.Is(err, guard.ErrNotFound) {
			return fmt.Errorf("%w: %w", api.ErrNotFound, err)
		}
		return err
	}
	return nil
}

func (b bansAPI) UnbanAll(ctx context.Context) (int, error) { return b.g.UnbanAll(ctx) }
