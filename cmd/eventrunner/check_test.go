package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/eventrunner/eventrunner/gen"
	"github.com/eventrunner/eventrunner/gen/evolve"
)

// schemaRepo copies the repository's schemas/ (with its lock) and rules/
// into a new git repository with one commit, the base of a pull request.
func schemaRepo(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed: check --base needs it")
	}
	root := t.TempDir()
	for _, dir := range []string{"schemas", "rules"} {
		if err := os.CopyFS(filepath.Join(root, dir), os.DirFS(filepath.Join("..", "..", dir))); err != nil {
			t.Fatal(err)
		}
	}
	for _, args := range [][]string{
		{"init", "-q"},
		{"add", "."},
		{"-c", "user.name=test", "-c", "user.email=test@example.com", "commit", "-q", "-m", "base"},
	} {
		cmd := exec.Command("git", args...)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %s: %v\n%s", args[0], err, out)
		}
	}
	return root
}

// editSchema writes schemas/<type>/v<to>.json as a copy of v<from> with
// text replacements applied (pairs of old, new).
func editSchema(t *testing.T, root, typ string, from, to string, edits ...string) {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(root, "schemas", typ, from+".json"))
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(src), typ+"/"+from, typ+"/"+to, 1)
	for i := 0; i+1 < len(edits); i += 2 {
		if !strings.Contains(s, edits[i]) {
			t.Fatalf("edit %q does not apply to %s/%s", edits[i], typ, from)
		}
		s = strings.Replace(s, edits[i], edits[i+1], 1)
	}
	writeFile(t, filepath.Join(root, "schemas", typ, to+".json"), s)
}

func writeFile(t *testing.T, p, content string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// generate runs the generator as go generate does, writing the lock on
// success, and returns its error text.
func generate(t *testing.T, root string) string {
	t.Helper()
	res, err := gen.Generate(context.Background(), gen.Config{Root: root, Lock: evolve.DefaultLockPath})
	if err != nil {
		return err.Error()
	}
	if err := gen.WriteLock(root, res.Lock); err != nil {
		t.Fatal(err)
	}
	return ""
}

// runCheckBase runs `eventrunner check --base HEAD` in root.
func runCheckBase(t *testing.T, root string) (string, int) {
	t.Helper()
	cmd := newCheckCmd()
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs([]string{"--root", root, "--base", "HEAD"})
	err := cmd.ExecuteContext(context.Background())
	var ee exitError
	switch {
	case err == nil:
		return out.String(), 0
	case errors.As(err, &ee):
		return out.String(), ee.code
	}
	t.Fatalf("check --base: %v\n%s", err, out.String())
	return "", 0
}

func mustContain(t *testing.T, what, text string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(text, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, text)
		}
	}
}

// Edits of the order schema used below.
var (
	dropTier = []string{
		`"required": ["id", "email", "tier"]`, `"required": ["id", "email"]`,
		`"tier": {"type": "string", "enum": ["standard", "gold", "platinum"]},`, ``,
	}
	addGiftMessage = []string{`"giftWrap": {"type": "boolean"},`, `"giftWrap": {"type": "boolean"}, "giftMessage": {"type": "string", "maxLength": 200},`}
)

