package flows

// The node types that reach outside the call: http, hours, queue, transfer, ticket.
// The names they use (endpoints, calendars, queues, trunks) are bound by the
// environment (env.go).

import (
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// HTTP calls a web service. The request goes to the environment's endpoint (its URL
// joined with Path) or to URL; headers are the endpoint's, then the node's. A 2xx
// response is ok: its body (JSON decoded, else text), status and headers are then
// visible to the Response expressions, which set variables. Another status, or no
// response, is error; running out of Timeout on the last attempt is timeout. Failed
// attempts (no response, timeout, 5xx) are retried Retries times. http_status is set
// to the last status (0 for none).
type HTTP struct {
	Method   string               `flow:"method,enum=GET|POST|PUT|PATCH|DELETE" doc:"the request method; default GET, or POST with body or json"`
	Endpoint string               `flow:"endpoint" doc:"the name of an http endpoint of the environment"`
	URL      *Template            `flow:"url" doc:"the full URL, instead of endpoint ({{ }} allowed)"`
	Path     *Template            `flow:"path" doc:"appended to the endpoint's URL, such as /accounts/{{ account }}"`
	Headers  map[string]*Template `flow:"headers" doc:"request headers ({{ }} allowed in values)"`
	Body     *Template            `flow:"body" doc:"the request body as text ({{ }} allowed)"`
	JSON     map[string]*Expr     `flow:"json" doc:"the request body as a JSON object: field to expression"`
	Timeout  time.Duration        `flow:"timeout" doc:"per attempt; default: the endpoint's, else timeouts.http"`
	Retries  int                  `flow:"retries,min=0,max=5" doc:"attempts after the first, after no response, a timeout or a 5xx; default 0"`
	Response Assignments          `flow:"response" doc:"variables to set from the response: variable to expression over body, status and headers"`

	Target *Endpoint // the environment's endpoint; nil with URL
}

// The names http.response expressions see besides the flow's variables.
var responseNames = map[string]Type{"body": TypeAny, "status": TypeInt, "headers": TypeMap}

// Hours tells whether the contact center is open now, by a calendar of the
// environment or one written inline: outcome open, closed, or holiday (a holiday
// is closed all day).
type Hours struct {
	CalendarName string            `flow:"calendar" doc:"the name of a calendar of the environment"`
	Timezone     string            `flow:"timezone" doc:"inline calendar: IANA time zone, such as Europe/Paris"`
	Weekly       map[string]string `flow:"weekly" doc:"inline calendar: days (mon, mon-fri, sat,sun) to hours (08:00-20:00, 08:00-12:00,14:00-18:00 or closed)"`
	Holidays     []string          `flow:"holidays" doc:"inline calendar: dates closed all day, YYYY-MM-DD, or MM-DD every year"`

	Calendar *Calendar // the calendar, resolved
}

// Queue hands the call to the ACD queue Target: the caller waits (hearing
// HoldPrompt, their position and wait if announced) until an agent with Skills takes
// the call. Outcomes: completed (the agent finished and the caller is back in the
// flow), full, timeout (waited Timeout), closed, callback (the caller took the
// callback offer: the ACD calls back), error.
type Queue struct {
	Name             string         `flow:"name,required" doc:"the name of a queue of the environment"`
	Priority         *Expr          `flow:"priority,type=int" doc:"0 to 10, higher is answered first: a number or an int expression; default 0"`
	Skills           map[string]int `flow:"skills,min=1,max=5" doc:"skills an agent needs: skill to lowest level, 1 to 5"`
	AnnouncePosition bool           `flow:"announce_position" doc:"tell the caller their place in the queue"`
	AnnounceWait     bool           `flow:"announce_wait" doc:"tell the caller the expected wait"`
	Callback         bool           `flow:"callback" doc:"offer a callback instead of waiting"`
	CallbackAfter    time.Duration  `flow:"callback_after" doc:"offer the callback after waiting this long; default: at once"`
	HoldPrompt       *Prompt        `flow:"hold_prompt" doc:"what the caller hears while waiting (a file prompt for music); default: the engine's"`
	ScreenPop        []string       `flow:"screen_pop" doc:"variables shown to the agent with the call"`
	Timeout          time.Duration  `flow:"timeout" doc:"the longest wait; default timeouts.queue"`
	Voice            string         `flow:"voice" doc:"espeak-ng voice of the announcements"`

	Target *QueueTarget      // the environment's queue
	Voices map[string]string // the voice for each language
}

// MaxPriority is the highest queue priority.
const MaxPriority = 10

// The values of transfer.mode and transfer.caller_id.
const (
	TransferBlind    = "blind"    // REFER (RFC 3515): the call leaves the engine
	TransferBridge   = "bridge"   // the engine calls the target and bridges both legs
	CallerIDPass     = "pass"     // the target sees the caller's number
	CallerIDFixed    = "fixed"    // the target sees CallerIDNumber
	CallerIDWithheld = "withheld" // the caller's number is withheld (RFC 3323 privacy)
	TicketLow        = "low"      // ticket.priority values
	TicketNormal     = "normal"   // the default
	TicketHigh       = "high"
	TicketUrgent     = "urgent"
)

// Transfer sends the call to a number (through Trunk) or a SIP URI. Blind: the call
// is referred away; ok means the far end accepted the REFER, and the flow goes on
// (usually to a hangup with disposition transferred). Bridge: the engine calls the
// target; ok means it answered and the bridged call has ended with the caller still
// on the line. busy, no_answer (Timeout passed) and failed are the far end's answers.
type Transfer struct {
	To             *Template     `flow:"to,required" doc:"a number such as +15550100 or a sip: URI ({{ }} allowed)"`
	Trunk          string        `flow:"trunk" doc:"the name of a trunk of the environment; needed for numbers"`
	Mode           string        `flow:"mode,enum=blind|bridge" doc:"blind (REFER) or bridge; default bridge"`
	CallerID       string        `flow:"caller_id,enum=pass|fixed|withheld" doc:"the number the target sees; default pass"`
	CallerIDNumber *Template     `flow:"caller_id_number" doc:"the number for caller_id fixed"`
	Timeout        time.Duration `flow:"timeout" doc:"how long to ring; default timeouts.transfer"`

	TrunkTarget *Trunk // the environment's trunk; nil without Trunk
}

// Ticket creates a work ticket with the caller's number, the call id, Summary,
// Fields and (with Transcript) the call's transcript; the engine stores it and
// serves it by its API, and when Notify names an endpoint posts it there as JSON.
// The new ticket's id goes to ticket_id.
type Ticket struct {
	Category   string           `flow:"category,required" doc:"what the ticket is about, such as outage or complaint"`
	Priority   string           `flow:"priority,enum=low|normal|high|urgent" doc:"default normal"`
	Summary    *Template        `flow:"summary" doc:"one line for the ticket list ({{ }} allowed)"`
	Fields     map[string]*Expr `flow:"fields" doc:"data collected in the call: field to expression"`
	Transcript bool             `flow:"transcript" doc:"attach the call's transcript; default true"`
	Notify     string           `flow:"notify" doc:"the name of an http endpoint of the environment to post the ticket to"`

	NotifyTarget *Endpoint // the environment's endpoint; nil without Notify
}

var (
	headerRE   = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
	categoryRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_ .-]*$`)
	numberRE   = regexp.MustCompile(`^\+?[0-9*#]{2,32}$`)
	sipURIRE   = regexp.MustCompile(`^sips?:[^\s@]+(@[^\s]+)?$`)
	skillRE    = regexp.MustCompile(`^[a-z0-9_][a-z0-9_.-]*$`)
)

func checkHTTP(p *parser, s *nodeSrc) {
	a := s.node.Action.(*HTTP)
	switch {
	case a.Endpoint == "" && a.URL == nil:
		if s.fields["endpoint"] == nil && s.fields["url"] == nil {
			p.errorf(s.action, "%shttp needs endpoint (a name the environment binds) or url", s.prefix)
		}
	case a.Endpoint != "" && a.URL != nil:
		p.errorf(s.fields["url"], "%shttp has both endpoint and url; use one", s.prefix)
	case a.Endpoint != "":
		a.Target = p.endpoint(s.fields["endpoint"], s.prefix, "http.endpoint", a.Endpoint)
	default:
		if a.Path != nil {
			p.errorf(s.fields["path"], "%shttp.path goes with endpoint; put the whole address in url", s.prefix)
		}
		if a.URL.Static() {
			if u, err := url.Parse(a.URL.Src); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				p.errorf(s.fields["url"], "%shttp.url must be an http or https URL, got %s", s.prefix, quote(a.URL.Src))
			}
		}
	}
	if a.Path != nil && a.Path.Src != "" && !strings.HasPrefix(a.Path.Src, "/") && !strings.HasPrefix(a.Path.Src, "?") {
		p.errorf(s.fields["path"], "%shttp.path must start with / (or ?), got %s", s.prefix, quote(a.Path.Src))
	}
	if a.Body != nil && a.JSON != nil {
		p.errorf(s.fields["json"], "%shttp has both body and json; use one", s.prefix)
	}
	switch hasBody := a.Body != nil || a.JSON != nil; {
	case a.Method == "" && hasBody:
		a.Method = "POST"
	case a.Method == "":
		a.Method = "GET"
	case hasBody && (a.Method == "GET" || a.Method == "DELETE"):
		p.errorf(s.fields["method"], "%shttp: a %s request has no body; use POST, PUT or PATCH", s.prefix, a.Method)
	}
	for name := range a.Headers {
		if !headerRE.MatchString(name) {
			p.errorf(s.fields["headers"], "%shttp.headers: %s is not a header name", s.prefix, quote(name))
		}
	}
	if a.Timeout == 0 {
		a.Timeout = p.flow.Timeouts.HTTP
		if a.Target != nil && a.Target.Timeout > 0 && s.fields["timeout"] == nil {
			a.Timeout = a.Target.Timeout
		}
	}
	for _, as := range a.Response {
		if pe := p.pendingOf(as.Value); pe != nil {
			pe.extra = responseNames
		}
	}
}

