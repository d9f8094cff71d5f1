package loadtest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// sipAgent is the generator's SIP user agent: one sipgo stack with one listening
// socket for every call, which sends the INVITEs, ACKs and BYEs and answers the
// engine's BYEs. One socket suffices: SIP is a few messages per call, while RTP is
// fifty packets per second.
type sipAgent struct {
	ua        *sipgo.UserAgent
	srv       *sipgo.Server
	cli       *sipgo.Client
	dialogs   *sipgo.DialogClientCache
	closer    func() error
	recipient sip.Uri
	host      string
	transport string
	wg        sync.WaitGroup
}

// newSIPAgent binds a SIP socket on cfg.LocalIP and starts serving it.
func newSIPAgent(cfg *Config) (*sipAgent, error) {
	thost, tport, err := net.SplitHostPort(cfg.Target)
	if err != nil {
		return nil, fmt.Errorf("loadtest: target %q: %w", cfg.Target, err)
	}
	port, err := strconv.Atoi(tport)
	if err != nil {
		return nil, fmt.Errorf("loadtest: target %q: bad port", cfg.Target)
	}
	host := cfg.LocalIP.String()
	quiet := slog.New(levelFilter{cfg.Logger.Handler(), slog.LevelWarn})
	a := &sipAgent{host: host, transport: cfg.Transport}
	a.recipient = sip.Uri{Scheme: "sip", User: cfg.User, Host: thost, Port: port}
	if cfg.Transport == "tcp" {
		a.recipient.UriParams = sip.NewParams()
		a.recipient.UriParams.Add("transport", "tcp")
	}
	a.ua, err = sipgo.NewUA(
		sipgo.WithUserAgent("hotline-loadtest"),
		sipgo.WithUserAgentHostname(host),
		sipgo.WithUserAgentTransactionLayerOptions(sip.WithTransactionLayerLogger(quiet)),
		sipgo.WithUserAgentTransportLayerOptions(sip.WithTransportLayerLogger(quiet)),
	)
	if err != nil {
		return nil, fmt.Errorf("loadtest: SIP user agent: %w", err)
	}
	if a.srv, err = sipgo.NewServer(a.ua, sipgo.WithServerLogger(quiet)); err != nil {
		a.ua.Close()
		return nil, fmt.Errorf("loadtest: SIP server: %w", err)
	}

	var local net.Addr
	switch cfg.Transport {
	case "tcp":
		ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
		if err != nil {
			a.ua.Close()
			return nil, fmt.Errorf("loadtest: SIP listen: %w", err)
		}
		local, a.closer = ln.Addr(), ln.Close
		a.wg.Add(1)
		go func() { defer a.wg.Done(); _ = a.srv.ServeTCP(ln) }()
		a.cli, err = sipgo.NewClient(a.ua, sipgo.WithClientHostname(host), sipgo.WithClientLogger(quiet))
	default:
		conn, err := net.ListenPacket("udp", net.JoinHostPort(host, "0"))
		if err != nil {
			a.ua.Close()
			return nil, fmt.Errorf("loadtest: SIP listen: %w", err)
		}
		if uc, ok := conn.(*net.UDPConn); ok {
			_ = uc.SetReadBuffer(socketBuffer) // bursts of responses at high call rates
			_ = uc.SetWriteBuffer(socketBuffer)
		}
		local, a.closer = conn.LocalAddr(), conn.Close
		a.wg.Add(1)
		go func() { defer a.wg.Done(); _ = a.srv.ServeUDP(conn) }()
		// ServeUDP registers the socket with sipgo's transport asynchronously; a
		// request sent before that would try to bind the same address again.
		if err := waitListening(a.ua, local.String()); err != nil {
			a.close()
			return nil, err
		}
		// Requests leave from the listening socket, so the engine's BYE, which goes
		// where the INVITE came from, arrives where we listen.
		a.cli, err = sipgo.NewClient(a.ua, sipgo.WithClientHostname(host),
			sipgo.WithClientConnectionAddr(conn.LocalAddr().String()), sipgo.WithClientLogger(quiet))
	}
	if err != nil {
		a.close()
		return nil, fmt.Errorf("loadtest: SIP client: %w", err)
	}
	_, lport, _ := net.SplitHostPort(local.String())
	lp, _ := strconv.Atoi(lport)
	contact := sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "loadtest", Host: host, Port: lp}}
	if cfg.Transport == "tcp" {
		contact.Address.UriParams = sip.NewParams()
		contact.Address.UriParams.Add("transport", "tcp")
	}
	a.dialogs = sipgo.NewDialogClientCache(a.cli, contact)
	a.srv.OnBye(func(req *sip.Request, tx sip.ServerTransaction) {
		if err := a.dialogs.ReadBye(req, tx); err != nil {
			// RFC 3261 §15.1.2: a BYE that matches no dialog gets 481.
			_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist", nil))
		}
	})
	return a, nil
}

