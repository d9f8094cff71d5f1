package bridge

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hotline-ivr/hotline/media"
	"github.com/hotline-ivr/hotline/media/codec"
)

// TestRing: samples come out in order across the wrap-around; a full ring takes what
// fits and reports the rest; skip drops the oldest.
func TestRing(t *testing.T) {
	q := newRing(10) // rounds up to 16
	if len(q.buf) != 16 {
		t.Fatalf("size %d", len(q.buf))
	}
	var next int16
	var want int16
	out := make([]int16, 7)
	for range 20 {
		in := make([]int16, 5)
		for i := range in {
			in[i] = next
			next++
		}
		if d := q.write(in); d != 0 {
			t.Fatalf("dropped %d with %d queued", d, q.len())
		}
		n := q.read(out[:5])
		for _, v := range out[:n] {
			if v != want {
				t.Fatalf("got %d, want %d", v, want)
			}
			want++
		}
	}
	if d := q.write(make([]int16, 20)); d != 4 {
		t.Errorf("overflow dropped %d, want 4", d)
	}
	if n := q.skip(10); n != 10 || q.len() != 6 {
		t.Errorf("skip %d, left %d", n, q.len())
	}
}

// fakeSession is a Session of a fixed rate for pipe tests (no network).
type fakeSession struct{ rate int }

func (f *fakeSession) SampleRate() int                                          { return f.rate }
func (f *fakeSession) Play(ctx context.Context, _ media.Source) error           { <-ctx.Done(); return ctx.Err() }
func (f *fakeSession) AddSink(media.Sink) func()                                { return func() {} }
func (f *fakeSession) Digits() <-chan byte                                      { return nil }
func (f *fakeSession) SendDigits(context.Context, string, media.DTMFMode) error { return nil }

// TestPipe: a 1 kHz tone written at 8 kHz comes out at 48 kHz as the same tone;
// the reader primes before it plays, plays silence on an underrun (full frames,
// never an error), and trims a backlog to two frames.
func TestPipe(t *testing.T) {
	from, to := &fakeSession{8000}, &fakeSession{48000}
	p := newPipe(from, to)
	tone := &toneSource{w: 2 * 3.141592653589793 * 1000 / 8000}
	in := make([]int16, 160)
	out := make([]int16, 960)
	var heard []int16
	for i := range 50 {
		tone.Read(in)
		p.WriteAudio(in)
		n, err := p.Read(out)
		if n != len(out) || err != nil {
			t.Fatalf("frame %d: Read %d, %v", i, n, err)
		}
		if i >= 10 {
			heard = append(heard, out...)
		}
	}
	if lvl := toneLevel(heard, 48000, 1000); lvl < 0.8 {
		t.Errorf("1 kHz after 8→48 kHz: level %.2f", lvl)
	}
	// Underrun: nothing written, the reader plays silence and counts it.
	for range 3 {
		if n, _ := p.Read(out); n != len(out) {
			t.Fatalf("underrun read %d", n)
		}
	}
	if st := p.st.snapshot(); st.Underruns == 0 {
		t.Errorf("no underrun counted: %+v", st)
	}
	// Backlog: ten frames written at once are trimmed to two when read.
	for range 10 {
		tone.Read(in)
		p.WriteAudio(in)
	}
	p.Read(out)
	if p.q.len() > 2*len(out) {
		t.Errorf("backlog %d samples after a read, want at most %d", p.q.len(), 2*len(out))
	}
	if st := p.st.snapshot(); st.Trimmed == 0 {
		t.Errorf("no trim counted: %+v", st)
	}
	p.closed.Store(true)
	if _, err := p.Read(out); err == nil {
		t.Error("closed pipe still reads")
	}
}

var testCodecs = map[string]struct {
	c  codec.Codec
	pt uint8
}{
	"PCMU": {codec.PCMU, 0},
	"PCMA": {codec.PCMA, 8},
	"G722": {codec.G722, 9},
	"opus": {codec.NewOpus(codec.OpusOptions{}), 111},
}

