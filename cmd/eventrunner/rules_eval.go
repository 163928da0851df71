package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/eventrunner/eventrunner/generated"
	"github.com/eventrunner/eventrunner/runtime/cloudevents"
	"github.com/eventrunner/eventrunner/runtime/interp"
	"github.com/eventrunner/eventrunner/runtime/rulediff"
	"github.com/eventrunner/eventrunner/runtime/rules"
)

func newRulesCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rules",
		Short: "Work with the compiled knowledge bases",
	}
	cmd.AddCommand(newRulesEvalCmd(), newRulesListCmd(), newRulesDiffCmd())
	return cmd
}

func newRulesListCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the compiled knowledge bases and their rules",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			w := cmd.OutOrStdout()
			for _, kb := range generated.Registry().KnowledgeBases() {
				fmt.Fprintf(w, "%s %s (%s as %s, on %v)\n", kb.Name(), kb.Version(), kb.SchemaID(), kb.FactName(), kb.On())
				for _, r := range kb.Rules() {
					fmt.Fprintf(w, "  %-40s salience %d\n", r.Name, r.Salience)
				}
			}
			return nil
		},
	}
}

func newRulesEvalCmd() *cobra.Command {
	var kbName string
	var interpreted bool
	cmd := &cobra.Command{
		Use:   "eval --kb NAME [--interpreted] [FILE...]",
		Short: "Run a knowledge base over structured-mode CloudEvents and print the outcome of each",
		Long: `eval reads structured-mode CloudEvents (application/cloudevents+json) from the
files given, or from standard input: one JSON object, a JSON array of them, or
one per line. For each event, in order, it prints one line holding one JSON
object:

  {"data": <the data fact after the rules, schema property names>,
   "fired": ["RuleName", ...],
   "error": null | "message"}

"data" is null when the event could not be decoded (the error says why).
--interpreted runs the same GRL through grule, the reference semantics; the
output must be identical. The command streams: memory stays flat however many
events it reads.`,
		Example: `  eventrunner rules eval --kb orders < samples/orders.jsonl
  eventrunner rules eval --kb orders --interpreted samples/orders.json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			kb, err := evalKnowledgeBase(kbName, interpreted)
			if err != nil {
				return err
			}
			out := bufio.NewWriterSize(cmd.OutOrStdout(), 64<<10)
			defer out.Flush()
			ev := newEvaluator(kb)
			if len(args) == 0 {
				return ev.run(cmd.InOrStdin(), out)
			}
			for _, path := range args {
				f, err := os.Open(path)
				if err != nil {
					return err
				}
				err = ev.run(f, out)
				f.Close()
				if err != nil {
					return fmt.Errorf("%s: %w", path, err)
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&kbName, "kb", "", "knowledge base name (see 'eventrunner rules list')")
	cmd.Flags().BoolVar(&interpreted, "interpreted", false, "run the rules through grule instead of the compiled code")
	_ = cmd.MarkFlagRequired("kb")
	return cmd
}

func evalKnowledgeBase(name string, interpreted bool) (rules.KnowledgeBase, error) {
	reg := generated.Registry()
	kb, ok := reg.KnowledgeBase(name)
	if !ok {
		var names []string
		for _, k := range reg.KnowledgeBases() {
			names = append(names, k.Name())
		}
		return nil, fmt.Errorf("unknown knowledge base %q (have %v)", name, names)
	}
	if !interpreted {
		return kb, nil
	}
	return interp.FromCompiled(kb)
}

// evaluator runs one knowledge base over a stream of events, reusing one
// fact and one Exec (the Runner's) so that memory stays flat.
type evaluator struct {
	kb   rules.KnowledgeBase
	r    *rulediff.Runner
	line []byte
}

func newEvaluator(kb rules.KnowledgeBase) *evaluator {
	return &evaluator{kb: kb, r: rulediff.NewRunner(generated.Registry())}
}

func (e *evaluator) run(r io.Reader, w io.Writer) error {
	sr := cloudevents.NewStreamReader(r)
	for {
		raw, err := sr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		e.line = e.evalOne(e.line[:0], raw)
		if _, err := w.Write(e.line); err != nil {
			return err
		}
	}
}

// evalOne appends the outcome line of one event.
func (e *evaluator) evalOne(dst []byte, raw []byte) []byte {
	ev, err := cloudevents.ParseStructured(raw)
	if err != nil {
		return appendOutcome(dst, nil, nil, err)
	}
	f, x, err := e.r.Run(e.kb, ev)
	return appendOutcome(dst, f, x.Fired, err)
}

// appendOutcome appends {"data":…,"fired":[…],"error":…} and a newline.
func appendOutcome(dst []byte, fact rules.Fact, fired []string, err error) []byte {
	dst = append(dst, `{"data":`...)
	if fact == nil {
		dst = append(dst, "null"...)
	} else {
		dst = fact.AppendJSON(dst)
	}
	dst = append(dst, `,"fired":[`...)
	for i, name := range fired {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendJSONString(dst, name)
	}
	dst = append(dst, `],"error":`...)
	if err == nil {
		dst = append(dst, "null"...)
	} else {
		dst = appendJSONString(dst, err.Error())
	}
	return append(dst, "}\n"...)
}

func appendJSONString(dst []byte, s string) []byte {
	b, _ := json.Marshal(s)
	return append(dst, b...)
}
