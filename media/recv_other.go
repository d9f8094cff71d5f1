//go:build !linux

package media

import "time"

// plainReader is the receive loop's reader where recvmmsg is not available: one
// ReadFromUDPAddrPort per datagram.
type plainReader struct {
	s   *Session
	st  *rxState
	buf []byte
}

// newReader returns the session's RTP socket reader.
func newReader(s *Session, st *rxState) (reader, error) {
	return &plainReader{s: s, st: st, buf: make([]byte, receiveBuffer)}, nil
}

// read hands one datagram to handlePacket, or returns the socket's error (its
// deadline, or net.ErrClosed).
func (r *plainReader) read(time.Time) error {
	n, from, err := r.s.conn.ReadFromUDPAddrPort(r.buf)
	if err == nil {
		r.s.handlePacket(r.buf[:n], from, time.Now(), r.st)
	}
	return err
}
