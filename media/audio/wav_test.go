package audio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

// chunk returns a RIFF chunk with its pad byte.
func chunk(id string, body []byte) []byte {
	b := append([]byte(id), binary.LittleEndian.AppendUint32(nil, uint32(len(body)))...)
	b = append(b, body...)
	if len(body)%2 == 1 {
		b = append(b, 0)
	}
	return b
}

// fmtBody builds a fmt chunk body. With ext, the tag becomes the subformat
// of a WAVE_FORMAT_EXTENSIBLE header with the given container bits.
func fmtBody(tag uint16, channels, rate, bits int, ext bool) []byte {
	le := binary.LittleEndian
	align := channels * ((bits + 7) / 8)
	b := le.AppendUint16(nil, tag)
	if ext {
		b = le.AppendUint16(nil, tagExtensible)
	}
	b = le.AppendUint16(b, uint16(channels))
	b = le.AppendUint32(b, uint32(rate))
	b = le.AppendUint32(b, uint32(rate*align))
	b = le.AppendUint16(b, uint16(align))
	b = le.AppendUint16(b, uint16(bits))
	if ext {
		b = le.AppendUint16(b, 22)
		b = le.AppendUint16(b, uint16(bits)) // valid bits
		b = le.AppendUint32(b, 0)            // channel mask
		b = le.AppendUint16(b, tag)
		b = append(b, subformatSuffix[:]...)
	}
	return b
}

// riff wraps chunks in a RIFF/WAVE header with a correct size.
func riff(chunks ...[]byte) []byte {
	body := []byte("WAVE")
	for _, c := range chunks {
		body = append(body, c...)
	}
	return append(append([]byte("RIFF"), binary.LittleEndian.AppendUint32(nil, uint32(len(body)))...), body...)
}

// dataHeader is a data chunk header declaring size, followed by body as is.
func dataHeader(size uint32, body []byte) []byte {
	return append(append([]byte("data"), binary.LittleEndian.AppendUint32(nil, size)...), body...)
}

func le16(v ...int16) []byte {
	var b []byte
	for _, s := range v {
		b = binary.LittleEndian.AppendUint16(b, uint16(s))
	}
	return b
}

func le32(v ...int32) []byte {
	var b []byte
	for _, s := range v {
		b = binary.LittleEndian.AppendUint32(b, uint32(s))
	}
	return b
}

func f32(v ...float64) []byte {
	var b []byte
	for _, s := range v {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(float32(s)))
	}
	return b
}

func f64(v ...float64) []byte {
	var b []byte
	for _, s := range v {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(s))
	}
	return b
}

type wavCase struct {
	name string
	file []byte
	pcm  []int16
	rate int
}

