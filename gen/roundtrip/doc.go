// Package roundtrip tests the generated codecs against encoding/json, the
// reference their contract names (runtime/rules/fact.go): equal structs
// whenever the generated decoder reports nothing, byte-identical encoding,
// and decode(encode(x)) == x. It holds tests only.
package roundtrip