func checkHours(p *parser, s *nodeSrc) {
	a := s.node.Action.(*Hours)
	inline := s.fields["timezone"] != nil || s.fields["weekly"] != nil || s.fields["holidays"] != nil
	switch {
	case a.CalendarName != "" && inline:
		p.errorf(s.fields["calendar"], "%shours has both calendar and an inline calendar (timezone, weekly, holidays); use one", s.prefix)
	case a.CalendarName != "":
		a.Calendar = p.calendar(s.fields["calendar"], s.prefix, "hours.calendar", a.CalendarName)
	case inline:
		spec := calendarSpec{Timezone: a.Timezone, Weekly: a.Weekly, Holidays: a.Holidays}
		a.Calendar = p.buildCalendar(s.action, s.fields, &spec, s.prefix, "hours.")
		if a.Calendar != nil {
			a.Calendar.Name = s.node.Name
		}
	default:
		p.errorf(s.action, "%shours needs calendar (a name the environment binds) or timezone and weekly", s.prefix)
	}
}

func checkQueue(p *parser, s *nodeSrc) {
	a := s.node.Action.(*Queue)
	if a.Name != "" {
		a.Target = p.queue(s.fields["name"], s.prefix, "queue.name", a.Name)
	}
	if a.Priority != nil {
		if n, err := strconv.Atoi(strings.TrimSpace(a.Priority.Src)); err == nil && (n < 0 || n > MaxPriority) {
			p.errorf(s.fields["priority"], "%squeue.priority must be from 0 to %d, got %d", s.prefix, MaxPriority, n)
		}
	}
	for skill := range a.Skills {
		if !skillRE.MatchString(skill) {
			p.errorf(s.fields["skills"], "%squeue.skills: %s is not a skill name (a-z, 0-9, _ . -)", s.prefix, quote(skill))
		}
	}
	if s.fields["callback_after"] != nil && !a.Callback {
		p.errorf(s.fields["callback_after"], "%squeue.callback_after needs callback: true", s.prefix)
	}
	a.Timeout = p.timeoutOr(a.Timeout, p.flow.Timeouts.Queue)
	own := voiceOwn(s, a.Voice)
	p.voice(s, a.Voice, "queue.voice")
	a.Voices = p.voices(own)
	list := resolve(s.fields["screen_pop"])
	for i, name := range a.ScreenPop {
		at := list
		if list != nil && i < len(list.Content) {
			at = list.Content[i]
		}
		p.later = append(p.later, func() {
			if _, ok := p.scope.vars[name]; !ok && p.scope.consts[name] == nil {
				p.errorf(at, "%squeue.screen_pop: unknown variable %s%s", s.prefix, quote(name), didYouMean{name, mapKeys(p.scope.vars)})
			}
		})
	}
}

