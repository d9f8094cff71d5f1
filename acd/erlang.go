package acd

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Result is the Erlang C answer for one interval, as Staffing and ErlangC return it.
type Result struct {
	Agents    int           `json:"agents"`    // the fewest agents meeting the target
	Traffic   float64       `json:"traffic"`   // A, in Erlangs: arrival rate × AHT
	SL        float64       `json:"sl"`        // service level those agents reach, 0–1
	ASA       time.Duration `json:"asa"`       // mean speed of answer, all calls
	Occupancy float64       `json:"occupancy"` // A ÷ agents
	PWait     float64       `json:"p_wait"`    // probability a call waits (Erlang C)
}

// maxStaffingAgents bounds the search: a target that needs more is a typo.
const maxStaffingAgents = 100_000

// ErrUnreachable is returned when no number of agents up to the search bound meets
// the target.
var ErrUnreachable = errors.New("acd: staffing target unreachable")

// Staffing returns the fewest agents for which Erlang C predicts a service level of
// at least targetSL (0–1) within targetT, for arrivals calls per interval with the
// given AHT, as METRICS.md defines it:
//
//	A = arrivals ÷ interval × AHT
//	P(wait) = Erlang C, from the Erlang B recursion B(0) = 1, B(n) = A·B(n−1) ÷ (n + A·B(n−1)),
//	          C = N·B(N) ÷ (N − A·(1 − B(N)))
//	SL(t) = 1 − P(wait)·e^(−(N−A)·t/AHT)
//	ASA   = P(wait)·AHT ÷ (N − A)
//
// The recursion never forms A^N or N!, so it stays exact where the textbook formula
// overflows (hundreds of agents). `hotline staffing` prints this.
func Staffing(arrivals float64, interval, aht time.Duration, targetSL float64, targetT time.Duration) (Result, error) {
	switch {
	case !(arrivals >= 0) || math.IsInf(arrivals, 0):
		return Result{}, fmt.Errorf("acd: arrivals must be 0 or more, got %v", arrivals)
	case interval <= 0 || aht <= 0:
		return Result{}, fmt.Errorf("acd: interval and AHT must be more than 0")
	case !(targetSL > 0 && targetSL < 1):
		return Result{}, fmt.Errorf("acd: target service level must be between 0 and 1 (exclusive), got %v", targetSL)
	case targetT < 0:
		return Result{}, fmt.Errorf("acd: target time must not be negative")
	}
	a := Traffic(arrivals, interval, aht)
	if a == 0 {
		return Result{Agents: 0, SL: 1}, nil
	}
	// B(n) for n < N is needed for every N tried; carry it along instead of restarting.
	b := 1.0
	n := 0
	for n < maxStaffingAgents {
		n++
		b = a * b / (float64(n) + a*b)
		if float64(n) <= a {
			continue // unstable: the queue grows without bound
		}
		r := erlangResult(n, a, b, aht, targetT)
		if r.SL >= targetSL {
			return r, nil
		}
	}
	return Result{}, fmt.Errorf("%w: more than %d agents", ErrUnreachable, maxStaffingAgents)
}

// Traffic is the offered load A in Erlangs: arrivals per interval times the AHT
// (METRICS.md), the input of ErlangC.
func Traffic(arrivals float64, interval, aht time.Duration) float64 {
	return arrivals / interval.Seconds() * aht.Seconds()
}

// ErlangC returns the Erlang C figures for n agents and traffic a (Erlangs), as
// Staffing computes them; n <= a means the queue is unstable (PWait 1, SL 0).
func ErlangC(n int, a float64, aht, targetT time.Duration) Result {
	if n <= 0 || float64(n) <= a {
		return Result{Agents: n, Traffic: a, PWait: 1, Occupancy: 1, ASA: time.Duration(math.MaxInt64)}
	}
	b := 1.0
	for k := 1; k <= n; k++ {
		b = a * b / (float64(k) + a*b)
	}
	return erlangResult(n, a, b, aht, targetT)
}

func erlangResult(n int, a, b float64, aht, t time.Duration) Result {
	nf := float64(n)
	c := nf * b / (nf - a*(1-b))
	sl := 1 - c*math.Exp(-(nf-a)*t.Seconds()/aht.Seconds())
	asa := c * aht.Seconds() / (nf - a)
	return Result{
		Agents: n, Traffic: a, SL: sl, PWait: c, Occupancy: a / nf,
		ASA: time.Duration(math.Round(asa * float64(time.Second))),
	}
}
