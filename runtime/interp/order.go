package interp

import (
	"sync"

	"github.com/antlr4-go/antlr/v4"
	"github.com/hyperjumptech/grule-rule-engine/antlr/parser/grulev3"
)

// Token types of grule's lexer, looked up by name: the generated constants
// are unexported.
var (
	tokenOnce        sync.Once
	tokRule, tokName = -1, -1
)

func tokenTypes() {
	tokenOnce.Do(func() {
		lx := grulev3.Newgrulev3Lexer(antlr.NewInputStream(""))
		for i, n := range lx.SymbolicNames {
			switch n {
			case "RULE":
				tokRule = i
			case "SIMPLENAME":
				tokName = i
			}
		}
	})
}

// ruleNames returns the names of the rules declared in a GRL text, in order.
// The text has already been parsed by grule, so a RULE token is always
// followed by the rule's name.
func ruleNames(text string) []string {
	tokenTypes()
	lx := grulev3.Newgrulev3Lexer(antlr.NewInputStream(text))
	lx.RemoveErrorListeners()
	var names []string
	afterRule := false
	for {
		t := lx.NextToken()
		if t.GetTokenType() == antlr.TokenEOF {
			return names
		}
		if t.GetChannel() != antlr.TokenDefaultChannel {
			continue
		}
		if afterRule && t.GetTokenType() == tokName {
			names = append(names, t.GetText())
		}
		afterRule = t.GetTokenType() == tokRule
	}
}
