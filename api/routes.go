package api

// register lists every route: its method and path, who may call it and, for a
// state-changing one, its audit action. openapi.yaml describes exactly these (see
// openapi_test.go), with the role as x-hotline-role.
func (s *Server) register() {
	const (
		viewer     = RoleViewer
		supervisor = RoleSupervisor
		admin      = RoleAdmin
	)
	pub := func(method, path string) Route { return Route{Method: method, Path: path, Public: true} }
	read := func(path string) Route { return Route{Method: "GET", Path: path, Role: viewer} }
	act := func(method, path string, role Role, action string) Route {
		return Route{Method: method, Path: path, Role: role, Action: action}
	}

	// Health: for the orchestrator, no token.
	s.handle(pub("GET", "/healthz"), s.healthz)
	s.handle(pub("GET", "/readyz"), s.readyz)
	s.handle(pub("GET", "/api/v1/openapi.yaml"), s.openapi)

	// Live calls.
	s.handle(read("/api/v1/calls"), s.listCalls)
	s.handle(read("/api/v1/calls/{id}"), s.showCall)
	s.handle(act("POST", "/api/v1/calls/{id}/hangup", supervisor, "call.hangup"), s.hangupCall)
	s.handle(act("POST", "/api/v1/calls/{id}/monitor", supervisor, "call.monitor"), s.monitorCall)
	s.handle(act("POST", "/api/v1/calls/{id}/transfer", supervisor, "call.transfer"), s.transferCall)
	s.handle(act("POST", "/api/v1/calls/{id}/transfer/complete", supervisor, "call.transfer_complete"), s.completeTransfer)
	s.handle(act("POST", "/api/v1/calls/{id}/transfer/cancel", supervisor, "call.transfer_cancel"), s.cancelTransfer)
	s.handle(act("POST", "/api/v1/calls", admin, "call.originate"), s.originate)

	// Call records and recordings.
	s.handle(read("/api/v1/records"), s.searchRecords)
	s.handle(read("/api/v1/records/{id}"), s.showRecord)
	s.handle(read("/api/v1/recordings/{name...}"), s.recording)

	// Queues and agents.
	s.handle(read("/api/v1/queues"), s.listQueues)
	s.handle(read("/api/v1/queues/{queue}"), s.showQueue)
	s.handle(read("/api/v1/queues/{queue}/figures"), s.queueFigures)
	s.handle(read("/api/v1/figures"), s.allFigures)
	s.handle(read("/api/v1/agents"), s.listAgents)
	s.handle(read("/api/v1/agents/{id}"), s.showAgent)
	s.handle(act("PUT", "/api/v1/agents/{id}/presence", supervisor, "agent.presence"), s.setPresence)
	s.handle(act("POST", "/api/v1/agents/{id}/ready", supervisor, "agent.ready"), s.agentReady)
	s.handle(act("POST", "/api/v1/agents", admin, "agent.create"), s.createAgent)
	s.handle(act("PUT", "/api/v1/agents/{id}", admin, "agent.update"), s.updateAgent)
	s.handle(act("DELETE", "/api/v1/agents/{id}", admin, "agent.delete"), s.deleteAgent)
	s.handle(act("PUT", "/api/v1/agents/{id}/skills", supervisor, "agent.skills"), s.setSkills)

	// Flows.
	s.handle(read("/api/v1/flows"), s.listFlows)
	s.handle(act("POST", "/api/v1/flows/reload", admin, "flows.reload"), s.reloadFlows)

	// Tickets and surveys.
	s.handle(read("/api/v1/tickets"), s.listTickets)
	s.handle(read("/api/v1/tickets/{id}"), s.showTicket)
	s.handle(act("PATCH", "/api/v1/tickets/{id}", supervisor, "ticket.status"), s.updateTicket)
	s.handle(read("/api/v1/surveys"), s.listSurveys)

	// The flood guard's bans.
	s.handle(read("/api/v1/bans"), s.listBans)
	s.handle(act("DELETE", "/api/v1/bans/{key}", admin, "ban.clear"), s.clearBan)
	s.handle(act("DELETE", "/api/v1/bans", admin, "ban.clear_all"), s.clearBans)

	// The wallboard: the page, its data, its assets and its login.
	s.handle(Route{Method: "GET", Path: "/wallboard", Role: viewer, Cookie: true, Page: true}, s.wallboardPage)
	s.handle(Route{Method: "GET", Path: "/api/v1/wallboard", Role: viewer, Cookie: true}, s.wallboardSnapshot)
	s.handle(Route{Method: "GET", Path: "/api/v1/events/wallboard", Role: viewer, Cookie: true}, s.wallboardEvents)
	s.handle(pub("GET", "/wallboard/assets/{file}"), s.wallboardAsset)
	s.handle(Route{Method: "POST", Path: "/wallboard/login", Public: true, Action: "wallboard.login"}, s.wallboardLogin)
	s.handle(pub("POST", "/wallboard/logout"), s.wallboardLogout)
}
