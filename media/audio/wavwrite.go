package audio

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
)

// WAVHeaderSize is the length of the canonical header WAVHeader produces;
// sample data starts at this offset, which is where a recorder seeks back to
// rewrite the sizes.
const WAVHeaderSize = 44

// WAVHeader appends the canonical 44-byte header of a 16-bit integer PCM
// WAV file (RIFF chunk, 16-byte fmt chunk with format tag 1, data chunk
// header) to dst and returns the extended slice.
//
// The recorder writes it with the data size known so far and rewrites it
// periodically, so a file cut short by a crash is still valid up to the last
// rewrite. It does not allocate when dst has 44 bytes of spare capacity.
// dataBytes is the size of the sample data that follows; when the RIFF size
// (36 + dataBytes) would overflow 32 bits it is written as 0xFFFFFFFF, which
// ReadWAV and most tools take as "read to the end". rate and channels are
// written as given (callers pass validated values; WriteWAV validates).
func WAVHeader(dst []byte, dataBytes uint32, rate, channels int) []byte {
	le := binary.LittleEndian
	riffSize := uint32(math.MaxUint32)
	if dataBytes <= math.MaxUint32-36 {
		riffSize = 36 + dataBytes
	}
	blockAlign := uint16(channels * 2)
	dst = append(dst, "RIFF"...)
	dst = le.AppendUint32(dst, riffSize)
	dst = append(dst, "WAVEfmt "...)
	dst = le.AppendUint32(dst, 16)                      // fmt chunk size
	dst = le.AppendUint16(dst, tagPCM)                  // wFormatTag
	dst = le.AppendUint16(dst, uint16(channels))        // nChannels
	dst = le.AppendUint32(dst, uint32(rate))            // nSamplesPerSec
	dst = le.AppendUint32(dst, uint32(rate*channels*2)) // nAvgBytesPerSec
	dst = le.AppendUint16(dst, blockAlign)              // nBlockAlign
	dst = le.AppendUint16(dst, 16)                      // wBitsPerSample
	dst = append(dst, "data"...)
	return le.AppendUint32(dst, dataBytes)
}

// errWAVTooLong reports PCM that cannot be described by 32-bit RIFF sizes.
var errWAVTooLong = errors.New("wav: too many samples for a RIFF file")

// WriteWAV writes pcm as a mono 16-bit PCM WAV file at the given rate, the
// form every player, sox and the ASR engines read. It is meant for whole
// clips (test fixtures, cached prompts); live recordings use WAVHeader.
func WriteWAV(w io.Writer, pcm []int16, rate int) error {
	if rate <= 0 || rate > maxWAVRate {
		return fmt.Errorf("wav: invalid sample rate %d", rate)
	}
	if int64(len(pcm))*2 > math.MaxUint32-36 {
		return fmt.Errorf("%w: %d samples", errWAVTooLong, len(pcm))
	}
	buf := make([]byte, 0, 8192)
	buf = WAVHeader(buf, uint32(len(pcm)*2), rate, 1)
	for len(pcm) > 0 {
		n := min(len(pcm), (cap(buf)-len(buf))/2)
		for _, s := range pcm[:n] {
			buf = binary.LittleEndian.AppendUint16(buf, uint16(s))
		}
		pcm = pcm[n:]
		if _, err := w.Write(buf); err != nil {
			return fmt.Errorf("wav: %w", err)
		}
		buf = buf[:0]
	}
	if len(buf) > 0 { // header only: empty clip
		if _, err := w.Write(buf); err != nil {
			return fmt.Errorf("wav: %w", err)
		}
	}
	return nil
}
