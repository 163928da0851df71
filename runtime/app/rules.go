package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/eventrunner/eventrunner/runtime/engine"
	"github.com/eventrunner/eventrunner/runtime/interp"
	"github.com/eventrunner/eventrunner/runtime/rules"
)

// initialRules is the compiled bundle, or the GRL under RulesDir run
// through grule (development mode).
func (a *App) initialRules() (*engine.RuleSet, error) {
	if a.cfg.RulesDir == "" {
		return engine.RuleSetOf(a.reg), nil
	}
	rs, _, err := a.loadRulesDir()
	if err != nil {
		return nil, err
	}
	a.log.Warn("running interpreted rules (grule) from a directory: development mode, far slower than compiled rules", "dir", a.cfg.RulesDir)
	return rs, nil
}

// loadRulesDir reads every knowledge base under RulesDir; the bundle name is
// a hash of the files, so processed events say which rules they ran.
func (a *App) loadRulesDir() (*engine.RuleSet, string, error) {
	sum, err := dirHash(a.cfg.RulesDir)
	if err != nil {
		return nil, "", err
	}
	kbs, err := interp.LoadDir(a.cfg.RulesDir, a.reg)
	if err != nil {
		return nil, "", err
	}
	list := make([]rules.KnowledgeBase, len(kbs))
	for i, kb := range kbs {
		list[i] = kb
	}
	return engine.NewRuleSet("interpreted-"+sum, list), sum, nil
}

// watchRules polls RulesDir and swaps the rule set when its files change.
// A directory that fails to load keeps the previous rules running.
func (a *App) watchRules(ctx context.Context) error {
	last, _ := dirHash(a.cfg.RulesDir)
	t := time.NewTicker(a.cfg.RulesPoll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		sum, err := dirHash(a.cfg.RulesDir)
		if err != nil || sum == last {
			continue
		}
		rs, sum, err := a.loadRulesDir()
		if err != nil {
			a.log.Error("rules reload failed; keeping the previous rules", "dir", a.cfg.RulesDir, "err", err)
			last = sum
			continue
		}
		last = sum
		a.engine.SwapRules(rs)
	}
}

// dirHash hashes the names and contents of the kb.yaml and *.grl files
// under dir.
func dirHash(dir string) (string, error) {
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && (d.Name() == "kb.yaml" || strings.HasSuffix(d.Name(), ".grl")) {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("rules dir: %w", err)
	}
	sort.Strings(files)
	h := sha256.New()
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s %d\n", f, len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}
