package vosk

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/hotline-ivr/hotline/asr"
)

// message is what the server sends: a partial hypothesis, or a result
// (the final one after EOF, or a segment the server's own endpointing
// closed mid-stream).
type message struct {
	Partial *string `json:"partial"`
	Text    *string `json:"text"`
	Result  []struct {
		Word  string  `json:"word"`
		Start float64 `json:"start"`
		End   float64 `json:"end"`
		Conf  float64 `json:"conf"`
	} `json:"result"`
}

// stream is one utterance on one connection. The session goroutine calls
// Write, Finish and Close; the reader goroutine reads the server's
// answers. mu guards what they share.
type stream struct {
	conn        *websocket.Conn
	url         string
	readTimeout time.Duration
	partial     func(asr.Result)
	chunk       []byte // audio not sent yet
	stopReader  context.CancelFunc
	readerDone  chan struct{}
	final       chan struct{} // closed when the answer to EOF arrived
	closed      bool

	mu       sync.Mutex
	pending  int       // messages sent and not answered yet
	silentAt time.Time // when the oldest unanswered message was sent (since the last answer)
	eofSent  bool
	err      error // why the reader stopped early
	segments []string
	words    []asr.Word
}

// read runs on the reader goroutine until the final answer, an error or
// Close.
func (s *stream) read(ctx context.Context) {
	defer close(s.readerDone)
	for {
		typ, data, err := s.conn.Read(ctx)
		if err != nil {
			s.mu.Lock()
			if s.eofSent && websocket.CloseStatus(err) == websocket.StatusNormalClosure && s.pending <= 1 {
				// A server that closes right after its last answer (or
				// instead of it) has said all it will.
				s.mu.Unlock()
				close(s.final)
				return
			}
			if ctx.Err() == nil {
				s.err = fmt.Errorf("vosk: connection to %s: %w", s.url, err)
			}
			s.mu.Unlock()
			return
		}
		if typ != websocket.MessageText {
			s.fail(errors.New("vosk: server sent a binary message"))
			return
		}
		var m message
		if err := json.Unmarshal(data, &m); err != nil || (m.Partial == nil && m.Text == nil) {
			s.fail(fmt.Errorf("vosk: server sent something that is not a result: %.80q", data))
			return
		}
		s.mu.Lock()
		s.pending--
		s.silentAt = time.Time{}
		if s.pending > 0 {
			s.silentAt = time.Now()
		}
		if m.Text != nil {
			if t := clean(*m.Text); t != "" {
				s.segments = append(s.segments, t)
			}
			for _, w := range m.Result {
				if w.Word == unknownWord {
					continue
				}
				s.words = append(s.words, asr.Word{
					Text:       w.Word,
					Start:      seconds(w.Start),
					End:        seconds(w.End),
					Confidence: min(max(w.Conf, 0), 1),
				})
			}
		}
		text := strings.Join(s.segments, " ")
		done := s.eofSent && s.pending <= 0
		s.mu.Unlock()
		if m.Partial != nil {
			if p := clean(*m.Partial); p != "" {
				s.partial(asr.Result{Text: strings.TrimSpace(text + " " + p)})
			}
		}
		if done {
			close(s.final)
			return
		}
	}
}

// fail records a protocol error and closes the connection, which also
// unblocks a Write waiting on it.
func (s *stream) fail(err error) {
	s.mu.Lock()
	s.err = err
	s.mu.Unlock()
	s.conn.CloseNow()
}

// clean removes Vosk's unknown-word marker and extra spaces.
func clean(text string) string {
	f := strings.Fields(text)
	out := f[:0]
	for _, w := range f {
		if w != unknownWord {
			out = append(out, w)
		}
	}
	return strings.Join(out, " ")
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// check returns the reader's error, or a timeout if the server has owed
// an answer for longer than the read timeout.
func (s *stream) check() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	if s.pending > 0 && !s.silentAt.IsZero() && time.Since(s.silentAt) > s.readTimeout {
		return s.stalled()
	}
	return nil
}

