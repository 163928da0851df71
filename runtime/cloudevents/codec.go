package cloudevents

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"unicode/utf8"
)

// The structured CloudEvent on the streams, encoded and decoded without
// reflection: every event crosses ER_PROC and its tenant stream as one, and
// encoding/json over a map costs several microseconds and dozens of
// allocations per event. The output is the structured format of
// ParseStructured; decoding accepts everything it accepts.

// Extension is an extension attribute added when encoding an event.
type Extension struct {
	Name string
	// Value is the attribute value: a string, or when Raw a JSON literal
	// (true, 42) written verbatim.
	Value string
	Raw   bool
}

// Append appends ev in the structured JSON format with data (already
// JSON; nil omits it) as its data and extra after ev's own extensions. An
// extension of ev named like one in extra is left out, so producers cannot
// forge eventrunner's processing attributes. ev's extensions are written in
// name order, so the output is deterministic.
func Append(dst []byte, ev *Event, data []byte, extra []Extension) []byte {
	dst = append(dst, `{"specversion":`...)
	dst = appendString(dst, ev.SpecVersion)
	dst = appendAttr(dst, "id", ev.ID, true)
	dst = appendAttr(dst, "source", ev.Source, true)
	dst = appendAttr(dst, "type", ev.Type, true)
	dst = appendAttr(dst, "subject", ev.Subject, false)
	dst = appendAttr(dst, "time", ev.Time, false)
	dst = appendAttr(dst, "datacontenttype", ev.DataContentType, false)
	dst = appendAttr(dst, "dataschema", ev.DataSchema, false)
	dst = appendAttr(dst, "tenantid", ev.TenantID, false)
	if len(ev.Extensions) > 0 {
		names := make([]string, 0, len(ev.Extensions))
		for k := range ev.Extensions {
			if !slices.ContainsFunc(extra, func(x Extension) bool { return x.Name == k }) {
				names = append(names, k)
			}
		}
		slices.Sort(names)
		for _, k := range names {
			dst = append(dst, ',')
			dst = appendString(dst, k)
			dst = append(dst, ':')
			dst = append(dst, ev.Extensions[k]...)
		}
	}
	for _, x := range extra {
		if x.Raw {
			dst = append(dst, ',')
			dst = appendString(dst, x.Name)
			dst = append(dst, ':')
			dst = append(dst, x.Value...)
		} else {
			dst = appendAttr(dst, x.Name, x.Value, true)
		}
	}
	if data != nil {
		dst = append(dst, `,"data":`...)
		dst = append(dst, data...)
	}
	return append(dst, '}')
}

func appendAttr(dst []byte, name, value string, always bool) []byte {
	if value == "" && !always {
		return dst
	}
	dst = append(dst, ',', '"')
	dst = append(dst, name...)
	dst = append(dst, '"', ':')
	return appendString(dst, value)
}

// appendString appends s as a JSON string, replacing invalid UTF-8 with
// U+FFFD as encoding/json does.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigit[c>>4], hexDigit[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

const hexDigit = "0123456789abcdef"

// Parse decodes a structured CloudEvent into ev, which it resets
// first. It does not check the attributes (see Event.Check):
// events on ER_PROC were checked when they entered. ev.Data and the
// extension values alias b.
func Parse(b []byte, ev *Event) error {
	*ev = Event{}
	p := parser{b: b}
	p.ws()
	if !p.eat('{') {
		return p.fail("expected a JSON object")
	}
	p.ws()
	if p.eat('}') {
		return p.end()
	}
	// A bad attribute is reported once the whole input is known to be JSON,
	// so that malformed input is always a syntax error.
	var attrErr error
	for {
		p.ws()
		key, err := p.str()
		if err != nil {
			return err
		}
		p.ws()
		if !p.eat(':') {
			return p.fail("expected ':' after object key")
		}
		p.ws()
		start := p.i
		if err := p.skip(0); err != nil {
			return err
		}
		if err := setAttr(ev, key, b[start:p.i]); err != nil && attrErr == nil {
			attrErr = err
		}
		p.ws()
		if p.eat('}') {
			if err := p.end(); err != nil {
				return err
			}
			return attrErr
		}
		if !p.eat(',') {
			return p.fail("expected ',' or '}' after object value")
		}
	}
}

