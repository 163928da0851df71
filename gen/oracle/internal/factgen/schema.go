// Package factgen makes seeded random facts for the differential test of
// compiled knowledge bases against grule: a reflection-based filler for the
// generated fact structs that honours each property's JSON Schema (enums,
// bounds, lengths, patterns, formats, required) and is biased towards the
// literals of a knowledge base's GRL and towards boundaries, so that rule
// conditions are exercised both ways. It also deep-copies and compares facts.
//
// It is test support: it uses reflection freely and is imported only by
// gen/oracle's tests.
package factgen

import (
	"encoding/json"
	"fmt"
	"regexp"
	"regexp/syntax"
)

// Node is the part of a JSON Schema (the subset eventgen supports) that the
// filler needs. Properties are matched to struct fields by their json tag.
type Node struct {
	Type       string           `json:"type"`
	Format     string           `json:"format"`
	Enum       []string         `json:"enum"`
	Minimum    *float64         `json:"minimum"`
	Maximum    *float64         `json:"maximum"`
	MinLength  *int             `json:"minLength"`
	MaxLength  *int             `json:"maxLength"`
	MinItems   *int             `json:"minItems"`
	MaxItems   *int             `json:"maxItems"`
	Pattern    string           `json:"pattern"`
	Properties map[string]*Node `json:"properties"`
	Required   []string         `json:"required"`
	Items      *Node            `json:"items"`

	re    *regexp.Regexp
	reAST *syntax.Regexp
	req   map[string]bool
}

// ParseSchema reads a schema file's JSON.
func ParseSchema(data []byte) (*Node, error) {
	var n Node
	if err := json.Unmarshal(data, &n); err != nil {
		return nil, fmt.Errorf("factgen: parse schema: %w", err)
	}
	if err := n.prepare("$"); err != nil {
		return nil, err
	}
	return &n, nil
}

// prepare compiles patterns and indexes required properties, recursively.
func (n *Node) prepare(path string) error {
	if n.Pattern != "" {
		re, err := regexp.Compile(n.Pattern)
		if err != nil {
			return fmt.Errorf("factgen: %s: pattern: %w", path, err)
		}
		ast, err := syntax.Parse(n.Pattern, syntax.Perl)
		if err != nil {
			return fmt.Errorf("factgen: %s: pattern: %w", path, err)
		}
		n.re, n.reAST = re, ast.Simplify()
	}
	n.req = map[string]bool{}
	for _, r := range n.Required {
		n.req[r] = true
	}
	for name, p := range n.Properties {
		if err := p.prepare(path + "." + name); err != nil {
			return err
		}
	}
	if n.Items != nil {
		return n.Items.prepare(path + "[]")
	}
	return nil
}

// accepts reports whether s satisfies the node's string constraints, so that
// a GRL literal can be used as the value.
func (n *Node) accepts(s string) bool {
	if len(n.Enum) > 0 {
		for _, e := range n.Enum {
			if e == s {
				return true
			}
		}
		return false
	}
	l := len([]rune(s))
	if n.MinLength != nil && l < *n.MinLength || n.MaxLength != nil && l > *n.MaxLength {
		return false
	}
	if n.re != nil && !n.re.MatchString(s) {
		return false
	}
	return n.Format == "" || validFormat(n.Format, s)
}