// TestBridgeCodecs: two real RTP legs with different codecs bridged both ways: a
// tone sent by each far end reaches the other far end, through encode, RTP,
// jitter buffer, decode, resampling, the ring, and encode again.
func TestBridgeCodecs(t *testing.T) {
	eng := newEngine(t)
	for _, pair := range [][2]string{{"PCMU", "G722"}, {"PCMA", "opus"}, {"G722", "opus"}, {"PCMU", "PCMU"}} {
		t.Run(pair[0]+"-"+pair[1], func(t *testing.T) {
			ca, cb := testCodecs[pair[0]], testCodecs[pair[1]]
			aNear, aFar := newLeg(t, eng, ca.c, ca.pt)
			bNear, bFar := newLeg(t, eng, cb.c, cb.pt)
			br, err := New(aNear, bNear)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- br.Run(ctx) }()
			go playTone(ctx, aFar, 1000)
			go playTone(ctx, bFar, 600)
			atB, atA := &recorder{}, &recorder{}
			defer bFar.AddSink(atB)()
			defer aFar.AddSink(atA)()
			settle(400 * time.Millisecond)
			atB.take()
			atA.take()
			settle(600 * time.Millisecond)
			if f := toneFrames(atB.take(), bFar.SampleRate(), 1000); f < 0.6 {
				t.Errorf("A's 1 kHz at B (%s): in %.0f%% of the frames", pair[1], 100*f)
			}
			if f := toneFrames(atA.take(), aFar.SampleRate(), 600); f < 0.6 {
				t.Errorf("B's 600 Hz at A (%s): in %.0f%% of the frames", pair[0], 100*f)
			}
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
			ab, ba := br.Stats()
			if ab.Frames == 0 || ba.Frames == 0 {
				t.Errorf("stats %+v %+v", ab, ba)
			}
			t.Logf("A→B %+v, B→A %+v", ab, ba)
		})
	}
}

// TestBridgeDTMF: a key pressed at A's far end (RFC 4733) is regenerated toward B
// and B's far end reports it once; one pressed at B reaches A.
func TestBridgeDTMF(t *testing.T) {
	eng := newEngine(t)
	aNear, aFar := newLeg(t, eng, codec.PCMU, 0)
	bNear, bFar := newLeg(t, eng, codec.G722, 9)
	br, _ := New(aNear, bNear, WithDTMF(media.DTMFRFC4733))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- br.Run(ctx) }()
	expect := func(s *media.Session, want byte) {
		t.Helper()
		select {
		case d := <-s.Digits():
			if d != want {
				t.Errorf("digit %q, want %q", d, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("digit %q never arrived", want)
		}
	}
	if err := aFar.SendDigits(ctx, "5", media.DTMFRFC4733); err != nil {
		t.Fatal(err)
	}
	expect(bFar, '5')
	if err := bFar.SendDigits(ctx, "#", media.DTMFRFC4733); err != nil {
		t.Fatal(err)
	}
	expect(aFar, '#')
	select {
	case d := <-bFar.Digits():
		t.Errorf("extra digit %q at B", d)
	case <-time.After(300 * time.Millisecond):
	}
	cancel()
	<-done
}

// TestBridgeSessionClosed: when one leg's session closes (its call ended), Run
// returns a ClosedError naming that side.
func TestBridgeSessionClosed(t *testing.T) {
	eng := newEngine(t)
	aNear, _ := newLeg(t, eng, codec.PCMU, 0)
	bNear, _ := newLeg(t, eng, codec.PCMU, 0)
	br, _ := New(aNear, bNear)
	done := make(chan error, 1)
	go func() { done <- br.Run(context.Background()) }()
	settle(100 * time.Millisecond)
	bNear.Close()
	select {
	case err := <-done:
		var ce *ClosedError
		if !errors.As(err, &ce) || ce.Side != SideB || !errors.Is(err, ErrSessionClosed) {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after B closed")
	}
}