// setAttr assigns one attribute from its raw JSON value, as
// ParseStructured does (null leaves an attribute unset).
func setAttr(ev *Event, k string, v []byte) error {
	var dst *string
	switch k {
	case "specversion":
		dst = &ev.SpecVersion
	case "id":
		dst = &ev.ID
	case "source":
		dst = &ev.Source
	case "type":
		dst = &ev.Type
	case "subject":
		dst = &ev.Subject
	case "time":
		dst = &ev.Time
	case "datacontenttype":
		dst = &ev.DataContentType
	case "dataschema":
		dst = &ev.DataSchema
	case "tenantid":
		dst = &ev.TenantID
	case "data":
		ev.Data = nil
		if string(v) != "null" {
			ev.Data = v
		}
		return nil
	case "data_base64":
		return setBase64(ev, v)
	default:
		if ev.Extensions == nil {
			ev.Extensions = make(map[string]json.RawMessage, 4)
		}
		ev.Extensions[k] = v
		return nil
	}
	if string(v) == "null" {
		return nil
	}
	s, ok := stringValue(v)
	if !ok {
		return &AttributeError{Attribute: k, Reason: "must be a string"}
	}
	*dst = s
	return nil
}

func setBase64(ev *Event, v []byte) error {
	s, ok := stringValue(v)
	if !ok {
		return &AttributeError{Attribute: "data_base64", Reason: "must be a base64 string"}
	}
	d, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return &AttributeError{Attribute: "data_base64", Reason: "invalid base64: " + err.Error()}
	}
	if !json.Valid(d) {
		return &AttributeError{Attribute: "data_base64", Reason: "must decode to JSON data"}
	}
	ev.Data = d
	return nil
}

// stringValue decodes a JSON string already known to be well formed.
func stringValue(v []byte) (string, bool) {
	if len(v) < 2 || v[0] != '"' {
		return "", false
	}
	inner := v[1 : len(v)-1]
	for _, c := range inner {
		if c == '\\' || c >= utf8.RuneSelf {
			var s string
			if err := json.Unmarshal(v, &s); err != nil {
				return "", false
			}
			return s, true
		}
	}
	return string(inner), true
}

// parser scans JSON, validating as encoding/json does.
type parser struct {
	b []byte
	i int
}

// maxDepth bounds nesting like encoding/json.
const maxDepth = 10000

// SyntaxError is malformed JSON in a structured event.
type SyntaxError struct {
	Offset int
	Msg    string
}

func (e *SyntaxError) Error() string {
	return "cloudevent: invalid JSON at offset " + strconv.Itoa(e.Offset) + ": " + e.Msg
}

func (p *parser) fail(msg string) error {
	if p.i >= len(p.b) {
		msg = "unexpected end of input: " + msg
	}
	return &SyntaxError{Offset: p.i, Msg: msg}
}

func (p *parser) end() error {
	p.ws()
	if p.i != len(p.b) {
		return p.fail("unexpected data after the event object")
	}
	return nil
}

