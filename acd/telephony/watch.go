package telephony

import (
	"context"
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
// found too.
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