// validWAVs are the decodable inputs, also used as the fuzz seed corpus.
func validWAVs() []wavCase {
	mono16 := le16(0, 1, -1, 32767, -32768, 1234)
	want16 := []int16{0, 1, -1, 32767, -32768, 1234}
	list := chunk("LIST", []byte("INFOISFT\x05\x00\x00\x00sox\x00\x00\x00"))
	return []wavCase{
		{"pcm16 mono", riff(chunk("fmt ", fmtBody(1, 1, 8000, 16, false)), chunk("data", mono16)), want16, 8000},
		{"pcm8 unsigned", riff(chunk("fmt ", fmtBody(1, 1, 11025, 8, false)), chunk("data", []byte{128, 0, 255, 129})),
			[]int16{0, -32768, 32512, 256}, 11025},
		{"pcm24 rounds", riff(chunk("fmt ", fmtBody(1, 1, 48000, 24, false)),
			chunk("data", []byte{0x56, 0x34, 0x12, 0xFF, 0x80, 0x12, 0xFF, 0xFF, 0x7F, 0x00, 0x00, 0x80})),
			[]int16{0x1234, 0x1281, 32767, -32768}, 48000},
		{"pcm32", riff(chunk("fmt ", fmtBody(1, 1, 16000, 32, false)), chunk("data", le32(math.MaxInt32, math.MinInt32, 0x18000))),
			[]int16{32767, -32768, 2}, 16000},
		{"pcm12 left-justified", riff(chunk("fmt ", fmtBody(1, 1, 8000, 12, false)), chunk("data", le16(0x1230, -16))),
			[]int16{0x1230, -16}, 8000},
		{"float32", riff(chunk("fmt ", fmtBody(3, 1, 22050, 32, false)), chunk("data", f32(0.5, -1, 1, math.NaN(), 2, 1.0/32768))),
			[]int16{16384, -32768, 32767, 0, 32767, 1}, 22050},
		{"float64", riff(chunk("fmt ", fmtBody(3, 1, 44100, 64, false)), chunk("data", f64(-0.5, 0.25))),
			[]int16{-16384, 8192}, 44100},
		{"alaw", riff(chunk("fmt ", fmtBody(6, 1, 8000, 8, false)), chunk("fact", le32(2)), chunk("data", []byte{0xD5, 0x55})),
			[]int16{8, -8}, 8000},
		{"mulaw with fmt size 18", riff(chunk("fmt ", append(fmtBody(7, 1, 8000, 8, false), 0, 0)), chunk("data", []byte{0xFF, 0x80})),
			[]int16{0, 32124}, 8000},
		{"extensible 24 in 32", riff(chunk("fmt ", fmtBody(1, 1, 48000, 32, true)), chunk("data", le32(0x12345600))),
			[]int16{0x1234}, 48000},
		{"extensible float", riff(chunk("fmt ", fmtBody(3, 1, 48000, 32, true)), chunk("data", f32(0.25))),
			[]int16{8192}, 48000},
		{"extensible mulaw", riff(chunk("fmt ", fmtBody(7, 1, 8000, 8, true)), chunk("data", []byte{0xFF})),
			[]int16{0}, 8000},
		{"stereo averaged", riff(chunk("fmt ", fmtBody(1, 2, 16000, 16, false)),
			chunk("data", le16(1000, 3000, 32767, 32767, -32768, -32768, 100, -100))),
			[]int16{2000, 32767, -32768, 0}, 16000},
		{"three channels 8-bit", riff(chunk("fmt ", fmtBody(1, 3, 8000, 8, false)), chunk("data", []byte{128, 131, 134})),
			[]int16{3 << 8}, 8000},
		{"LIST before fmt, odd chunk between", riff(list, chunk("fmt ", fmtBody(1, 1, 8000, 16, false)),
			chunk("odd ", []byte{1, 2, 3}), chunk("data", mono16)), want16, 8000},
		{"data size 0 reads to EOF", riff(chunk("fmt ", fmtBody(1, 1, 8000, 16, false)), dataHeader(0, mono16)), want16, 8000},
		{"data size 0xFFFFFFFF reads to EOF", riff(chunk("fmt ", fmtBody(1, 1, 8000, 16, false)), dataHeader(math.MaxUint32, mono16)), want16, 8000},
		{"espeak-ng --stdout header", append(append([]byte("RIFF\x24\xf0\xff\x7fWAVE"), chunk("fmt ", fmtBody(1, 1, 22050, 16, false))...),
			dataHeader(0x7FFFF000, mono16)...), want16, 22050},
		{"truncated data keeps whole frames", riff(chunk("fmt ", fmtBody(1, 1, 8000, 16, false)), dataHeader(100, append(mono16, 7))), want16, 8000},
		{"chunks after data are ignored", riff(chunk("fmt ", fmtBody(1, 1, 8000, 16, false)), chunk("data", mono16), list), want16, 8000},
		{"empty data", riff(chunk("fmt ", fmtBody(1, 1, 8000, 16, false)), chunk("data", nil)), []int16{}, 8000},
	}
}