// TestSchemaPullRequests changes the repository's schemas compatibly and
// incompatibly in a copy and shows go generate (the pipeline) and check
// --base accepting and refusing them.
func TestSchemaPullRequests(t *testing.T) {
	t.Run("compatible new version", func(t *testing.T) {
		root := schemaRepo(t)
		editSchema(t, root, "com.acme.payment.captured", "v2", "v3",
			`"receiptUrl": {"type": "string", "format": "uri"}`, `"receiptUrl": {"type": "string", "format": "uri"}, "refundReason": {"type": "string"}`,
			`"enum": ["EUR", "USD", "GBP"]`, `"enum": ["EUR", "USD", "GBP", "CHF"]`)
		if msg := generate(t, root); msg != "" {
			t.Fatalf("generate refused a compatible version:\n%s", msg)
		}
		lock, _ := os.ReadFile(filepath.Join(root, evolve.DefaultLockPath))
		mustContain(t, "lock", string(lock), "com.acme.payment.captured/v3 sha256:")
		out, code := runCheckBase(t, root)
		if code != 0 {
			t.Errorf("check --base exit %d, want 0", code)
		}
		mustContain(t, "report", out,
			"added    com.acme.payment.captured/v3  backward compatible with com.acme.payment.captured/v2",
			`ok       property "currency": enum widened: "CHF" allowed`,
			`ok       property "refundReason": added (optional string)`,
			"payments 1.0.0 (binds com.acme.payment.captured/v2)",
			"its rules also compile against com.acme.payment.captured/v3",
			"Result: OK")
	})

	t.Run("incompatible new version", func(t *testing.T) {
		root := schemaRepo(t)
		editSchema(t, root, "com.acme.order.created", "v1", "v2", append(append([]string{}, dropTier...),
			`"enum": ["pending", "approved", "review", "rejected"]`, `"enum": ["pending", "approved", "rejected"]`)...)
		msg := generate(t, root)
		mustContain(t, "generate", msg,
			`schemas/com.acme.order.created/v2.json:9:17: com.acme.order.created/v2 is not backward compatible with com.acme.order.created/v1: property "customer.tier": removed (it was required string enum)`,
			`property "status": enum narrowed: "review" no longer allowed`,
			`declare "x-breaking": true`)
		lock, _ := os.ReadFile(filepath.Join(root, evolve.DefaultLockPath))
		if strings.Contains(string(lock), "order.created/v2") {
			t.Error("a refused version was recorded in the lock")
		}
		out, code := runCheckBase(t, root)
		if code != 1 {
			t.Errorf("check --base exit %d, want 1", code)
		}
		mustContain(t, "report", out,
			"added    com.acme.order.created/v2  REFUSED: not backward compatible with com.acme.order.created/v1",
			`BREAKING property "customer.tier": removed (it was required string enum)  [schemas/com.acme.order.created/v2.json:9:17]`,
			"orders 1.0.0 (binds com.acme.order.created/v1)",
			`com.acme.order.created/v2: property "customer.tier": removed (it was required string enum) (its rules use customer.tier)`,
			"its rules would not compile against com.acme.order.created/v2:",
			"rules/orders/triage.grl:45:24: Order.Customer has no field Tier",
			"Result: REFUSED")
	})

	t.Run("declared breaking version", func(t *testing.T) {
		root := schemaRepo(t)
		editSchema(t, root, "com.acme.order.created", "v1", "v2", append([]string{`"type": "object",`, `"type": "object", "x-breaking": true,`}, dropTier...)...)
		if msg := generate(t, root); msg != "" {
			t.Fatalf("generate refused a declared breaking version:\n%s", msg)
		}
		out, code := runCheckBase(t, root)
		if code != 0 {
			t.Errorf("check --base exit %d, want 0", code)
		}
		mustContain(t, "report", out,
			`added    com.acme.order.created/v2  breaking change from com.acme.order.created/v1, declared with "x-breaking": true`,
			"stays on com.acme.order.created/v1; its rules would not compile against com.acme.order.created/v2:",
			"Result: OK")

		// Moving the knowledge base onto it fails to compile: its rules read
		// the removed field.
		kb := filepath.Join(root, "rules", "orders", "kb.yaml")
		src, _ := os.ReadFile(kb)
		writeFile(t, kb, strings.Replace(string(src), "com.acme.order.created/v1", "com.acme.order.created/v2", 1))
		mustContain(t, "generate", generate(t, root), "rules/orders/triage.grl:45:24: Order.Customer has no field Tier")
		out, code = runCheckBase(t, root)
		if code != 1 {
			t.Errorf("check --base exit %d, want 1", code)
		}
		mustContain(t, "report", out, "REFUSED: does not compile any more", "rules/orders/triage.grl:45:24: Order.Customer has no field Tier", "Result: REFUSED")
	})

	t.Run("published version edited", func(t *testing.T) {
		root := schemaRepo(t)
		editSchema(t, root, "com.acme.order.created", "v1", "v1", addGiftMessage...)
		mustContain(t, "generate", generate(t, root),
			"schemas/com.acme.order.created/v1.json:1:1: schema com.acme.order.created/v1 is published and must not change")
		// Deleting the lock line silences go generate, not check --base:
		// the base revision says what is published.
		lockPath := filepath.Join(root, evolve.DefaultLockPath)
		lock, _ := os.ReadFile(lockPath)
		writeFile(t, lockPath, regexp.MustCompile(`(?m)^com\.acme\.order\.created/v1 .*\n`).ReplaceAllString(string(lock), ""))
		if msg := generate(t, root); msg != "" {
			t.Fatalf("generate: %s", msg)
		}
		out, code := runCheckBase(t, root)
		if code != 1 {
			t.Errorf("check --base exit %d, want 1", code)
		}
		mustContain(t, "report", out,
			"changed  com.acme.order.created/v1  REFUSED: published version edited",
			"publish the change as v2",
			`ok       property "giftMessage": added (optional string)`,
			"Result: REFUSED")
	})

	t.Run("new event type and rule edits", func(t *testing.T) {
		root := schemaRepo(t)
		dir := filepath.Join(root, "schemas", "com.acme.order.cancelled")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dir, "v1.json"), `{"$id": "com.acme.order.cancelled/v1", "type": "object", "properties": {"orderId": {"type": "string"}}}`)
		grl := filepath.Join(root, "rules", "orders", "pricing.grl")
		src, _ := os.ReadFile(grl)
		writeFile(t, grl, string(src)+"\nrule Extra \"one more\" salience 1 {\n    when\n        Order.Total > 1000000\n    then\n        Event.Tag(\"huge\");\n        Retract(\"Extra\");\n}\n")
		out, code := runCheckBase(t, root)
		if code != 0 {
			t.Errorf("check --base exit %d, want 0", code)
		}
		mustContain(t, "report", out,
			"added    com.acme.order.cancelled/v1  first version of its event type",
			"orders 1.0.0 (binds com.acme.order.created/v1)",
			"rules changed but the version is still 1.0.0; consider bumping it in kb.yaml",
			"Result: OK")

		writeFile(t, grl, string(src)+"\nrule Bad \"typo\" {\n    when\n        Order.Totl > 1\n    then\n        Retract(\"Bad\");\n}\n")
		out, code = runCheckBase(t, root)
		if code != 1 {
			t.Errorf("check --base exit %d, want 1", code)
		}
		mustContain(t, "report", out, "rules/orders/pricing.grl:", "Order has no field Totl", "Result: REFUSED")
	})

	t.Run("published version removed", func(t *testing.T) {
		root := schemaRepo(t)
		if err := os.Remove(filepath.Join(root, "schemas", "com.acme.payment.captured", "v1.json")); err != nil {
			t.Fatal(err)
		}
		mustContain(t, "generate", generate(t, root),
			"schemas/schemas.lock:7:1: published schema com.acme.payment.captured/v1 is missing: schemas/com.acme.payment.captured/v1.json was deleted")
		out, code := runCheckBase(t, root)
		if code != 1 {
			t.Errorf("check --base exit %d, want 1", code)
		}
		mustContain(t, "report", out, "removed  com.acme.payment.captured/v1  REFUSED: published version removed")
	})
}
