package factgen

import (
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/antlr4-go/antlr/v4"
	"github.com/hyperjumptech/grule-rule-engine/antlr/parser/grulev3"
)

// Literals are the constants a knowledge base's GRL compares facts with. The
// filler draws values from them (and their neighbours) so that conditions
// such as `Order.Total > 500` or `Coupon.HasPrefix("WELCOME")` are true for
// some facts and false for others.
type Literals struct {
	Strings []string
	Numbers []float64
	// Fields holds, by variable path without indices and method names
	// ("Order.Customer.Tier", "Order.Items.Category", "Event.Source"), the
	// literals that appear in the same clause as that variable (a clause
	// ends at &&, ||, `;`, when, then and braces), so that a field is
	// mostly given the constants it is compared with.
	Fields map[string]*Literals
}

// lexer walks the default-channel tokens of one GRL text.
type lexer struct {
	lx    antlr.Lexer
	names []string
}

func newLexer(text string) *lexer {
	lx := grulev3.Newgrulev3Lexer(antlr.NewInputStream(text))
	lx.RemoveErrorListeners()
	return &lexer{lx: lx, names: lx.SymbolicNames}
}

// next returns the next token's symbolic name and text; "" at the end.
func (l *lexer) next() (string, string) {
	for {
		t := l.lx.NextToken()
		typ := t.GetTokenType()
		if typ == antlr.TokenEOF {
			return "", ""
		}
		if typ >= 0 && typ < len(l.names) && t.GetChannel() == antlr.TokenDefaultChannel {
			return l.names[typ], t.GetText()
		}
	}
}

// ExtractLiterals lexes GRL texts with grule's own lexer and collects their
// string and number literals, deduplicated and sorted, overall and per
// variable. Rule descriptions (the string after `rule Name`) are left out:
// facts never meet them. Numbers are kept with both signs.
func ExtractLiterals(texts ...string) Literals {
	lits := Literals{Fields: map[string]*Literals{}}
	for _, text := range texts {
		extract(newLexer(text), &lits)
	}
	lits.normalize()
	for _, f := range lits.Fields {
		f.normalize()
	}
	return lits
}

// clause collects the variables and literals of one clause.
type clause struct {
	vars []string
	strs []string
	nums []float64
}

func extract(l *lexer, lits *Literals) {
	var (
		cl       clause
		prev     [2]string // names of the previous two tokens
		chain    []string  // the variable path being read
		building bool      // the last token extended chain
		receiver []string  // the receiver of the last method call
		stack    [][]string
	)
	finish := func() {
		if building && len(chain) > 0 {
			cl.vars = append(cl.vars, strings.Join(chain, "."))
		}
		building = false
	}
	flush := func() {
		finish()
		for _, v := range cl.vars {
			f := lits.Fields[v]
			if f == nil {
				f = &Literals{}
				lits.Fields[v] = f
			}
			f.Strings = append(f.Strings, cl.strs...)
			f.Numbers = append(f.Numbers, cl.nums...)
		}
		lits.Strings = append(lits.Strings, cl.strs...)
		lits.Numbers = append(lits.Numbers, cl.nums...)
		cl = clause{}
	}
	for {
		name, text := l.next()
		if name == "" {
			flush()
			return
		}
		description := prev == [2]string{"RULE", "SIMPLENAME"}
		switch name {
		case "SIMPLENAME":
			switch {
			case prev[1] == "RULE": // the rule's name
				finish()
			case prev[1] == "DOT" && building:
				chain = append(chain, text)
			case prev[1] == "DOT" && receiver != nil: // X.ToUpper().HasPrefix
				chain, building = append(slices.Clone(receiver), text), true
			default:
				finish()
				chain, building = []string{text}, true
			}
		case "LR_BRACKET":
			if building && prev[1] == "SIMPLENAME" { // a call: the last name is the method
				chain = chain[:len(chain)-1]
				receiver = slices.Clone(chain)
				finish()
			}
		case "LS_BRACKET":
			stack = append(stack, chain)
			building = false
		case "RS_BRACKET":
			if n := len(stack); n > 0 {
				finish()
				chain, stack, building = stack[n-1], stack[:n-1], true
			}
		case "DOT", "RR_BRACKET":
		case "AND", "OR", "SEMICOLON", "WHEN", "THEN", "LR_BRACE", "RR_BRACE":
			flush()
			receiver = nil
		case "DQUOTA_STRING", "SQUOTA_STRING":
			finish()
			if len(text) >= 2 && !description {
				cl.strs = append(cl.strs, text[1:len(text)-1])
			}
		case "DEC_LIT", "HEX_LIT", "OCT_LIT":
			finish()
			if v, err := strconv.ParseInt(text, 0, 64); err == nil {
				cl.nums = append(cl.nums, signs(float64(v))...)
			}
		case "DECIMAL_FLOAT_LIT", "HEX_FLOAT_LIT":
			finish()
			if v, err := strconv.ParseFloat(text, 64); err == nil && !math.IsInf(v, 0) {
				cl.nums = append(cl.nums, signs(v)...)
			}
		default:
			finish()
		}
		prev = [2]string{prev[1], name}
	}
}

// signs returns v and -v: GRL has negative literals but compares with
// either sign. Zero stays positive: -0 is no value a JSON event carries.
func signs(v float64) []float64 {
	if v == 0 {
		return []float64{0}
	}
	return []float64{v, -v}
}

func (l *Literals) normalize() {
	slices.Sort(l.Strings)
	l.Strings = slices.Compact(l.Strings)
	slices.Sort(l.Numbers)
	l.Numbers = slices.Compact(l.Numbers)
}

// For returns the literals of a variable path, or nil.
func (l Literals) For(path string) *Literals {
	return l.Fields[path]
}

// String renders the literals for test logs.
func (l Literals) String() string {
	var b strings.Builder
	b.WriteString("strings ")
	b.WriteString(strconv.Quote(strings.Join(l.Strings, "|")))
	b.WriteString(" numbers ")
	for i, n := range l.Numbers {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatFloat(n, 'g', -1, 64))
	}
	return b.String()
}
