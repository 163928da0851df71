package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"strings"

	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"
)

// envPrefix prefixes the environment variable of every flag:
// --http-addr ↔ EVENTRUNNER_HTTP_ADDR.
const envPrefix = "EVENTRUNNER_"

// applyConfig fills the flags the command line left unset, first from the
// environment, then from the YAML file (keys are flag names), so that the
// precedence is flags > environment > file. Every problem is reported.
func applyConfig(fs *pflag.FlagSet, file string) error {
	values := map[string]any{}
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return fmt.Errorf("config: %w", err)
		}
		if err := yaml.Unmarshal(b, &values); err != nil {
			return fmt.Errorf("config %s: %w", file, err)
		}
	}
	var errs []error
	for _, key := range sortedKeys(values) {
		if f := fs.Lookup(key); f == nil || key == "config" {
			errs = append(errs, fmt.Errorf("config %s: unknown key %q", file, key))
		}
	}
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Changed || f.Name == "config" || f.Name == "help" {
			return
		}
		env := envName(f.Name)
		if v, ok := os.LookupEnv(env); ok {
			if err := fs.Set(f.Name, v); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", env, err))
			}
			return
		}
		if v, ok := values[f.Name]; ok {
			if err := fs.Set(f.Name, yamlFlagValue(v)); err != nil {
				errs = append(errs, fmt.Errorf("config %s: %s: %w", file, f.Name, err))
			}
		}
	})
	return errors.Join(errs...)
}

// yamlFlagValue is a YAML value as a flag would spell it: a list becomes
// the comma-separated form of a list flag.
func yamlFlagValue(v any) string {
	list, ok := v.([]any)
	if !ok {
		return fmt.Sprint(v)
	}
	parts := make([]string, len(list))
	for i, e := range list {
		parts[i] = fmt.Sprint(e)
	}
	return strings.Join(parts, ",")
}

func envName(flag string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// newLogger returns the process logger: slog to stderr, text or JSON.
func newLogger(level, format string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log-level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: l}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(os.Stderr, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(os.Stderr, opts)), nil
	}
	return nil, fmt.Errorf("log-format: %q is not text or json", format)
}