// invite sends an INVITE with the SDP offer and waits for the final response. It
// returns the established dialog, or an error carrying the failure's class.
func (a *sipAgent) invite(ctx context.Context, id int, body []byte) (*sipgo.DialogClientSession, error) {
	req := sip.NewRequest(sip.INVITE, *a.recipient.Clone())
	if a.transport == "tcp" {
		req.SetTransport("TCP")
	}
	from := sip.FromHeader{
		DisplayName: "loadtest",
		Address:     sip.Uri{Scheme: "sip", User: "loadtest-" + strconv.Itoa(id), Host: a.host},
		Params:      sip.NewParams(),
	}
	from.Params.Add("tag", sip.GenerateTagN(16))
	to := sip.ToHeader{Address: *a.recipient.Clone()}
	to.Address.UriParams = nil
	req.AppendHeader(&from)
	req.AppendHeader(&to)
	req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	req.SetBody(body)

	dlg, err := a.dialogs.WriteInvite(ctx, req)
	if err != nil {
		return nil, &setupError{class: "setup: send INVITE", err: err}
	}
	if err := dlg.WaitAnswer(ctx, sipgo.AnswerOptions{}); err != nil {
		dlg.Close()
		var de *sipgo.ErrDialogResponse
		if errors.As(err, &de) {
			return nil, &setupError{class: fmt.Sprintf("setup: %d %s", de.Res.StatusCode, de.Res.Reason), status: de.Res.StatusCode, err: err}
		}
		if ctx.Err() != nil {
			return nil, &setupError{class: "setup: timeout", err: err}
		}
		return nil, &setupError{class: "setup: transaction failed", err: err}
	}
	return dlg, nil
}

// waitListening waits until sipgo's UDP transport knows the listening socket.
func waitListening(ua *sipgo.UserAgent, addr string) error {
	deadline := time.Now().Add(5 * time.Second)
	for {
		if c, err := ua.TransportLayer().GetConnection("udp", addr); err == nil && c != nil {
			c.Ref(-1) // GetConnection took a reference we do not keep
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("loadtest: SIP socket %s not serving after 5s", addr)
		}
		time.Sleep(time.Millisecond)
	}
}

// setupError is a failed call setup with the class the report counts it under.
type setupError struct {
	class  string
	status int
	err    error
}

func (e *setupError) Error() string { return e.class + ": " + e.err.Error() }
func (e *setupError) Unwrap() error { return e.err }

// close stops the stack and waits for its serving goroutine.
func (a *sipAgent) close() {
	if a.closer != nil {
		_ = a.closer()
	}
	if a.ua != nil {
		_ = a.ua.Close()
	}
	a.wg.Wait()
}

// levelFilter drops records below min: sipgo reports transport chatter at info level.
type levelFilter struct {
	slog.Handler
	min slog.Level
}

func (f levelFilter) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= f.min && f.Handler.Enabled(ctx, l)
}

func (f levelFilter) WithAttrs(as []slog.Attr) slog.Handler {
	return levelFilter{f.Handler.WithAttrs(as), f.min}
}

func (f levelFilter) WithGroup(name string) slog.Handler {
	return levelFilter{f.Handler.WithGroup(name), f.min}
}
