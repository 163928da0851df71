package cloudevents

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// StreamReader reads JSON-encoded events one at a time from a stream holding
// objects one after another (e.g. one per line), JSON arrays of objects, or a
// mix of both, without loading the whole stream.
type StreamReader struct {
	br      *bufio.Reader
	dec     *json.Decoder
	inArray bool
	n       int
}

// NewStreamReader reads events from r.
func NewStreamReader(r io.Reader) *StreamReader {
	br := bufio.NewReaderSize(r, 64<<10)
	return &StreamReader{br: br, dec: json.NewDecoder(br)}
}

// Next returns the next event's raw JSON, or io.EOF at the end of the stream.
func (s *StreamReader) Next() (json.RawMessage, error) {
	for {
		if s.inArray {
			if s.dec.More() {
				return s.value()
			}
			if _, err := s.dec.Token(); err != nil { // the closing ]
				return nil, s.wrap(err)
			}
			s.inArray = false
			continue
		}
		tok, err := s.peek()
		if err != nil {
			return nil, err
		}
		if tok == '[' {
			if _, err := s.dec.Token(); err != nil {
				return nil, s.wrap(err)
			}
			s.inArray = true
			continue
		}
		return s.value()
	}
}

func (s *StreamReader) value() (json.RawMessage, error) {
	var raw json.RawMessage
	if err := s.dec.Decode(&raw); err != nil {
		return nil, s.wrap(err)
	}
	s.n++
	return raw, nil
}

// peek returns the next non-space byte the decoder will read, or io.EOF.
func (s *StreamReader) peek() (byte, error) {
	// The decoder buffers ahead of s.br, so look at its buffer first.
	buffered := s.dec.Buffered()
	for {
		var b [1]byte
		n, err := buffered.Read(b[:])
		if n == 1 {
			if isSpace(b[0]) {
				continue
			}
			return b[0], nil
		}
		if err != nil {
			break
		}
	}
	for {
		b, err := s.br.Peek(1)
		if err != nil {
			if errors.Is(err, io.EOF) {
				return 0, io.EOF
			}
			return 0, err
		}
		if !isSpace(b[0]) {
			return b[0], nil
		}
		s.br.Discard(1)
	}
}

func (s *StreamReader) wrap(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return fmt.Errorf("cloudevents: event %d: %w", s.n+1, err)
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }
