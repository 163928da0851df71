package ir

// Bundle is everything one generator run compiles: the schemas (sorted by
// ID) and knowledge bases (sorted by name).
type Bundle struct {
	Schemas          []*Schema
	KBs              []*KB
	GeneratorVersion string
	// Hash identifies the bundle (16 hex digits of a SHA-256 over the inputs
	// and the generator version).
	Hash string
}
