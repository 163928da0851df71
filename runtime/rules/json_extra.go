package rules

// Extra holds the members of one object that its schema does not name but
// allows (no "additionalProperties": false), as they were sent: each its
// name's literal and its raw value, in input order. Generated decoders fill
// it and AppendJSON writes it back after the named members, so that a
// stored event keeps everything the producer sent and the schema accepted.
//
// Generated structs hold it in an unexported field, so GRL rules (compiled
// or run by grule's interpreter) never see it: a rule cannot name it, and
// grule reaches fields by name only.
//
// The values are checked as the rest of data is (Lexer.ReadExtra): valid
// UTF-8 without unpaired surrogates in every string and member name, no
// member twice in any object, nesting within the lexer's depth limit. The
// zero value is empty; Reset keeps the capacity, so a pooled fact reuses it.
type Extra struct {
	// raw is the members, each `"name":value` as sent (the name's literal
	// with its escapes, the value with its inner whitespace), joined by
	// commas.
	raw []byte
	// names holds the unescaped names one after another, for the
	// duplicate check and Name.
	names []byte
	ends  []extraEnd
	// index finds names once there are many; nil until then.
	index map[string]struct{}
}

// extraEnd records where a member ends in names and raw, and where its
// value starts in raw.
type extraEnd struct{ name, value, member int }

// indexFrom is the member count from which duplicates are found by map
// rather than by scanning, so that a hostile object of 10⁵ members costs
// linear time.
const indexFrom = 16

// Len is the number of members.
func (e *Extra) Len() int { return len(e.ends) }

// Name returns the unescaped name of member i.
func (e *Extra) Name(i int) string {
	from := 0
	if i > 0 {
		from = e.ends[i-1].name
	}
	return string(e.names[from:e.ends[i].name])
}

// Value returns the raw JSON value of member i as sent. It aliases e.
func (e *Extra) Value(i int) []byte { return e.raw[e.ends[i].value:e.ends[i].member] }

// Reset empties e, keeping its capacity.
func (e *Extra) Reset() {
	e.raw, e.names, e.ends = e.raw[:0], e.names[:0], e.ends[:0]
	clear(e.index)
}

// has reports whether a member named name is already held.
func (e *Extra) has(name []byte) bool {
	if e.index != nil {
		_, ok := e.index[string(name)]
		return ok
	}
	from := 0
	for _, end := range e.ends {
		if string(e.names[from:end.name]) == string(name) {
			return true
		}
		from = end.name
	}
	return false
}

// add appends a member whose unescaped name is already at the end of
// e.names: its name's literal and its raw value.
func (e *Extra) add(literal, value []byte) {
	if len(e.raw) > 0 {
		e.raw = append(e.raw, ',')
	}
	e.raw = append(append(e.raw, literal...), ':')
	valueAt := len(e.raw)
	e.raw = append(e.raw, value...)
	e.ends = append(e.ends, extraEnd{name: len(e.names), value: valueAt, member: len(e.raw)})
	switch {
	case e.index != nil:
		e.index[e.Name(len(e.ends)-1)] = struct{}{}
	case len(e.ends) >= indexFrom:
		e.index = make(map[string]struct{}, 2*indexFrom)
		for i := range e.ends {
			e.index[e.Name(i)] = struct{}{}
		}
	}
}

// AppendMembers appends the members to dst, preceded by a comma when comma
// is true (members were written before them); with no members it appends
// nothing.
func (e *Extra) AppendMembers(dst []byte, comma bool) []byte {
	if len(e.raw) == 0 {
		return dst
	}
	if comma {
		dst = append(dst, ',')
	}
	return append(dst, e.raw...)
}

