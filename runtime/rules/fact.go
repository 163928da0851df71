package rules

// Fact is the typed data of one event: a pointer to a struct generated from a
// schema version. Its codec and validator are generated methods that use no
// reflection.
type Fact interface {
	// SchemaID names the schema version, e.g. "com.acme.order.created/v1".
	SchemaID() string
	// Reset zeroes the fact but keeps slice capacity, so pooled facts decode
	// without allocating.
	Reset()
	// DecodeJSON resets the fact and fills it from a JSON object. Malformed
	// JSON is returned as an error (*SyntaxError); structural violations
	// (wrong JSON type, a missing required property, an unknown property where
	// additionalProperties is false, a member twice, a string that is not
	// valid UTF-8 or holds an unpaired surrogate, an integer with a fraction
	// or beyond int64) are appended to v, and decoding goes on so that every
	// violation is reported. Members a schema allows but does not name are
	// kept (Extra), and which properties the input held is recorded.
	DecodeJSON(data []byte, v *Violations) error
	// Validate appends the value violations (bounds, lengths, patterns, enums,
	// formats) of the fact as it is now.
	Validate(v *Violations)
	// AppendJSON appends the fact as a JSON object: the properties in schema
	// order (an optional one when the decoded input held it or it is not
	// zero), then the members the schema does not name, as they were sent.
	// For data decoded without violation it loses nothing; only numbers
	// are canonicalised (10.0 is written 10).
	AppendJSON(dst []byte) []byte
}

// Schema describes one generated schema version.
type Schema struct {
	ID      string // "<type>/v<N>"
	Type    string // CloudEvents type, e.g. "com.acme.order.created"
	Version int
	// Hash is the hex SHA-256 of the schema file's canonical JSON, so that an
	// edited published version is detected.
	Hash string
	// File is the schema's path relative to the repository root.
	File string
	// New returns a zero fact of this schema.
	New func() Fact
}

// Decode decodes data into f and validates it, returning a *ValidationError
// listing every violation, or a *SyntaxError for malformed JSON.
func Decode(f Fact, data []byte) error {
	var v Violations
	if err := f.DecodeJSON(data, &v); err != nil {
		return err
	}
	f.Validate(&v)
	return v.Err()
}
