package ivr

// The http node, and the request machinery ticket notifications share with it.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hotline-ivr/hotline/flows"
)

// maxResponseBody bounds what an http node reads of a response: a flow maps a few
// fields, and a runaway response must not hold megabytes per call.
const maxResponseBody = 1 << 20

// The wait before a retry doubles from retryBackoff up to maxRetryBackoff: enough
// for a restarting service, short enough for a caller listening to silence.
const (
	retryBackoff    = 250 * time.Millisecond
	maxRetryBackoff = 2 * time.Second
)

// httpRequest is one request an http node (or a ticket notification) makes.
type httpRequest struct {
	method, url string
	header      http.Header
	body        []byte
	timeout     time.Duration // per attempt
	retries     int           // attempts after the first, on no response, timeout or 5xx
}

// httpResponse is the last attempt's result.
type httpResponse struct {
	status   int // 0: no response
	header   http.Header
	body     []byte
	timedOut bool  // the last attempt ran out of time
	err      error // why there was no response (or the body could not be read)
}

func (c *call) httpNode(ctx context.Context, fr *frame, n *flows.Node, a *flows.HTTP) (string, error) {
	fr.vars["http_status"] = 0
	req, err := buildRequest(fr, a)
	if err != nil {
		return "", fmt.Errorf("http node: %w", err)
	}
	res := c.doHTTP(ctx, fr.flow.Name, req)
	fr.vars["http_status"] = res.status
	if err := ctx.Err(); err != nil {
		return "", err
	}
	switch {
	case res.status >= 200 && res.status < 300:
		if err := mapResponse(fr, a, res); err != nil {
			return "", fmt.Errorf("http node: %s %s: %w", req.method, redact(req.url), err)
		}
		return route(n, flows.OutcomeOK)
	case res.timedOut:
		c.log.Warn("http node: timed out", "node", n.Name, "method", req.method, "url", redact(req.url), "timeout", req.timeout, "attempts", req.retries+1)
		return route(n, flows.OutcomeTimeout)
	case res.status == 0:
		return "", fmt.Errorf("http node: %s %s: no response: %w", req.method, redact(req.url), res.err)
	default:
		return "", fmt.Errorf("http node: %s %s: status %d", req.method, redact(req.url), res.status)
	}
}

// buildRequest renders an http node's request from the call's variables.
func buildRequest(fr *frame, a *flows.HTTP) (httpRequest, error) {
	req := httpRequest{method: a.Method, header: http.Header{}, timeout: a.Timeout, retries: a.Retries}
	if req.method == "" {
		req.method = http.MethodGet
	}
	if req.timeout <= 0 {
		req.timeout = fr.flow.Timeouts.HTTP
	}
	var err error
	if a.Target != nil {
		path, perr := a.Path.Text(fr.vars)
		if perr != nil {
			return req, fmt.Errorf("render path: %w", perr)
		}
		req.url = strings.TrimRight(a.Target.URL, "/") + path
		for k, v := range a.Target.Headers {
			req.header.Set(k, v)
		}
	} else if req.url, err = a.URL.Text(fr.vars); err != nil {
		return req, fmt.Errorf("render url: %w", err)
	}
	if u, err := url.Parse(req.url); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return req, fmt.Errorf("%q is not an http(s) URL", req.url)
	}
	for _, k := range sortedKeys(a.Headers) {
		v, err := a.Headers[k].Text(fr.vars)
		if err != nil {
			return req, fmt.Errorf("render header %s: %w", k, err)
		}
		req.header.Set(k, v)
	}
	switch {
	case a.JSON != nil:
		obj := make(map[string]any, len(a.JSON))
		for _, k := range sortedKeys(a.JSON) {
			v, err := a.JSON[k].Eval(fr.vars)
			if err != nil {
				return req, fmt.Errorf("json field %s: %w", k, err)
			}
			obj[k] = v
		}
		if req.body, err = json.Marshal(obj); err != nil {
			return req, fmt.Errorf("encode json body: %w", err)
		}
		if req.header.Get("Content-Type") == "" {
			req.header.Set("Content-Type", "application/json")
		}
	case a.Body != nil:
		s, err := a.Body.Text(fr.vars)
		if err != nil {
			return req, fmt.Errorf("render body: %w", err)
		}
		req.body = []byte(s)
		if req.header.Get("Content-Type") == "" {
			req.header.Set("Content-Type", "text/plain; charset=utf-8")
		}
	}
	return req, nil
}

