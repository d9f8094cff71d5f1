package rtcp

import "time"

// ntpEpochOffset is the number of seconds from the NTP epoch (1 January
// 1900) to the Unix epoch (1 January 1970).
const ntpEpochOffset = 2208988800

// NTPTime converts t to the 64-bit NTP timestamp of RFC 3550 §4: seconds
// since 1900 in the high 32 bits, the fraction of a second in the low 32.
// SRs carry it so that receivers can relate RTP time to wallclock and echo
// its middle 32 bits (MiddleNTP) as LSR for the round-trip time. The seconds
// wrap in 2036 (era 1), which the 32-bit LSR arithmetic tolerates.
func NTPTime(t time.Time) uint64 {
	secs := uint64(t.Unix() + ntpEpochOffset)
	frac := uint64(t.Nanosecond()) << 32 / 1e9
	return secs<<32 | frac
}

// NTPToTime converts a 64-bit NTP timestamp (era 0, before 2036) back to a
// time, for logs and for relating a peer's RTP timestamps to wallclock.
func NTPToTime(ntp uint64) time.Time {
	secs := int64(ntp>>32) - ntpEpochOffset
	nanos := (ntp & 0xffffffff) * 1e9 >> 32
	return time.Unix(secs, int64(nanos))
}

// MiddleNTP returns the middle 32 bits of an NTP timestamp (16 bits of
// seconds, 16 of fraction): the compact form that report blocks use for LSR
// and round-trip arithmetic (RFC 3550 §6.4.1).
func MiddleNTP(ntp uint64) uint32 { return uint32(ntp >> 16) }

// durationToCompact converts d to units of 1/65536 s, the unit of DLSR,
// clamped to the 32-bit range (18.2 hours) and to zero for negative d.
func durationToCompact(d time.Duration) uint32 {
	if d <= 0 {
		return 0
	}
	secs := uint64(d / time.Second)
	if secs >= 1<<16 {
		return 1<<32 - 1
	}
	frac := uint64(d%time.Second) << 16 / uint64(time.Second)
	return uint32(secs<<16 | frac)
}

// compactToDuration converts units of 1/65536 s (DLSR, round-trip
// arithmetic) to a duration.
func compactToDuration(c uint32) time.Duration {
	return time.Duration(uint64(c) * uint64(time.Second) >> 16)
}