// ReadExtra reads the current member, which the schema of the object at p
// does not name but allows, into e. Its value is checked as CheckValue does;
// a refused name or value is a violation and the member is not kept.
func (l *Lexer) ReadExtra(e *Extra, p *JSONPath, v *Violations) {
	kp := l.keyPath(p)
	switch {
	case l.keyBad != "":
		l.skipReporting(&kp, l.keyBad, v)
		return
	case e.has(l.key):
		l.skipReporting(&kp, Duplicate, v)
		return
	}
	if _, ok := l.peek(); !ok {
		return
	}
	// The unescaped name may live in l.buf, which the value's strings
	// overwrite: it goes to e.names first, and is taken back if the value
	// is refused.
	names := len(e.names)
	e.names = append(e.names, l.key...)
	literal := l.data[l.keyStart:l.keyEnd]
	from, before := l.pos, v.Len()
	l.CheckValue(&kp, v)
	if l.err != nil || v.Len() != before {
		e.names = e.names[:names]
		return
	}
	e.add(literal, l.data[from:l.pos])
}

// skipReporting skips the current value and records why at p, unless the
// value turned out malformed.
func (l *Lexer) skipReporting(p *JSONPath, why string, v *Violations) {
	l.Skip()
	if l.err == nil {
		v.Add(p.String(), why)
	}
}

// CheckValue reads one value of any type, as Skip does, and records as
// violations under p what the stored event must not hold: a string or
// member name that is not valid UTF-8 or has an unpaired surrogate escape,
// and a member that appears twice in an object. Nesting is bounded by the
// lexer's depth limit (a syntax error beyond it), the envelope's limit.
//
// The walk keeps the path rendered in l.path rather than as a chain of
// JSONPath values: a pointer passed down a recursion escapes to the heap,
// and so would every generated decoder's path that reaches ReadExtra.
func (l *Lexer) CheckValue(p *JSONPath, v *Violations) {
	l.path = p.appendTo(l.path[:0])
	l.checkValue(v)
}

// checkValue checks the value at l.path.
func (l *Lexer) checkValue(v *Violations) {
	c, ok := l.peek()
	if !ok {
		return
	}
	switch c {
	case '{':
		l.checkObject(v)
	case '[':
		if !l.open() {
			return
		}
		n := len(l.path)
		for i := 0; l.NextItem(); i++ {
			l.path = appendIndex(l.path[:n], i)
			l.checkValue(v)
		}
		l.path = l.path[:n]
	case '"':
		if _, ok := l.str(); ok && l.bad != "" {
			v.Add(string(l.path), l.bad)
		}
	default:
		l.Skip()
	}
	l.first = false
}

// checkObject checks an object's members for checkValue.
func (l *Lexer) checkObject(v *Violations) {
	if !l.open() {
		return
	}
	n := len(l.path)
	var seen memberSet
	for l.NextKey() {
		name := string(l.key)
		if l.keyBad != "" {
			name = string(l.data[l.keyStart+1 : l.keyEnd-1])
		}
		l.path = appendKey(l.path[:n], name)
		switch {
		case l.keyBad != "":
			l.skipAt(l.keyBad, v)
		case !seen.add(name):
			l.skipAt(Duplicate, v)
		default:
			l.checkValue(v)
		}
	}
	l.path = l.path[:n]
}

// skipAt skips the current value and records why at l.path.
func (l *Lexer) skipAt(why string, v *Violations) {
	l.Skip()
	if l.err == nil {
		v.Add(string(l.path), why)
	}
}

// memberSet is the set of names seen in one object, scanned while small.
type memberSet struct {
	list []string
	m    map[string]struct{}
}

// add adds name and reports whether it was new.
func (s *memberSet) add(name string) bool {
	if s.m != nil {
		if _, ok := s.m[name]; ok {
			return false
		}
		s.m[name] = struct{}{}
		return true
	}
	for _, n := range s.list {
		if n == name {
			return false
		}
	}
	s.list = append(s.list, name)
	if len(s.list) >= indexFrom {
		s.m = make(map[string]struct{}, 2*indexFrom)
		for _, n := range s.list {
			s.m[n] = struct{}{}
		}
	}
	return true
}