func TestReadWAV(t *testing.T) {
	for _, tc := range validWAVs() {
		t.Run(tc.name, func(t *testing.T) {
			pcm, rate, err := ReadWAV(bytes.NewReader(tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if rate != tc.rate || !slices.Equal(pcm, tc.pcm) {
				t.Errorf("got %v at %d Hz, want %v at %d Hz", pcm, rate, tc.pcm, tc.rate)
			}
		})
	}
}

type wavErrCase struct {
	name string
	file []byte
	want error
	msg  string
}

func invalidWAVs() []wavErrCase {
	fmt16 := chunk("fmt ", fmtBody(1, 1, 8000, 16, false))
	badGUID := fmtBody(1, 1, 8000, 16, true)
	badGUID[len(badGUID)-1] ^= 0xFF
	return []wavErrCase{
		{"empty", nil, ErrNotWAV, "empty input"},
		{"short", []byte("RIFF"), ErrNotWAV, "shorter than a RIFF header"},
		{"not riff", []byte("OggS\x00\x02\x00\x00\x00\x00\x00\x00"), ErrNotWAV, `starts with "OggS"`},
		{"avi", []byte("RIFF\x04\x00\x00\x00AVI "), ErrNotWAV, `form type "AVI "`},
		{"rifx", []byte("RIFX\x00\x00\x00\x04WAVE"), ErrUnsupported, "big-endian"},
		{"rf64", []byte("RF64\xff\xff\xff\xffWAVE"), ErrUnsupported, "RF64"},
		{"no chunks", riff(), ErrMalformed, "no data chunk"},
		{"fmt only", riff(fmt16), ErrMalformed, "no data chunk"},
		{"data before fmt", riff(chunk("data", le16(1)), fmt16), ErrMalformed, "data chunk before fmt"},
		{"second fmt", riff(fmt16, fmt16, chunk("data", nil)), ErrMalformed, "second fmt"},
		{"truncated chunk header", append(riff(fmt16), "dat"...), ErrMalformed, "truncated chunk header"},
		{"unknown chunk overruns", append(riff(fmt16), "junk\x00\x10\x00\x00abc"...), ErrMalformed, `"junk" chunk of 4096 bytes truncated`},
		{"mp3", riff(chunk("fmt ", fmtBody(0x55, 1, 8000, 0, false)), chunk("data", nil)), ErrUnsupported, "wav: unsupported format tag 85 (MP3)"},
		{"unknown tag", riff(chunk("fmt ", fmtBody(0x1234, 1, 8000, 16, false)), chunk("data", nil)), ErrUnsupported, "format tag 4660 (unknown)"},
		{"fmt too short", riff(chunk("fmt ", make([]byte, 14)), chunk("data", nil)), ErrMalformed, "fmt chunk of 14 bytes"},
		{"fmt huge", append(riff(), "fmt \x00\x00\x00\x80"...), ErrMalformed, "implausibly large"},
		{"fmt truncated", append(riff(), "fmt \x10\x00\x00\x00\x01\x00"...), ErrMalformed, "truncated fmt"},
		{"zero channels", riff(chunk("fmt ", fmtBody(1, 0, 8000, 16, false)), chunk("data", nil)), ErrMalformed, "0 channels"},
		{"too many channels", riff(chunk("fmt ", fmtBody(1, 1000, 8000, 16, false)), chunk("data", nil)), ErrMalformed, "1000 channels"},
		{"zero rate", riff(chunk("fmt ", fmtBody(1, 1, 0, 16, false)), chunk("data", nil)), ErrMalformed, "sample rate 0"},
		{"huge rate", riff(chunk("fmt ", fmtBody(1, 1, 10_000_000, 16, false)), chunk("data", nil)), ErrMalformed, "sample rate 10000000"},
		{"pcm 0 bits", riff(chunk("fmt ", fmtBody(1, 1, 8000, 0, false)), chunk("data", nil)), ErrUnsupported, "PCM bit depth 0"},
		{"pcm 40 bits", riff(chunk("fmt ", fmtBody(1, 1, 8000, 40, false)), chunk("data", nil)), ErrUnsupported, "PCM bit depth 40"},
		{"float 16 bits", riff(chunk("fmt ", fmtBody(3, 1, 8000, 16, false)), chunk("data", nil)), ErrUnsupported, "float bit depth 16"},
		{"alaw 16 bits", riff(chunk("fmt ", fmtBody(6, 1, 8000, 16, false)), chunk("data", nil)), ErrUnsupported, "G.711 bit depth 16"},
		{"extensible too short", riff(chunk("fmt ", fmtBody(1, 1, 8000, 16, true)[:18]), chunk("data", nil)), ErrMalformed, "EXTENSIBLE fmt chunk of 18 bytes"},
		{"extensible unknown GUID", riff(chunk("fmt ", badGUID), chunk("data", nil)), ErrUnsupported, "subformat GUID"},
		{"extensible in extensible", riff(chunk("fmt ", fmtBody(tagExtensible, 1, 8000, 16, true)), chunk("data", nil)), ErrMalformed, "itself EXTENSIBLE"},
	}
}

func TestReadWAVErrors(t *testing.T) {
	for _, tc := range invalidWAVs() {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := ReadWAV(bytes.NewReader(tc.file))
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("err = %q, want it to mention %q", err, tc.msg)
			}
		})
	}
}

func TestReadWAVSizeCap(t *testing.T) {
	file := riff(chunk("fmt ", fmtBody(1, 1, 8000, 16, false)), dataHeader(0, make([]byte, 4000)))
	if _, _, err := readWAV(bytes.NewReader(file), 4000); err != nil {
		t.Fatalf("exactly at the cap: %v", err)
	}
	_, _, err := readWAV(bytes.NewReader(file), 3999)
	if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "more than 3999 bytes of audio") {
		t.Errorf("over the cap: err = %v", err)
	}
	// Chunks before the data count too, so a stream of huge junk chunks
	// cannot keep the reader busy forever.
	junk := chunk("junk", make([]byte, 3000))
	file = riff(chunk("fmt ", fmtBody(1, 1, 8000, 16, false)), junk, junk, chunk("data", le16(1)))
	_, _, err = readWAV(bytes.NewReader(file), 4000)
	if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "before the data chunk") {
		t.Errorf("junk over the cap: err = %v", err)
	}
}

