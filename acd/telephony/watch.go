package telephony

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hotline-ivr/hotline/acd"
	"github.com/hotline-ivr/hotline/sip/registrar"
)

// Watcher reports registration changes; registrar.Registrar is one.
type Watcher interface {
	Bindings
	Watch(fn func(registrar.Event)) (stop func())
}

// EndpointSetter is where agents' endpoints go; *acd.Engine is one.
type EndpointSetter interface {
	SetEndpoint(agentID string, ep acd.Endpoint)
}

// AgentLister lists the agents the ACD knows, to map a registering AOR to its
// agent; *acd.Engine is one.
type AgentLister interface {
	Agents(ctx context.Context) ([]acd.AgentState, error)
}

// watchTimeout bounds one look-up of the agents list from the registrar's goroutine.
const watchTimeout = 2 * time.Second

// Watch keeps the ACD's endpoints in step with the registrar: the agent whose
// extension's AOR comes online gets an Endpoint (SetEndpoint), and loses it (nil)
// when the AOR's last phone unregisters or expires. It first sets the endpoints of
// agents already registered, and returns stop, which ends the watching (the
// endpoints stay as they are).
//
// Agents are matched by extension (by id when they have none) against the
// agents list as it is at each event, so agents added through the API later are
// found too. e is the ACD itself, or Endpoints.Source("sip") when agents may also
// be reached another way (a browser softphone) that the phone's coming and going
// must leave alone.
func (s *SIPAgents) Watch(w Watcher, e EndpointSetter, agents AgentLister) (stop func()) {
	apply := func(aor string, online bool) {
		ctx, cancel := context.WithTimeout(context.Background(), watchTimeout)
		defer cancel()
		list, err := agents.Agents(ctx)
		if err != nil {
			s.log.Warn("telephony: registrar event: agents list failed", "aor", aor, "err", err)
			return
		}
		for _, a := range list {
			ext := a.Extension
			if ext == "" {
				ext = a.ID
			}
			if s.cfg.AOR(ext) != aor {
				continue
			}
			if online {
				e.SetEndpoint(a.ID, s.Endpoint(a.ID, a.Extension))
			} else {
				e.SetEndpoint(a.ID, nil)
			}
			s.log.Info("telephony: agent phone", "agent", a.ID, "aor", aor, "online", online)
		}
	}
	stop = w.Watch(func(ev registrar.Event) {
		switch ev.Kind {
		case registrar.EventOnline:
			apply(ev.AOR, true)
		case registrar.EventOffline:
			apply(ev.AOR, false)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), watchTimeout)
	defer cancel()
	if list, err := agents.Agents(ctx); err == nil {
		for _, a := range list {
			ext := a.Extension
			if ext == "" {
				ext = a.ID
			}
			if aor := s.cfg.AOR(ext); len(w.Lookup(aor)) > 0 {
				e.SetEndpoint(a.ID, s.Endpoint(a.ID, a.Extension))
			}
		}
	} else {
		s.log.Warn("telephony: agents list failed; endpoints follow registrations from now on", "err", err)
	}
	return stop
}

// Endpoints merges the ways one agent can be reached (their SIP phones, followed
// by Watch; their browser softphone, while its tab is logged in) into the single
// acd.Endpoint the ACD holds per agent. Each way sets its own endpoint through its
// Source; the phone unregistering takes away the phone's way only, never the
// browser's, and the other way round. With one way present the ACD gets that
// endpoint itself; with several, an Endpoint that rings them all at once (the
// first answer wins, the others are cancelled, a declined offer on one declines
// it on all).
type Endpoints struct {
	set EndpointSetter
	log *slog.Logger
	wg  sync.WaitGroup

	mu     sync.Mutex
	agents map[string]map[string]acd.Endpoint // agent id → source name → endpoint
	merged map[string]acd.Endpoint            // agent id → what the ACD was given
}

// Endpoint returns the endpoint that rings every way agentID is reachable now
// (nil when none): a transfer to that agent rings it as an offer would.
func (m *Endpoints) Endpoint(agentID string) acd.Endpoint {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.merged[agentID]
}

// NewEndpoints returns the merger in front of e (the *acd.Engine); log receives a
// line per change (nil: discard).
func NewEndpoints(e EndpointSetter, log *slog.Logger) *Endpoints {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Endpoints{set: e, log: log, agents: map[string]map[string]acd.Endpoint{}, merged: map[string]acd.Endpoint{}}
}

// Close waits for the losing offers of answered forks to finish (their Offer
// returns once cancelled). Offers must not be made afterwards.
func (m *Endpoints) Close() { m.wg.Wait() }

// Source returns the EndpointSetter of one way of reaching agents, named for the
// logs and the ringing order ("sip", "webrtc"): pass it to SIPAgents.Watch or to
// the softphone instead of the engine.
func (m *Endpoints) Source(name string) EndpointSetter { return endpointSource{m: m, name: name} }

type endpointSource struct {
	m    *Endpoints
	name string
}

func (s endpointSource) SetEndpoint(agentID string, ep acd.Endpoint) { s.m.update(agentID, s.name, ep) }

// update records one source's endpoint for agent and gives the ACD the merge. The
// lock is held across the ACD's SetEndpoint so that two sources changing at once
// reach it in the order their merges were made.
func (m *Endpoints) update(agent, source string, ep acd.Endpoint) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ways := m.agents[agent]
	if ep == nil {
		delete(ways, source)
	} else {
		if ways == nil {
			ways = map[string]acd.Endpoint{}
			m.agents[agent] = ways
		}
		ways[source] = ep
	}
	names := make([]string, 0, len(ways))
	for n := range ways {
		names = append(names, n)
	}
	slices.Sort(names)
	var merged acd.Endpoint
	switch len(names) {
	case 0:
		delete(m.agents, agent)
	case 1:
		merged = ways[names[0]]
	default:
		f := &forkEndpoint{agent: agent, names: names, log: m.log, wg: &m.wg}
		for _, n := range names {
			f.eps = append(f.eps, ways[n])
		}
		merged = f
	}
	if merged == nil {
		delete(m.merged, agent)
	} else {
		m.merged[agent] = merged
	}
	m.set.SetEndpoint(agent, merged)
	m.log.Info("telephony: agent reachable by", "agent", agent, "source", source, "present", ep != nil, "ways", strings.Join(names, ","))
}

