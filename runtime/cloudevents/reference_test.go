package cloudevents

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// parseReference is the structured format over encoding/json: the
// reference Parse is held to. encoding/json decodes leniently (the last of
// two equal keys wins, invalid UTF-8 and lone surrogates become U+FFFD), so
// the reference adds the rules the format needs on top, each in the most
// obvious way: a token pass for duplicate members, refStrict for strings.
func parseReference(b []byte) (*Event, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("cloudevent: not a JSON object: %w", err)
	}
	if err := refDuplicates(b); err != nil {
		return nil, err
	}
	if refNonNull(raw["data"]) && refNonNull(raw["data_base64"]) {
		return nil, &AttributeError{"data_base64", "data and data_base64 cannot both be present"}
	}
	e := &Event{}
	for k, v := range raw {
		if err := e.setReference(k, v); err != nil {
			return nil, err
		}
	}
	if err := e.Check(); err != nil {
		return nil, err
	}
	return e, nil
}

func refNonNull(v json.RawMessage) bool {
	return v != nil && !bytes.Equal(bytes.TrimSpace(v), []byte("null"))
}

// refDuplicates refuses a top-level member that appears twice, and member
// names that are not strictly valid strings.
func refDuplicates(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	if _, err := dec.Token(); err != nil { // {
		return err
	}
	seen := map[string]bool{}
	depth := 0
	for {
		off := dec.InputOffset()
		tok, err := dec.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case json.Delim:
			if t == '{' || t == '[' {
				depth++
			} else {
				depth--
			}
			continue
		case string:
			if depth != 0 {
				continue
			}
			// A key at depth 0 (values at depth 0 that are strings are
			// skipped below).
			rawKey := bytes.TrimLeft(b[off:dec.InputOffset()], " \t\r\n,")
			rawKey = bytes.TrimRight(rawKey, " \t\r\n:")
			if _, err := refStrict(rawKey); err != nil {
				return err
			}
			if seen[t] {
				return &AttributeError{t, duplicate}
			}
			seen[t] = true
			var v json.RawMessage
			if err := dec.Decode(&v); err != nil {
				return err
			}
		}
	}
}

// refStrict decodes a JSON string with encoding/json and refuses it when
// the raw text holds invalid UTF-8 or an escape of an unpaired surrogate.
func refStrict(raw []byte) (string, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", err
	}
	if !utf8.Valid(raw) {
		return "", fmt.Errorf("invalid UTF-8")
	}
	if refLoneSurrogate(raw) {
		return "", fmt.Errorf("lone surrogate")
	}
	return s, nil
}

// refLoneSurrogate scans the escapes of a well-formed JSON string.
func refLoneSurrogate(raw []byte) bool {
	unit := func(i int) uint64 {
		if i+4 > len(raw) {
			return 0
		}
		n, _ := strconv.ParseUint(string(raw[i:i+4]), 16, 32)
		return n
	}
	for i := 0; i < len(raw); i++ {
		if raw[i] != '\\' {
			continue
		}
		i++
		if raw[i] != 'u' {
			continue
		}
		r := unit(i + 1)
		i += 4
		switch {
		case r >= 0xdc00 && r <= 0xdfff:
			return true
		case r >= 0xd800 && r <= 0xdbff:
			if i+2 < len(raw) && raw[i+1] == '\\' && raw[i+2] == 'u' {
				if r2 := unit(i + 3); r2 >= 0xdc00 && r2 <= 0xdfff {
					i += 6
					continue
				}
			}
			return true
		}
	}
	return false
}

// setReference assigns one attribute of the structured format.
func (e *Event) setReference(k string, v json.RawMessage) error {
	if bytes.Equal(bytes.TrimSpace(v), []byte("null")) {
		return nil
	}
	str := func(dst *string) error {
		s, err := refStrict(v)
		if err != nil {
			if strings.HasPrefix(strings.TrimSpace(string(v)), `"`) {
				return &AttributeError{k, err.Error()}
			}
			return &AttributeError{k, "must be a string"}
		}
		if s == "" && k != "id" && k != "source" && k != "type" && k != "specversion" {
			return &AttributeError{k, "if present, must be non-empty"}
		}
		*dst = s
		return nil
	}
	switch k {
	case "specversion":
		return str(&e.SpecVersion)
	case "id":
		return str(&e.ID)
	case "source":
		return str(&e.Source)
	case "type":
		return str(&e.Type)
	case "subject":
		return str(&e.Subject)
	case "time":
		return str(&e.Time)
	case "datacontenttype":
		return str(&e.DataContentType)
	case "dataschema":
		return str(&e.DataSchema)
	case "tenantid":
		return str(&e.TenantID)
	case "data":
		e.Data = v
		return nil
	case "data_base64":
		s, err := refStrict(v)
		if err != nil {
			return &AttributeError{k, "must be a base64 string"}
		}
		d, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return &AttributeError{k, "invalid base64: " + err.Error()}
		}
		if !json.Valid(d) {
			return &AttributeError{k, "must decode to JSON data"}
		}
		e.Data = d
		return nil
	}
	if e.Extensions == nil {
		e.Extensions = map[string]json.RawMessage{}
	}
	e.Extensions[k] = v
	return nil
}
