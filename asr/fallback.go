package asr

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Fallback recognises with a primary backend and turns to a secondary one
// when the primary fails (to open, while streaming, or to finish) or has
// not produced its final result within Budget of the end of speech. It is
// itself a Backend, so the registry treats "sphinx, else vosk" like any
// other backend. Every switch is counted in hotline_asr_fallbacks_total
// with its reason, and primary failures in hotline_asr_errors_total.
//
// The fallback keeps a copy of the utterance's audio (at most the
// request's MaxUtterance plus pre-roll) so the secondary, opened only when
// needed, hears the whole utterance. After the budget both race: the
// first good final result wins and the other is cancelled and closed
// before Finish returns.
type Fallback struct {
	primary, secondary         Backend
	primaryName, secondaryName string
	budget                     time.Duration
	metrics                    *Metrics
}

var (
	_ Backend   = (*Fallback)(nil)
	_ Validator = (*Fallback)(nil)
)

// NewFallback pairs two backends that take the same sample rate. budget
// is the latency budget from the end of speech (0: DefaultLatencyBudget);
// m may be nil.
func NewFallback(primaryName string, primary Backend, secondaryName string, secondary Backend, budget time.Duration, m *Metrics) (*Fallback, error) {
	if primary == nil || secondary == nil {
		return nil, errors.New("asr: fallback needs two backends")
	}
	if pr, sr := primary.SampleRate(), secondary.SampleRate(); pr != sr {
		return nil, fmt.Errorf("asr: fallback %s (%d Hz) -> %s (%d Hz): backends must share a sample rate",
			primaryName, pr, secondaryName, sr)
	}
	if budget <= 0 {
		budget = DefaultLatencyBudget
	}
	return &Fallback{primary: primary, secondary: secondary, primaryName: primaryName,
		secondaryName: secondaryName, budget: budget, metrics: m}, nil
}

// SampleRate is the rate both backends take.
func (f *Fallback) SampleRate() int { return f.primary.SampleRate() }

// Validate requires the request to suit both backends: a fallback that
// would reject it cannot help when the primary fails.
func (f *Fallback) Validate(req Request) error {
	var errs []error
	for _, b := range []Backend{f.primary, f.secondary} {
		if v, ok := b.(Validator); ok {
			errs = append(errs, v.Validate(req))
		}
	}
	return errors.Join(errs...)
}

// Open opens the primary, or the secondary if the primary fails to open.
func (f *Fallback) Open(ctx context.Context, req Request, partial func(Result)) (Stream, error) {
	limit := int(int64(req.MaxUtterance+DefaultPreRoll+FrameDuration) * int64(f.SampleRate()) / int64(time.Second))
	fs := &fallbackStream{f: f, req: req, partial: partial, limit: limit}
	p, err := f.primary.Open(ctx, req, partial)
	if err == nil {
		fs.cur, fs.curName = p, f.primaryName
		return fs, nil
	}
	if ctx.Err() != nil {
		return nil, err
	}
	f.metrics.backendError(f.primaryName)
	f.metrics.fallback(f.primaryName, f.secondaryName, "error")
	s, serr := f.secondary.Open(ctx, req, partial)
	if serr != nil {
		return nil, fmt.Errorf("%s: %w; fallback %s: %w", f.primaryName, err, f.secondaryName, serr)
	}
	fs.cur, fs.curName, fs.switched = s, f.secondaryName, true
	return fs, nil
}

type fallbackStream struct {
	f        *Fallback
	req      Request
	partial  func(Result)
	cur      Stream
	curName  string
	switched bool    // cur is the secondary
	audio    []int16 // the utterance so far, for the secondary
	limit    int     // cap of audio, in samples
	lost     bool    // audio went past limit: the secondary cannot hear it all
}

func (fs *fallbackStream) Write(ctx context.Context, pcm []int16) error {
	if !fs.switched {
		if len(fs.audio)+len(pcm) <= fs.limit {
			fs.audio = append(fs.audio, pcm...)
		} else {
			fs.lost = true
		}
	}
	err := fs.cur.Write(ctx, pcm)
	if err == nil || fs.switched || ctx.Err() != nil {
		return err
	}
	fs.f.metrics.backendError(fs.f.primaryName)
	fs.f.metrics.fallback(fs.f.primaryName, fs.f.secondaryName, "error")
	fs.closeCur()
	s, serr := fs.openSecondary(ctx)
	if serr != nil {
		return fmt.Errorf("%s: %w; fallback %s: %w", fs.f.primaryName, err, fs.f.secondaryName, serr)
	}
	fs.cur, fs.curName, fs.switched = s, fs.f.secondaryName, true
	fs.audio = nil
	return nil
}

