package rules

import "strconv"

// JSONPath is the location of a value in an event's data, built on the stack
// as generated decoders and validators descend, and rendered (allocating)
// only when a violation is recorded. The nil *JSONPath is the root, "$".
type JSONPath struct {
	parent *JSONPath
	key    string
	index  int // -1 for a key
}

// Key returns the path of property key of the object at p.
func (p *JSONPath) Key(key string) JSONPath { return JSONPath{parent: p, key: key, index: -1} }

// Index returns the path of element i of the array at p.
func (p *JSONPath) Index(i int) JSONPath { return JSONPath{parent: p, index: i} }

// String renders the path as in "$.items[2].sku"; keys that are not simple
// identifiers are quoted: $["unit price"].
func (p *JSONPath) String() string { return string(p.appendTo(make([]byte, 0, 32))) }

// appendTo renders recursively, so that no pointer to the (stack-allocated)
// path is ever stored and paths stay off the heap.
func (p *JSONPath) appendTo(b []byte) []byte {
	if p == nil {
		return append(b, '$')
	}
	b = p.parent.appendTo(b)
	if p.index >= 0 {
		return appendIndex(b, p.index)
	}
	return appendKey(b, p.key)
}

// appendIndex appends the path segment of element i: [i].
func appendIndex(b []byte, i int) []byte {
	b = append(b, '[')
	b = strconv.AppendInt(b, int64(i), 10)
	return append(b, ']')
}

// appendKey appends the path segment of member key: .key, or ["key"]
// quoted when it is not a simple identifier.
func appendKey(b []byte, key string) []byte {
	if isSimpleKey(key) {
		b = append(b, '.')
		return append(b, key...)
	}
	b = append(b, '[')
	b = strconv.AppendQuote(b, key)
	return append(b, ']')
}

func isSimpleKey(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || i > 0 && '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// AddAt records a violation at path p.
func (vs *Violations) AddAt(p *JSONPath, msg string) { vs.Add(p.String(), msg) }

// AddKey records a violation at property key of the object at p.
func (vs *Violations) AddKey(p *JSONPath, key, msg string) {
	kp := p.Key(key)
	vs.Add(kp.String(), msg)
}

// AddIndex records a violation at element i of the array at p.
func (vs *Violations) AddIndex(p *JSONPath, i int, msg string) {
	ip := p.Index(i)
	vs.Add(ip.String(), msg)
}

// KeepCap returns s emptied but with its capacity, for generated Reset
// methods; a slice without capacity becomes nil, so that the decoder can
// tell an array this event left out (nil) from an empty one it sent.
func KeepCap[T any](s []T) []T {
	if cap(s) == 0 {
		return nil
	}
	return s[:0]
}
