package cloudevents

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/eventrunner/eventrunner/runtime/jsonscan"
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
//
// Beyond encoding/json's syntax it refuses, as an *AttributeError naming
// the attribute (reported once the whole input is known to be JSON, so that
// malformed input is always a *SyntaxError): a member that appears twice,
// data together with data_base64, a string attribute that is not a string,
// and strings that encoding/json would decode with U+FFFD substituted
// (invalid UTF-8, unpaired surrogate escapes; see unquote). A null member is
// absent.
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
	var attrErr error
	var seen members
	for {
		p.ws()
		keyStart := p.i
		if err := p.skipString(); err != nil {
			return err
		}
		key, why := unquote(b[keyStart:p.i])
		keyEnd := p.i
		p.ws()
		if !p.eat(':') {
			return p.fail("expected ':' after object key")
		}
		p.ws()
		start := p.i
		if err := p.skip(0); err != nil {
			return err
		}
		// Past a bad attribute the others are still set (the first problem
		// is the one reported), so that a caller sniffing the format sees
		// the specversion of an event with a bad id.
		if why != "" {
			if attrErr == nil {
				name := strings.ToValidUTF8(truncate(string(b[keyStart+1:keyEnd-1]), 40), "\uFFFD")
				attrErr = &AttributeError{Attribute: name, Reason: "member name: " + why}
			}
		} else if err := setAttr(ev, key, b[start:p.i], &seen); err != nil && attrErr == nil {
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

// memberBit numbers the members of the structured format, to find
// duplicates without a map; 0 for an extension.
func memberBit(k string) uint16 {
	switch k {
	case "specversion":
		return 1 << 0
	case "id":
		return 1 << 1
	case "source":
		return 1 << 2
	case "type":
		return 1 << 3
	case "subject":
		return 1 << 4
	case "time":
		return 1 << 5
	case "datacontenttype":
		return 1 << 6
	case "dataschema":
		return 1 << 7
	case "tenantid":
		return 1 << 8
	case "data":
		return 1 << 9
	case "data_base64":
		return 1 << 10
	}
	return 0
}

// members records the members an event has had so far.
type members struct {
	bits    uint16   // memberBit
	nullExt []string // extensions set to null, absent from Extensions
}

// setAttr assigns one member from its raw JSON value (null leaves it
// unset); seen collects the members already set.
func setAttr(ev *Event, k string, v []byte, seen *members) error {
	bit := memberBit(k)
	if bit == 0 {
		if _, dup := ev.Extensions[k]; dup || slices.Contains(seen.nullExt, k) {
			return &AttributeError{Attribute: k, Reason: duplicate}
		}
		if string(v) == "null" {
			seen.nullExt = append(seen.nullExt, k)
			return nil
		}
		if ev.Extensions == nil {
			ev.Extensions = make(map[string]json.RawMessage, 4)
		}
		ev.Extensions[k] = v
		return nil
	}
	if seen.bits&bit != 0 {
		return &AttributeError{Attribute: k, Reason: duplicate}
	}
	seen.bits |= bit
	if string(v) == "null" {
		return nil
	}
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
	case "data", "data_base64":
		if ev.Data != nil {
			return &AttributeError{Attribute: "data_base64", Reason: "data and data_base64 cannot both be present"}
		}
		if k == "data" {
			ev.Data = v
			return nil
		}
		return setBase64(ev, v)
	}
	if v[0] != '"' {
		return &AttributeError{Attribute: k, Reason: "must be a string"}
	}
	s, why := unquote(v)
	if why != "" {
		return &AttributeError{Attribute: k, Reason: why}
	}
	if s == "" && k != "id" && k != "source" && k != "type" && k != "specversion" {
		// The spec: an optional attribute, if present, is non-empty. Taken
		// as absent it would be dropped from the event, and sdk-go refuses
		// an empty datacontenttype.
		return &AttributeError{Attribute: k, Reason: "if present, must be non-empty (leave it out)"}
	}
	*dst = s
	return nil
}

// duplicate is the reason for a member that appears twice: encoding/json
// keeps the last, other parsers the first, so the event would mean
// different things to different readers.
const duplicate = "appears more than once in the event"

func setBase64(ev *Event, v []byte) error {
	if v[0] != '"' {
		return &AttributeError{Attribute: "data_base64", Reason: "must be a base64 string"}
	}
	s, why := unquote(v)
	if why != "" {
		return &AttributeError{Attribute: "data_base64", Reason: why}
	}
	d, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return &AttributeError{Attribute: "data_base64", Reason: "invalid base64: " + err.Error()}
	}
	if err := CheckJSON(d); err != nil {
		return &AttributeError{Attribute: "data_base64", Reason: "must decode to JSON data: " + err.Error()}
	}
	ev.Data = d
	return nil
}

