package rtcp

import (
	"errors"
	"math"
	"math/rand/v2"
	"time"
)

// MinInterval is the minimum deterministic interval between RTCP reports,
// Tmin of RFC 3550 §6.2; the first report waits half of it (§6.2, A.7).
const MinInterval = 5 * time.Second

// Constants of rtcp_interval() in RFC 3550 Appendix A.7.
const (
	// senderBandwidthFraction is the share of the RTCP bandwidth that
	// senders get when they are at most a quarter of the members.
	senderBandwidthFraction = 0.25
	// compensation is e - 3/2: the randomized interval is divided by it
	// because timer reconsideration makes the average interval longer
	// than intended (RFC 3550 §6.3.1).
	compensation = math.E - 1.5
	// ipUDPOverhead is added to each compound packet's size for the
	// average RTCP packet size, which counts lower-layer headers
	// (RFC 3550 §6.2; IPv4 20 + UDP 8).
	ipUDPOverhead = 28
	// initialAvgSize is the first estimate of the average RTCP packet
	// size: an SR with one block and a 20-octet CNAME, plus IP/UDP.
	initialAvgSize = 52 + 32 + ipUDPOverhead
)

// IntervalParams are the inputs of the RTCP transmission interval
// computation of RFC 3550 §6.3.1 and Appendix A.7.
type IntervalParams struct {
	// Members is the number of session members, ourselves included; a
	// two-party call has 2. Values below 2 are taken as 2.
	Members int
	// Senders is how many members sent RTP recently, ourselves
	// included.
	Senders int
	// WeSent says whether we sent RTP since the report before last.
	WeSent bool
	// Bandwidth is the RTCP bandwidth in octets per second, normally 5 %
	// of the session bandwidth (RFC 3550 §6.2). Zero or less leaves only
	// the minimum interval, which governs any voice call anyway: G.711's
	// 87.2 kbit/s session gives 545 octet/s of RTCP, 0.4 s per report.
	Bandwidth float64
	// AvgSize is the average compound RTCP packet size in octets,
	// lower-layer headers included (RFC 3550 §6.3.3).
	AvgSize float64
	// Initial selects the half minimum interval of a member that has not
	// sent RTCP yet (RFC 3550 §6.2).
	Initial bool
	// Min overrides MinInterval when positive, e.g. the 360 s / session
	// bandwidth in kbit/s that §6.2 allows, or 1 s for tests.
	Min time.Duration
}

// DeterministicInterval returns Td of RFC 3550 §6.3.1 (rtcp_interval() of
// A.7 before randomization): the average compound packet size times the
// members sharing the RTCP bandwidth, divided by that bandwidth, and at
// least the minimum interval (halved for the initial report).
func DeterministicInterval(p IntervalParams) time.Duration {
	tmin := MinInterval
	if p.Min > 0 {
		tmin = p.Min
	}
	if p.Initial {
		tmin /= 2
	}
	members := max(p.Members, 2)
	senders := min(max(p.Senders, 0), members)
	bw, n := p.Bandwidth, float64(members)
	// RFC 3550 §6.3.1 step 1: when senders are a quarter of the members
	// or fewer, they share a quarter of the bandwidth and the receivers
	// the rest.
	if float64(senders) <= float64(members)*senderBandwidthFraction {
		if p.WeSent {
			bw *= senderBandwidthFraction
			n = float64(senders)
		} else {
			bw *= 1 - senderBandwidthFraction
			n = float64(members - senders)
		}
	}
	if bw <= 0 || p.AvgSize <= 0 {
		return tmin
	}
	t := time.Duration(p.AvgSize * n / bw * float64(time.Second))
	return max(t, tmin)
}

// Interval returns the randomized interval T until the next report
// (RFC 3550 §6.3.1 steps 4-5): Td times a factor uniformly distributed in
// [0.5, 1.5), given by u in [0, 1), divided by e - 3/2. With the 5 s minimum
// a two-party call reports every 2.05 s to 6.16 s, 4.1 s on average, and
// first after 1.03 s to 3.08 s. The randomization keeps the members of a
// session from synchronizing their reports. u outside [0, 1) is clamped.
func Interval(p IntervalParams, u float64) time.Duration {
	switch {
	case !(u >= 0): // also NaN
		u = 0
	case u >= 1:
		u = math.Nextafter(1, 0)
	}
	td := DeterministicInterval(p)
	return time.Duration(float64(td) * (u + 0.5) / compensation)
}