func (p *parser) ws() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *parser) eat(c byte) bool {
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

// str reads an object key.
func (p *parser) str() (string, error) {
	start := p.i
	if err := p.skipString(); err != nil {
		return "", err
	}
	s, ok := stringValue(p.b[start:p.i])
	if !ok {
		return "", &SyntaxError{Offset: start, Msg: "invalid object key"}
	}
	return s, nil
}

// skip moves past one JSON value.
func (p *parser) skip(depth int) error {
	if p.i >= len(p.b) {
		return p.fail("expected a value")
	}
	switch c := p.b[p.i]; {
	case c == '"':
		return p.skipString()
	case c == '{' || c == '[':
		if depth >= maxDepth {
			return p.fail("exceeded max depth")
		}
		return p.skipComposite(c, depth+1)
	case c == '-' || c >= '0' && c <= '9':
		return p.skipNumber()
	case c == 't':
		return p.literal("true")
	case c == 'f':
		return p.literal("false")
	case c == 'n':
		return p.literal("null")
	}
	return p.fail(fmt.Sprintf("invalid character %q looking for a value", p.b[p.i]))
}

func (p *parser) skipComposite(open byte, depth int) error {
	closer := byte(']')
	if open == '{' {
		closer = '}'
	}
	p.i++
	p.ws()
	if p.eat(closer) {
		return nil
	}
	for {
		p.ws()
		if open == '{' {
			if p.i >= len(p.b) || p.b[p.i] != '"' {
				return p.fail("expected a string object key")
			}
			if err := p.skipString(); err != nil {
				return err
			}
			p.ws()
			if !p.eat(':') {
				return p.fail("expected ':' after object key")
			}
			p.ws()
		}
		if err := p.skip(depth); err != nil {
			return err
		}
		p.ws()
		if p.eat(closer) {
			return nil
		}
		if !p.eat(',') {
			return p.fail(fmt.Sprintf("expected ',' or '%c'", closer))
		}
	}
}

func (p *parser) skipString() error {
	if !p.eat('"') {
		return p.fail("expected a string")
	}
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			p.i++
			return nil
		case c < 0x20:
			return p.fail("control character in string")
		case c == '\\':
			p.i++
			if p.i >= len(p.b) {
				return p.fail("unterminated escape")
			}
			switch p.b[p.i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				p.i++
			case 'u':
				p.i++
				for k := 0; k < 4; k++ {
					if p.i >= len(p.b) || !isHexDigit(p.b[p.i]) {
						return p.fail("invalid \\u escape")
					}
					p.i++
				}
			default:
				return p.fail("invalid escape")
			}
		default:
			p.i++
		}
	}
	return p.fail("unterminated string")
}

func isHexDigit(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func (p *parser) skipNumber() error {
	p.eat('-')
	switch {
	case p.eat('0'):
	case p.i < len(p.b) && p.b[p.i] >= '1' && p.b[p.i] <= '9':
		p.digits()
	default:
		return p.fail("invalid number")
	}
	if p.eat('.') {
		if p.digits() == 0 {
			return p.fail("expected digits after the decimal point")
		}
	}
	if p.i < len(p.b) && (p.b[p.i] == 'e' || p.b[p.i] == 'E') {
		p.i++
		if !p.eat('+') {
			p.eat('-')
		}
		if p.digits() == 0 {
			return p.fail("expected digits in the exponent")
		}
	}
	return nil
}

func (p *parser) digits() int {
	start := p.i
	for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
		p.i++
	}
	return p.i - start
}

func (p *parser) literal(lit string) error {
	if len(p.b)-p.i < len(lit) || string(p.b[p.i:p.i+len(lit)]) != lit {
		return p.fail("invalid literal")
	}
	p.i += len(lit)
	return nil
}

// SplitArray returns the elements of a JSON array (a batch of structured
// events) as slices of b, checking the array's syntax but leaving the
// elements to Parse.
func SplitArray(b []byte) ([][]byte, error) {
	p := parser{b: b}
	p.ws()
	if !p.eat('[') {
		return nil, p.fail("expected a JSON array")
	}
	var out [][]byte
	p.ws()
	if p.eat(']') {
		return out, p.end()
	}
	for {
		p.ws()
		start := p.i
		if err := p.skip(0); err != nil {
			return nil, err
		}
		out = append(out, b[start:p.i])
		p.ws()
		if p.eat(']') {
			return out, p.end()
		}
		if !p.eat(',') {
			return nil, p.fail("expected ',' or ']' after array element")
		}
	}
}