// CheckJSON reports whether b is one JSON value (surrounded by white space
// at most), as encoding/json's Valid does but with the offset of the first
// error, as a *SyntaxError. Nesting is bounded (maxDepth) and the scan is
// linear, so hostile input costs at most one pass.
func CheckJSON(b []byte) error {
	p := parser{b: b}
	p.ws()
	if err := p.skip(0); err != nil {
		return err
	}
	p.ws()
	if p.i != len(p.b) {
		return p.fail("unexpected data after the JSON value")
	}
	return nil
}

// parser is a cursor over JSON, validating as encoding/json does: the
// scanning is runtime/jsonscan's (shared with the generated decoders); the
// parser adds the structured format's own wording of syntax errors.
type parser struct {
	b []byte
	i int
}

// maxDepth bounds nesting like encoding/json.
const maxDepth = jsonscan.MaxDepth

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

// syntax is the scanner's error c at offset off, worded as this package
// always has (a bad literal is reported where it starts).
func (p *parser) syntax(off int, c jsonscan.Code) error {
	p.i = off
	end := off >= len(p.b)
	var msg string
	switch c {
	case jsonscan.BadValue:
		msg = "expected a value"
		if !end {
			msg = fmt.Sprintf("invalid character %q looking for a value", p.b[off])
		}
	case jsonscan.BadString:
		msg = "control character in string"
		if end {
			msg = "unterminated string"
		}
	case jsonscan.BadEscape:
		msg = "invalid escape"
		if end {
			msg = "unterminated escape"
		}
	case jsonscan.BadHex:
		msg = "invalid \\u escape"
	case jsonscan.BadNumber:
		msg = "invalid number"
	case jsonscan.BadFraction:
		msg = "expected digits after the decimal point"
	case jsonscan.BadExponent:
		msg = "expected digits in the exponent"
	case jsonscan.BadLiteral:
		p.i = jsonscan.LiteralStart(p.b, off)
		msg = "invalid literal"
	case jsonscan.BadKey:
		msg = "expected a string object key"
	case jsonscan.BadColon:
		msg = "expected ':' after object key"
	case jsonscan.BadObjectSep:
		msg = "expected ',' or '}'"
	case jsonscan.BadArraySep:
		msg = "expected ',' or ']'"
	default:
		msg = c.Message(p.b, off)
	}
	return p.fail(msg)
}

func (p *parser) end() error {
	p.ws()
	if p.i != len(p.b) {
		return p.fail("unexpected data after the event object")
	}
	return nil
}

func (p *parser) ws() { p.i = jsonscan.SkipWS(p.b, p.i) }

func (p *parser) eat(c byte) bool {
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

// skip moves past one JSON value, depth arrays and objects deep.
func (p *parser) skip(depth int) error {
	end, c := jsonscan.Skip(p.b, p.i, depth)
	if c != jsonscan.OK {
		return p.syntax(end, c)
	}
	p.i = end
	return nil
}

func (p *parser) skipString() error {
	if p.i >= len(p.b) || p.b[p.i] != '"' {
		return p.fail("expected a string")
	}
	end, c := jsonscan.String(p.b, p.i)
	if c != jsonscan.OK {
		return p.syntax(end, c)
	}
	p.i = end
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