// Scheduler decides when a two-party session sends its next RTCP compound
// packet. It has no timer and no goroutine: the media session polls Due from
// the clock tick it already has, so a thousand calls cost a thousand
// comparisons per tick rather than a thousand timers.
//
// It implements the interval of RFC 3550 §6.2 and §6.3 for a session of two
// members that both send (an IVR always sends: prompts, or silence): an
// initial report after half the minimum interval, then reports at
// randomized intervals, with the average RTCP packet size kept as §6.3.3
// prescribes. Timer reconsideration (§6.3.6) is left out: it matters only
// when the member count changes, which it does not in a call. A BYE may be
// sent at once (§6.3.7 applies the BYE back-off only from 50 members).
//
// A Scheduler is not safe for concurrent use; the goroutine that sends the
// reports owns it.
type Scheduler struct {
	params  IntervalParams
	random  func() float64
	next    time.Time
	started bool
}

// SchedulerOption configures a Scheduler.
type SchedulerOption func(*Scheduler) error

// WithBandwidth sets the RTCP bandwidth in octets per second (normally 5 %
// of the session bandwidth, or the SDP b=RR/b=RS values of RFC 3556).
func WithBandwidth(octetsPerSecond float64) SchedulerOption {
	return func(s *Scheduler) error {
		if octetsPerSecond < 0 || math.IsNaN(octetsPerSecond) || math.IsInf(octetsPerSecond, 0) {
			return errors.New("rtcp: RTCP bandwidth must be a finite number ≥ 0")
		}
		s.params.Bandwidth = octetsPerSecond
		return nil
	}
}

// WithMinInterval replaces the 5 s minimum interval (RFC 3550 §6.2 allows a
// smaller one on high-bandwidth sessions; tests use it to run fast).
func WithMinInterval(d time.Duration) SchedulerOption {
	return func(s *Scheduler) error {
		if d <= 0 {
			return errors.New("rtcp: minimum RTCP interval must be positive")
		}
		s.params.Min = d
		return nil
	}
}

// WithRandom replaces the source of the uniform random numbers in [0, 1)
// that spread the reports, so tests get exact intervals. The default is
// math/rand/v2's Float64, which is safe for concurrent use and does not
// allocate.
func WithRandom(f func() float64) SchedulerOption {
	return func(s *Scheduler) error {
		if f == nil {
			return errors.New("rtcp: random source is nil")
		}
		s.random = f
		return nil
	}
}

// NewScheduler returns a Scheduler for a two-party session. The first call
// to Due starts it.
func NewScheduler(opts ...SchedulerOption) (*Scheduler, error) {
	s := &Scheduler{
		params: IntervalParams{
			Members: 2,
			Senders: 2,
			WeSent:  true,
			AvgSize: initialAvgSize,
			Initial: true,
		},
		random: rand.Float64,
	}
	for _, o := range opts {
		if err := o(s); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Due reports whether a report should be sent at now. The first call
// schedules the initial report and returns false. When a report is due, Due
// schedules the next one before returning true, so each report is due
// exactly once, whatever happens to its sending, and a late poll delays
// only that report.
func (s *Scheduler) Due(now time.Time) bool {
	if !s.started {
		s.started = true
		s.next = now.Add(Interval(s.params, s.random()))
		return false
	}
	if now.Before(s.next) {
		return false
	}
	s.params.Initial = false
	s.next = now.Add(Interval(s.params, s.random()))
	return true
}

// Sent records the size in octets of a compound packet we sent, to keep
// avg_rtcp_size (RFC 3550 §6.3.3: avg = size/16 + 15/16 avg, lower-layer
// headers included).
func (s *Scheduler) Sent(octets int) {
	size := float64(max(octets, 0) + ipUDPOverhead)
	s.params.AvgSize = size/16 + s.params.AvgSize*15/16
}

// Next returns when the next report is due; zero before the first Due.
func (s *Scheduler) Next() time.Time { return s.next }
