package grl

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/antlr4-go/antlr/v4"
	"github.com/hyperjumptech/grule-rule-engine/antlr/parser/grulev3"

	"github.com/eventrunner/eventrunner/gen/diag"
)

// parsedRule is a rule entry of grule's parse tree with the file it is in.
type parsedRule struct {
	file *diag.File
	ctx  grulev3.IRuleEntryContext
}

// errorListener collects every lexer and parser error with its position;
// grule's own listener only logs them.
type errorListener struct {
	*antlr.DefaultErrorListener
	file  *diag.File
	l     *diag.List
	count int
}

func (e *errorListener) SyntaxError(_ antlr.Recognizer, _ any, line, column int, msg string, _ antlr.RecognitionException) {
	e.count++
	e.l.Errorf(diag.Pos{File: e.file, Offset: e.file.OffsetOf(line, column+1)}, "syntax error: %s", msg)
}

// parseFile parses one GRL file with grule's grammar. It returns nil when
// the file has syntax errors (all of them are reported), so that the
// checker only ever sees complete trees.
func parseFile(f *diag.File, l *diag.List) []parsedRule {
	el := &errorListener{DefaultErrorListener: antlr.NewDefaultErrorListener(), file: f, l: l}
	lexer := grulev3.Newgrulev3Lexer(antlr.NewInputStream(string(f.Src)))
	lexer.RemoveErrorListeners()
	lexer.AddErrorListener(el)
	p := grulev3.Newgrulev3Parser(antlr.NewCommonTokenStream(lexer, antlr.TokenDefaultChannel))
	p.RemoveErrorListeners()
	p.AddErrorListener(el)
	tree := p.Grl()
	if el.count > 0 {
		return nil
	}
	var out []parsedRule
	for _, re := range tree.AllRuleEntry() {
		out = append(out, parsedRule{file: f, ctx: re})
	}
	return out
}

// tokPos is the position of a token.
func tokPos(f *diag.File, t antlr.Token) diag.Pos {
	if t == nil {
		return diag.Pos{File: f}
	}
	return diag.Pos{File: f, Offset: f.OffsetOf(t.GetLine(), t.GetColumn()+1)}
}

// ctxPos is the position of a parse tree node's first token.
func ctxPos(f *diag.File, c antlr.ParserRuleContext) diag.Pos {
	return tokPos(f, c.GetStart())
}

// srcText returns the source text a node spans, as written.
func srcText(f *diag.File, c antlr.ParserRuleContext) string {
	start, stop := c.GetStart(), c.GetStop()
	if start == nil || stop == nil {
		return c.GetText()
	}
	from := f.OffsetOf(start.GetLine(), start.GetColumn()+1)
	to := f.OffsetOf(stop.GetLine(), stop.GetColumn()+1) + len(stop.GetText())
	if from > to || to > len(f.Src) {
		return c.GetText()
	}
	return string(f.Src[from:to])
}

// unquote decodes a GRL string literal exactly as grule's listener does
// (antlr/ParserCommon.go unquoteString): Go escapes, the literal's own
// quote character only escaped.
func unquote(s string) (string, error) {
	n := len(s)
	if n < 2 || s[0] != s[n-1] || (s[0] != '"' && s[0] != '\'') {
		return "", fmt.Errorf("invalid string literal")
	}
	quote := s[0]
	s = s[1 : n-1]
	if !strings.ContainsRune(s, '\\') && !strings.ContainsRune(s, rune(quote)) && utf8.ValidString(s) {
		return s, nil
	}
	var b strings.Builder
	for len(s) > 0 {
		r, multibyte, rest, err := strconv.UnquoteChar(s, quote)
		if err != nil {
			return "", err
		}
		s = rest
		if r < 0x80 || !multibyte {
			b.WriteByte(byte(r))
		} else {
			b.WriteRune(r)
		}
	}
	return b.String(), nil
}
