// Command gofastguest is the Go guest's summary written the fast way: a
// byte scanner over the event instead of encoding/json (whose reflection,
// compiled to wasm, costs the Go guest ~50× native), reused buffers, and
// nothing allocated per event once they have grown. Same output as
// testdata/goguest but "guest":"go-fast". Build it as a reactor:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o guest.wasm .
package main

import "unsafe"

//go:wasmimport env emit
func emit(ptr, n uint32) uint32

var (
	in   []byte   // the input buffer, reused between events
	out  []byte   // the output buffer, reused
	keys [][]byte // the data's member names, reused
)

//go:wasmexport alloc
func alloc(n uint32) uint32 {
	if uint32(cap(in)) < n {
		in = make([]byte, n)
	}
	in = in[:n]
	return uint32(uintptr(unsafe.Pointer(unsafe.SliceData(in))))
}

//go:wasmexport handle
func handle(ptr, n uint32) uint32 {
	ev := unsafe.Slice((*byte)(unsafe.Pointer(uintptr(ptr))), n)
	s := scanner{b: ev}
	var id, typ, tenant []byte
	keys = keys[:0]
	ok := s.members(func(name []byte) bool {
		switch string(name) { // no allocation: the compiler compares in place
		case "id":
			id = s.str()
			return id != nil
		case "type":
			typ = s.str()
			return typ != nil
		case "tenantid":
			tenant = s.str()
			return tenant != nil
		case "data":
			if s.peek() == '{' {
				return s.members(func(k []byte) bool { keys = append(keys, k); return s.skip() })
			}
		}
		return s.skip()
	})
	if !ok {
		return 1
	}
	sortKeys(keys)
	out = append(out[:0], `{"source_id":"`...)
	out = append(append(out, id...), `","type":"`...)
	out = append(append(out, typ...), `","tenant":"`...)
	out = append(append(out, tenant...), `","keys":"`...)
	for i, k := range keys {
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, k...)
	}
	out = append(out, `","guest":"go-fast"}`...)
	if emit(uint32(uintptr(unsafe.Pointer(&out[0]))), uint32(len(out))) != 0 {
		return 2
	}
	return 0
}

// scanner walks one JSON document; its methods report malformed input as
// false (or a nil string).
type scanner struct {
	b []byte
	i int
}

func (s *scanner) ws() {
	for s.i < len(s.b) && (s.b[s.i] == ' ' || s.b[s.i] == '\t' || s.b[s.i] == '\n' || s.b[s.i] == '\r') {
		s.i++
	}
}

func (s *scanner) peek() byte {
	s.ws()
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

// str returns a string's raw contents, between its quotes.
func (s *scanner) str() []byte {
	if s.peek() != '"' {
		return nil
	}
	start := s.i + 1
	for s.i = start; s.i < len(s.b) && s.b[s.i] != '"'; s.i++ {
		if s.b[s.i] == '\\' {
			s.i++
		}
	}
	if s.i >= len(s.b) {
		return nil
	}
	s.i++
	return s.b[start : s.i-1 : s.i-1]
}

// members calls f for each member of an object, with the scanner at the
// member's value, which f consumes.
func (s *scanner) members(f func(name []byte) bool) bool {
	if s.peek() != '{' {
		return false
	}
	s.i++
	if s.peek() == '}' {
		s.i++
		return true
	}
	for {
		name := s.str()
		if name == nil || s.peek() != ':' {
			return false
		}
		s.i++
		if !f(name) {
			return false
		}
		switch s.peek() {
		case ',':
			s.i++
		case '}':
			s.i++
			return true
		default:
			return false
		}
	}
}

// skip consumes one value of any kind.
func (s *scanner) skip() bool {
	switch s.peek() {
	case '"':
		return s.str() != nil
	case '{':
		return s.members(func([]byte) bool { return s.skip() })
	case '[':
		s.i++
		if s.peek() == ']' {
			s.i++
			return true
		}
		for {
			if !s.skip() {
				return false
			}
			switch s.peek() {
			case ',':
				s.i++
			case ']':
				s.i++
				return true
			default:
				return false
			}
		}
	case 0:
		return false
	}
	start := s.i
	for s.i < len(s.b) && s.b[s.i] != ',' && s.b[s.i] != '}' && s.b[s.i] != ']' && s.b[s.i] != ' ' && s.b[s.i] != '\n' && s.b[s.i] != '\t' && s.b[s.i] != '\r' {
		s.i++
	}
	return s.i > start
}

// sortKeys is an insertion sort (a handful of keys; no package sort).
func sortKeys(k [][]byte) {
	for i := 1; i < len(k); i++ {
		for j := i; j > 0 && string(k[j]) < string(k[j-1]); j-- {
			k[j], k[j-1] = k[j-1], k[j]
		}
	}
}

func main() {}
