// Package evolve keeps published event schemas stable as they evolve.
//
// A lock file (schemas/schemas.lock) records the hash of every published
// schema version. The generator's evolution stage (Check) refuses an edit to
// a published version and a new version that is not backward compatible
// with the previous one, unless it declares "x-breaking": true. Compare
// names every difference between two versions property by property, and
// Report compares a base revision of the repository with the working tree
// for `eventrunner check --base`: schemas added, changed and removed, and the
// knowledge bases they affect.
//
// The package reads ir only (plus the schema and GRL front ends to load a
// tree and to recompile a knowledge base against a newer version); it never
// emits code.
package evolve