// failingReader returns data and then a non-EOF error, like a broken pipe.
type failingReader struct {
	data []byte
	err  error
}

func (f *failingReader) Read(p []byte) (int, error) {
	if len(f.data) == 0 {
		return 0, f.err
	}
	n := copy(p, f.data)
	f.data = f.data[n:]
	return n, nil
}

func TestReadWAVPassesReaderErrors(t *testing.T) {
	boom := errors.New("boom")
	full := riff(chunk("fmt ", fmtBody(1, 1, 8000, 16, false)), dataHeader(0, le16(1, 2, 3)))
	for _, cut := range []int{0, 6, 14, 20, 30, len(full)} {
		_, _, err := ReadWAV(&failingReader{data: full[:cut], err: boom})
		if !errors.Is(err, boom) {
			t.Errorf("cut at %d: err = %v, want the reader's error", cut, err)
		}
	}
}

func TestWriteWAVRoundTrip(t *testing.T) {
	for _, pcm := range [][]int16{nil, {0}, {1, -1, 32767, -32768}, Tone(440, 8000, time.Second, 0.9)} {
		var buf bytes.Buffer
		if err := WriteWAV(&buf, pcm, 8000); err != nil {
			t.Fatal(err)
		}
		if buf.Len() != WAVHeaderSize+2*len(pcm) {
			t.Errorf("%d samples: file is %d bytes", len(pcm), buf.Len())
		}
		got, rate, err := ReadWAV(&buf)
		if err != nil || rate != 8000 || !slices.Equal(got, pcm) {
			t.Errorf("round trip of %d samples: %d samples, %d Hz, %v", len(pcm), len(got), rate, err)
		}
	}
}

func TestWriteWAVErrors(t *testing.T) {
	for _, rate := range []int{0, -1, 1 << 30} {
		if err := WriteWAV(io.Discard, []int16{1}, rate); err == nil {
			t.Errorf("rate %d accepted", rate)
		}
	}
	boom := errors.New("disk full")
	if err := WriteWAV(&failingReaderWriter{err: boom}, make([]int16, 10000), 8000); !errors.Is(err, boom) {
		t.Errorf("writer error: %v", err)
	}
}

type failingReaderWriter struct{ err error }

func (f *failingReaderWriter) Write([]byte) (int, error) { return 0, f.err }

func TestWAVHeader(t *testing.T) {
	want := []byte("RIFF\x64\x01\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00\x40\x1f\x00\x00\x80\x3e\x00\x00\x02\x00\x10\x00data\x40\x01\x00\x00")
	got := WAVHeader([]byte("x"), 320, 8000, 1)
	if !bytes.Equal(got[1:], want) || got[0] != 'x' || len(got)-1 != WAVHeaderSize {
		t.Errorf("WAVHeader = %q\nwant       %q", got[1:], want)
	}
	stereo := WAVHeader(nil, 0, 48000, 2)
	if binary.LittleEndian.Uint16(stereo[32:]) != 4 || binary.LittleEndian.Uint32(stereo[28:]) != 192000 {
		t.Errorf("stereo block align/byte rate wrong: %q", stereo)
	}
	huge := WAVHeader(nil, math.MaxUint32-10, 8000, 1)
	if binary.LittleEndian.Uint32(huge[4:]) != math.MaxUint32 {
		t.Errorf("RIFF size did not saturate: %x", huge[4:8])
	}
	buf := make([]byte, 0, WAVHeaderSize)
	if a := testing.AllocsPerRun(100, func() { buf = WAVHeader(buf[:0], 1000, 8000, 1) }); a != 0 {
		t.Errorf("WAVHeader allocates %v times with spare capacity", a)
	}
	// A recorder's file with a header written at the start reads back.
	file := append(WAVHeader(nil, 4, 16000, 1), le16(5, -5)...)
	pcm, rate, err := ReadWAV(bytes.NewReader(file))
	if err != nil || rate != 16000 || !slices.Equal(pcm, []int16{5, -5}) {
		t.Errorf("reading WAVHeader output: %v %d %v", pcm, rate, err)
	}
}

func BenchmarkReadWAV(b *testing.B) {
	var buf bytes.Buffer
	if err := WriteWAV(&buf, Tone(440, 8000, 10*time.Second, 0.5), 8000); err != nil {
		b.Fatal(err)
	}
	file := buf.Bytes()
	b.ReportAllocs()
	b.SetBytes(int64(len(file)))
	for b.Loop() {
		if _, _, err := ReadWAV(bytes.NewReader(file)); err != nil {
			b.Fatal(err)
		}
	}
}
