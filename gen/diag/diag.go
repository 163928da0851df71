// Package diag holds source files and the diagnostics the generator reports
// about them. Positions are byte offsets into a File; they become
// file:line:col only when a diagnostic is printed.
package diag

import (
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"
)

// File is one input file, with its path relative to the repository root.
type File struct {
	Path string
	Src  []byte
	// lineStarts holds the offset of each line's first byte, computed lazily.
	lineStarts []int
}

// NewFile wraps a file's contents.
func NewFile(path string, src []byte) *File { return &File{Path: path, Src: src} }

// Pos is a byte offset into a File.
type Pos struct {
	File   *File
	Offset int
}

// LineCol returns the 1-based line and column (in runes) of an offset.
func (f *File) LineCol(offset int) (line, col int) {
	if f.lineStarts == nil {
		f.lineStarts = []int{0}
		for i, b := range f.Src {
			if b == '\n' {
				f.lineStarts = append(f.lineStarts, i+1)
			}
		}
	}
	if offset > len(f.Src) {
		offset = len(f.Src)
	}
	i := sort.Search(len(f.lineStarts), func(i int) bool { return f.lineStarts[i] > offset }) - 1
	return i + 1, utf8.RuneCount(f.Src[f.lineStarts[i]:offset]) + 1
}

// OffsetOf returns the byte offset of a 1-based line and rune column, for
// front ends (like ANTLR) that report line:col.
func (f *File) OffsetOf(line, col int) int {
	f.LineCol(0)
	if line < 1 {
		return 0
	}
	if line > len(f.lineStarts) {
		return len(f.Src)
	}
	off := f.lineStarts[line-1]
	for c := 1; c < col && off < len(f.Src) && f.Src[off] != '\n'; c++ {
		_, n := utf8.DecodeRune(f.Src[off:])
		off += n
	}
	return off
}

// String renders the position as path:line:col.
func (p Pos) String() string {
	if p.File == nil {
		return "-"
	}
	l, c := p.File.LineCol(p.Offset)
	return fmt.Sprintf("%s:%d:%d", p.File.Path, l, c)
}

// Severity tells errors, which stop generation, from warnings, which do not.
type Severity int

const (
	Error Severity = iota
	Warning
)

// Diagnostic is one message about the input.
type Diagnostic struct {
	Pos      Pos
	Severity Severity
	Msg      string
	Hint     string // optional: how to fix it
}

func (d Diagnostic) String() string {
	s := d.Pos.String() + ": "
	if d.Severity == Warning {
		s += "warning: "
	}
	s += d.Msg
	if d.Hint != "" {
		s += " (hint: " + d.Hint + ")"
	}
	return s
}

// List collects diagnostics across files.
type List struct {
	items []Diagnostic
}

// Errorf records an error at pos.
func (l *List) Errorf(pos Pos, format string, args ...any) *Diagnostic {
	return l.add(pos, Error, fmt.Sprintf(format, args...))
}

// Warnf records a warning at pos.
func (l *List) Warnf(pos Pos, format string, args ...any) *Diagnostic {
	return l.add(pos, Warning, fmt.Sprintf(format, args...))
}

func (l *List) add(pos Pos, sev Severity, msg string) *Diagnostic {
	l.items = append(l.items, Diagnostic{Pos: pos, Severity: sev, Msg: msg})
	return &l.items[len(l.items)-1]
}

// Append adds diagnostics collected elsewhere.
func (l *List) Append(ds ...Diagnostic) { l.items = append(l.items, ds...) }

// WithHint sets the hint of a just-recorded diagnostic.
func (d *Diagnostic) WithHint(h string) { d.Hint = h }

// HasErrors reports whether any error (not warning) was recorded.
func (l *List) HasErrors() bool {
	for _, d := range l.items {
		if d.Severity == Error {
			return true
		}
	}
	return false
}

// Sorted returns the diagnostics ordered by path, line, column, message.
func (l *List) Sorted() []Diagnostic {
	out := append([]Diagnostic(nil), l.items...)
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		ap, bp := path(a.Pos), path(b.Pos)
		if ap != bp {
			return ap < bp
		}
		if a.Pos.Offset != b.Pos.Offset {
			return a.Pos.Offset < b.Pos.Offset
		}
		return a.Msg < b.Msg
	})
	return out
}

// Err returns nil when there are no errors, else an *Errors holding every
// diagnostic (warnings included), sorted.
func (l *List) Err() error {
	if !l.HasErrors() {
		return nil
	}
	return &Errors{Diagnostics: l.Sorted()}
}

func path(p Pos) string {
	if p.File == nil {
		return ""
	}
	return p.File.Path
}

// Errors is the error the generator returns for bad input: every diagnostic,
// one per line.
type Errors struct {
	Diagnostics []Diagnostic
}

func (e *Errors) Error() string {
	lines := make([]string, len(e.Diagnostics))
	for i, d := range e.Diagnostics {
		lines[i] = d.String()
	}
	return strings.Join(lines, "\n")
}