// doHTTP makes req, retrying after no response, a timeout or a 5xx with a doubling
// backoff, each attempt bounded by req.timeout under ctx (the call's context, so a
// hang-up cancels it). Every attempt is counted in the http metrics.
func (c *call) doHTTP(ctx context.Context, flow string, req httpRequest) httpResponse {
	var res httpResponse
	wait := retryBackoff
	for attempt := 0; ; attempt++ {
		res = c.attemptHTTP(ctx, flow, req)
		c.log.Info("http request", "method", req.method, "url", redact(req.url), "status", res.status,
			"attempt", attempt+1, "timed_out", res.timedOut, "error", res.err)
		retry := res.status == 0 || res.status >= 500
		if !retry || attempt >= req.retries || ctx.Err() != nil {
			return res
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return res
		}
		wait = min(2*wait, maxRetryBackoff)
	}
}

func (c *call) attemptHTTP(ctx context.Context, flow string, req httpRequest) (res httpResponse) {
	start := time.Now()
	actx, cancel := context.WithTimeout(ctx, req.timeout)
	defer cancel()
	defer func() {
		outcome := "error"
		switch {
		case res.status >= 200 && res.status < 300:
			outcome = "ok"
		case res.timedOut:
			outcome = "timeout"
		}
		c.rt.metrics.httpRequest(flow, outcome, time.Since(start))
	}()
	hr, err := http.NewRequestWithContext(actx, req.method, req.url, bytes.NewReader(req.body))
	if err != nil {
		return httpResponse{err: fmt.Errorf("build request: %w", err)}
	}
	hr.Header = req.header.Clone()
	resp, err := c.rt.httpClient.Do(hr)
	if err != nil {
		return httpResponse{err: err, timedOut: timedOut(ctx, actx, err)}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBody+1))
	switch {
	case err != nil:
		return httpResponse{err: fmt.Errorf("read response: %w", err), timedOut: timedOut(ctx, actx, err)}
	case len(body) > maxResponseBody:
		return httpResponse{status: resp.StatusCode, header: resp.Header, err: fmt.Errorf("response larger than %d bytes", maxResponseBody)}
	}
	return httpResponse{status: resp.StatusCode, header: resp.Header, body: body}
}

// timedOut reports whether err came from the attempt's own deadline, not from the
// call ending.
func timedOut(call, attempt context.Context, err error) bool {
	return call.Err() == nil && (errors.Is(attempt.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded))
}

// mapResponse sets the node's response variables from a 2xx response: every value is
// computed and converted first, then all are stored, so a mapping that fails leaves
// the variables as they were.
func mapResponse(fr *frame, a *flows.HTTP, res httpResponse) error {
	if res.err != nil {
		return res.err
	}
	if len(a.Response) == 0 {
		return nil
	}
	env := make(map[string]any, len(fr.vars)+3)
	maps.Copy(env, fr.vars)
	env["body"] = decodeBody(res.body)
	env["status"] = res.status
	hdr := make(map[string]any, len(res.header))
	for k, v := range res.header {
		hdr[strings.ToLower(k)] = strings.Join(v, ", ")
	}
	env["headers"] = hdr
	vals := make([]any, len(a.Response))
	for i, as := range a.Response {
		v, err := as.Value.Eval(env)
		if err != nil {
			return fmt.Errorf("response %s: %w", as.Var, err)
		}
		t, ok := fr.flow.Variables[as.Var]
		if !ok {
			t = builtinType(as.Var)
		}
		if vals[i], err = t.Convert(v); err != nil {
			return fmt.Errorf("response %s: %w", as.Var, err)
		}
	}
	for i, as := range a.Response {
		fr.vars[as.Var] = vals[i]
	}
	return nil
}

// decodeBody is what response expressions see as body: the JSON value when the body
// is JSON, else its text; nil when empty.
func decodeBody(b []byte) any {
	if len(bytes.TrimSpace(b)) == 0 {
		return nil
	}
	var v any
	if err := json.Unmarshal(b, &v); err == nil {
		return v
	}
	return string(b)
}

// redact drops the query and user info of a URL for logs: they may hold keys or a
// caller's data.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(invalid URL)"
	}
	u.User, u.RawQuery, u.Fragment = nil, "", ""
	return u.String()
}