func checkTransfer(p *parser, s *nodeSrc) {
	a := s.node.Action.(*Transfer)
	isNumber := false
	if a.To != nil && a.To.Static() {
		to := strings.TrimSpace(a.To.Src)
		switch {
		case numberRE.MatchString(to):
			isNumber = true
		case sipURIRE.MatchString(to):
		default:
			p.errorf(s.fields["to"], "%stransfer.to must be a number such as +15550100 or a SIP URI such as sip:care@example.com, got %s", s.prefix, quote(to))
		}
	}
	if a.Trunk != "" {
		a.TrunkTarget = p.trunk(s.fields["trunk"], s.prefix, "transfer.trunk", a.Trunk)
	} else if isNumber {
		p.errorf(s.fields["to"], "%stransfer to a number needs trunk: the name of a trunk of the environment", s.prefix)
	}
	if a.Mode == "" {
		a.Mode = TransferBridge
	}
	switch {
	case a.CallerID == "":
		a.CallerID = CallerIDPass
	}
	switch {
	case a.CallerID == CallerIDFixed && a.CallerIDNumber == nil:
		p.errorf(s.fields["caller_id"], "%stransfer.caller_id fixed needs caller_id_number", s.prefix)
	case a.CallerID != CallerIDFixed && a.CallerIDNumber != nil:
		p.errorf(s.fields["caller_id_number"], "%stransfer.caller_id_number needs caller_id: fixed", s.prefix)
	case a.CallerIDNumber != nil && a.CallerIDNumber.Static() && !numberRE.MatchString(strings.TrimSpace(a.CallerIDNumber.Src)):
		p.errorf(s.fields["caller_id_number"], "%stransfer.caller_id_number must be a number such as +15550100, got %s", s.prefix, quote(a.CallerIDNumber.Src))
	}
	if a.Mode == TransferBlind && s.fields["timeout"] != nil {
		p.errorf(s.fields["timeout"], "%stransfer.timeout is for bridge transfers; a blind transfer does not ring here", s.prefix)
	}
	a.Timeout = p.timeoutOr(a.Timeout, p.flow.Timeouts.Transfer)
}

func checkTicket(p *parser, s *nodeSrc) {
	a := s.node.Action.(*Ticket)
	if a.Category != "" && !categoryRE.MatchString(a.Category) {
		p.errorf(s.fields["category"], "%sticket.category must be a short name such as outage, got %s", s.prefix, quote(a.Category))
	}
	if a.Priority == "" {
		a.Priority = TicketNormal
	}
	if a.Notify != "" {
		a.NotifyTarget = p.endpoint(s.fields["notify"], s.prefix, "ticket.notify", a.Notify)
	}
	for name := range a.Fields {
		if !varRE.MatchString(name) {
			p.errorf(s.fields["fields"], "%sticket.fields: %s must match [a-z_][a-z0-9_]*", s.prefix, quote(name))
		}
	}
}