// openSecondary opens the secondary and replays the utterance into it.
func (fs *fallbackStream) openSecondary(ctx context.Context) (Stream, error) {
	if fs.lost {
		return nil, errors.New("utterance longer than the fallback's buffer")
	}
	s, err := fs.f.secondary.Open(ctx, fs.req, fs.partial)
	if err != nil {
		return nil, err
	}
	const chunk = 16000
	for a := fs.audio; len(a) > 0; {
		n := min(chunk, len(a))
		if err := s.Write(ctx, a[:n]); err != nil {
			_ = s.Close()
			return nil, err
		}
		a = a[n:]
	}
	return s, nil
}

type finishResult struct {
	r    Result
	err  error
	name string
}

// Finish asks the current backend; on the primary's failure or after the
// budget, the secondary too.
func (fs *fallbackStream) Finish(ctx context.Context) (Result, error) {
	if fs.switched {
		r, err := fs.cur.Finish(ctx)
		r.Backend = fs.curName
		return r, err
	}
	pctx, pcancel := context.WithCancel(ctx)
	defer pcancel()
	primary := make(chan finishResult, 1)
	go func() {
		r, err := fs.cur.Finish(pctx)
		primary <- finishResult{r, err, fs.f.primaryName}
	}()
	timer := time.NewTimer(fs.f.budget)
	defer timer.Stop()

	var reason string
	select {
	case p := <-primary:
		if p.err == nil || ctx.Err() != nil {
			p.r.Backend = p.name
			return p.r, p.err
		}
		fs.f.metrics.backendError(fs.f.primaryName)
		reason = "error"
		primary <- p // keep it for the race below, which sees it first
	case <-timer.C:
		reason = "latency"
	case <-ctx.Done():
		pcancel()
		p := <-primary
		return Result{Backend: p.name}, ctx.Err()
	}
	fs.f.metrics.fallback(fs.f.primaryName, fs.f.secondaryName, reason)

	sctx, scancel := context.WithCancel(ctx)
	defer scancel()
	secondary := make(chan finishResult, 1)
	var sec Stream
	opened := make(chan struct{})
	go func() {
		defer close(opened)
		s, err := fs.openSecondary(sctx)
		if err != nil {
			secondary <- finishResult{err: err, name: fs.f.secondaryName}
			return
		}
		sec = s
		r, err := s.Finish(sctx)
		secondary <- finishResult{r, err, fs.f.secondaryName}
	}()

	var errs []error
	var won *finishResult
	for pending := 2; pending > 0 && won == nil; pending-- {
		var fr finishResult
		select {
		case fr = <-primary:
			primary = nil
		case fr = <-secondary:
			secondary = nil
		}
		if fr.err == nil {
			won = &fr
			break
		}
		errs = append(errs, fmt.Errorf("%s: %w", fr.name, fr.err))
	}
	// Stop the loser and wait for it: nothing outlives Finish but the
	// streams Close releases.
	pcancel()
	scancel()
	if primary != nil {
		<-primary
	}
	<-opened
	if secondary != nil {
		<-secondary
	}
	switch {
	case sec == nil:
	case won != nil && won.name == fs.f.primaryName:
		_ = sec.Close() // the primary answered after all
	default:
		_ = fs.cur.Close()
		fs.cur, fs.curName, fs.switched = sec, fs.f.secondaryName, true
	}
	if won != nil {
		won.r.Backend = won.name
		return won.r, nil
	}
	return Result{Backend: fs.f.primaryName}, errors.Join(errs...)
}

func (fs *fallbackStream) closeCur() {
	if fs.cur != nil {
		_ = fs.cur.Close()
		fs.cur = nil
	}
}

func (fs *fallbackStream) Close() error {
	if fs.cur == nil {
		return nil
	}
	err := fs.cur.Close()
	fs.cur = nil
	return err
}