func (s *stream) stalled() error {
	return fmt.Errorf("vosk: %s sent nothing for %v: %w", s.url, s.readTimeout, asr.ErrTimeout)
}

// send writes one message, waiting at most the read timeout (a server
// that stopped reading fills the socket buffers and blocks us).
func (s *stream) send(ctx context.Context, typ websocket.MessageType, data []byte, answered bool) error {
	if answered {
		s.mu.Lock()
		if s.pending == 0 {
			s.silentAt = time.Now()
		}
		s.pending++
		s.mu.Unlock()
	}
	wctx, cancel := context.WithTimeout(ctx, s.readTimeout)
	defer cancel()
	if err := s.conn.Write(wctx, typ, data); err != nil {
		if rerr := s.check(); rerr != nil {
			return rerr
		}
		if wctx.Err() != nil && ctx.Err() == nil {
			return fmt.Errorf("vosk: sending to %s blocked for %v: %w", s.url, s.readTimeout, asr.ErrTimeout)
		}
		return fmt.Errorf("vosk: sending to %s: %w", s.url, err)
	}
	return nil
}

// Write sends the audio in chunks as 16-bit little-endian PCM.
func (s *stream) Write(ctx context.Context, pcm []int16) error {
	if err := s.check(); err != nil {
		return err
	}
	for _, v := range pcm {
		s.chunk = binary.LittleEndian.AppendUint16(s.chunk, uint16(v))
		if len(s.chunk) == cap(s.chunk) {
			if err := s.send(ctx, websocket.MessageBinary, s.chunk, true); err != nil {
				return err
			}
			s.chunk = s.chunk[:0]
		}
	}
	return nil
}

// Finish sends the rest of the audio and EOF, then waits for the final
// result, for at most the read timeout of silence from the server.
func (s *stream) Finish(ctx context.Context) (asr.Result, error) {
	if len(s.chunk) > 0 {
		if err := s.send(ctx, websocket.MessageBinary, s.chunk, true); err != nil {
			return asr.Result{}, err
		}
		s.chunk = s.chunk[:0]
	}
	s.mu.Lock()
	s.eofSent = true
	s.mu.Unlock()
	if err := s.send(ctx, websocket.MessageText, []byte(eofMessage), true); err != nil {
		return asr.Result{}, err
	}
	timer := time.NewTimer(s.readTimeout)
	defer timer.Stop()
	for {
		select {
		case <-s.final:
			return s.result(), nil
		case <-s.readerDone:
			select {
			case <-s.final:
				return s.result(), nil
			default:
			}
			if err := s.check(); err != nil {
				return asr.Result{}, err
			}
			return asr.Result{}, fmt.Errorf("vosk: %s closed the connection before the final result", s.url)
		case <-ctx.Done():
			return asr.Result{}, ctx.Err()
		case <-timer.C:
			if err := s.check(); err != nil {
				return asr.Result{}, err
			}
			timer.Reset(s.readTimeout / 4)
		}
	}
}

// result assembles the final result from the segments received. The
// confidence is the mean of the words' "conf"; a server that sends text
// without words gives no confidence, reported as 1 for non-empty text.
func (s *stream) result() asr.Result {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := asr.Result{Text: strings.Join(s.segments, " "), Words: s.words}
	switch {
	case r.Text == "":
	case len(s.words) == 0:
		r.Confidence = 1
	default:
		var sum float64
		for _, w := range s.words {
			sum += w.Confidence
		}
		r.Confidence = sum / float64(len(s.words))
	}
	return r
}

// Close drops the connection and waits for the reader goroutine.
func (s *stream) Close() error {
	if s.closed {
		return nil
	}
	s.closed = true
	s.stopReader()
	s.conn.CloseNow()
	<-s.readerDone
	return nil
}
