// Package kbyaml parses rules/<kb>/kb.yaml, the manifest of a knowledge
// base (its name, version, the event types it runs on, the schema its fact
// binds, grule's cycle limit). The generator and the interpreter that loads
// rules at run time (`serve --rules-dir`) both use it, so a kb.yaml means
// the same, and is refused for the same reasons, on both paths.
//
// It imports only the standard library and the YAML parser.
package kbyaml
