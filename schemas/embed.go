// Package schemas embeds the schema files of this directory, the JSON
// Schema documents the engine serves at /v1/schemas/<type>/v<N> (each
// event's canonical dataschema). The generator compiles the same files
// into generated/; the test here checks that every compiled version has
// its document and that the two agree (hash).
package schemas

import "embed"

// FS holds <type>/v<N>.json for every schema version: the File of each
// generated rules.Schema without its "schemas/" prefix.
//
//go:embed */v*.json
var FS embed.FS