// forkEndpoint rings every way an agent can be reached at once.
type forkEndpoint struct {
	agent string
	names []string
	eps   []acd.Endpoint
	log   *slog.Logger
	wg    *sync.WaitGroup // Endpoints.wg: the collectors of losing offers
}

type forkOffer struct {
	i   int
	leg acd.Leg
	res acd.OfferResult
	err error
}

// Offer offers o to every way at once and returns the first answer; the other
// offers are cancelled and a leg they answer meanwhile is hung up. A way that
// declines ends the offer for all (the agent said no); one that fails (a phone not
// registered any more, a softphone busy) leaves the others ringing.
func (f *forkEndpoint) Offer(ctx context.Context, o acd.Offer) (acd.Leg, acd.OfferResult, error) {
	log := f.log.With("call_id", o.CallID, "agent", f.agent, "offer_id", o.OfferID)
	fctx, cancel := context.WithCancel(ctx)
	defer cancel()
	results := make(chan forkOffer, len(f.eps))
	for i, ep := range f.eps {
		go func() {
			leg, res, err := ep.Offer(fctx, o)
			results <- forkOffer{i: i, leg: leg, res: res, err: err}
		}()
	}
	var (
		declined bool
		noAnswer bool
		errs     []error
	)
	for left := len(f.eps); left > 0; left-- {
		r := <-results
		switch {
		case r.res == acd.OfferAnswered && r.leg != nil && !declined:
			log.Info("telephony: offer answered", "way", f.names[r.i])
			cancel()
			// The others return soon (cancelled); collect them without holding up
			// the caller's bridge, and hang up a leg that answered meanwhile.
			f.wg.Add(1)
			go func(n int) {
				defer f.wg.Done()
				for range n {
					if late := <-results; late.res == acd.OfferAnswered && late.leg != nil {
						log.Info("telephony: offer answered too late; hanging up", "way", f.names[late.i])
						_ = late.leg.Hangup(context.WithoutCancel(ctx))
					}
				}
			}(left - 1)
			return r.leg, acd.OfferAnswered, nil
		case r.res == acd.OfferAnswered && r.leg != nil:
			log.Info("telephony: offer answered after a decline; hanging up", "way", f.names[r.i])
			_ = r.leg.Hangup(context.WithoutCancel(ctx))
		case r.res == acd.OfferRejected:
			declined = true
			cancel()
		case r.res == acd.OfferNoAnswer:
			noAnswer = true
		}
		if r.err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", f.names[r.i], r.err))
		}
	}
	switch {
	case declined:
		return nil, acd.OfferRejected, errors.Join(errs...)
	case noAnswer || ctx.Err() != nil:
		return nil, acd.OfferNoAnswer, errors.Join(errs...)
	}
	return nil, acd.OfferFailed, errors.Join(errs...)
}
