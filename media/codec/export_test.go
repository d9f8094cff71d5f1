package codec

// Test helpers for the external tests in package codec_test, which import
// media/audio (and so cannot live in package codec without a cycle).
var (
	AlignedSNR    = alignedSNR
	SegmentSNR    = segmentSNR
	ToneAmplitude = toneAmplitude
	RMS           = rms
	ReportCPU     = reportCPU
)
