package ir

import "github.com/eventrunner/eventrunner/gen/diag"

// Kind is the JSON kind of a value.
type Kind int

const (
	String Kind = iota + 1
	Integer
	Number
	Boolean
	Object
	Array
)

func (k Kind) String() string {
	switch k {
	case String:
		return "string"
	case Integer:
		return "integer"
	case Number:
		return "number"
	case Boolean:
		return "boolean"
	case Object:
		return "object"
	case Array:
		return "array"
	}
	return "invalid"
}

// GoType is the Go type a value of this kind decodes to (object and array
// types are named by their Type).
func (k Kind) GoType() string {
	switch k {
	case String:
		return "string"
	case Integer:
		return "int64"
	case Number:
		return "float64"
	case Boolean:
		return "bool"
	}
	return ""
}

// Schema is one schema version: schemas/<Type>/v<Version>.json.
type Schema struct {
	ID          string // "<Type>/v<Version>"
	Type        string // CloudEvents type, e.g. "com.acme.order.created"
	Version     int
	Breaking    bool   // the schema declares itself a breaking change
	File        string // path relative to the repository root
	Hash        string // hex SHA-256 of the canonical JSON
	Description string
	// GoName is the fact struct's name, e.g. "OrderCreatedV1".
	GoName string
	// FileStem names the generated files, e.g. "order_created_v1".
	FileStem string
	// Root is the event data object; its GoName equals the schema's GoName.
	Root *ObjectType
	Pos  diag.Pos
}

// Type is the type of a property or array item.
type Type struct {
	Kind Kind
	// Format is one of date-time, uuid, email, uri (strings only).
	Format string
	// Enum lists the allowed values (strings only), in schema order.
	Enum []string
	// EnumNames are the Go constants naming Enum's values, e.g.
	// "OrderCreatedV1StatusPending" (parallel to Enum).
	EnumNames []string
	// Minimum and Maximum bound integers and numbers (inclusive).
	Minimum, Maximum *float64
	// MinLength and MaxLength bound strings, in runes.
	MinLength, MaxLength *int
	// MinItems and MaxItems bound arrays.
	MinItems, MaxItems *int
	// Pattern is an RE2 regular expression strings must match (unanchored,
	// as in JSON Schema).
	Pattern string
	// Matcher is Pattern compiled to straight-line byte steps when it is
	// simple enough to match without backtracking; nil means the validator
	// uses regexp.
	Matcher *Matcher
	// Object is set for Kind == Object.
	Object *ObjectType
	// Items is set for Kind == Array.
	Items *Type
	Pos   diag.Pos
}

// ObjectType is an object with known properties; it becomes a Go struct.
type ObjectType struct {
	GoName      string // e.g. "OrderCreatedV1Customer"
	Description string
	Fields      []*Field // in schema order
	// AdditionalProperties allows unknown properties (they are skipped when
	// decoding). JSON Schema's default is true.
	AdditionalProperties bool
	Pos                  diag.Pos
}

// Field is one property of an object.
type Field struct {
	Name        string // JSON property name
	GoName      string // exported Go field name
	Description string
	Required    bool
	Type        *Type
	Pos         diag.Pos
}

// Field returns the field with the given Go name, as GRL names it.
func (o *ObjectType) Field(goName string) *Field {
	for _, f := range o.Fields {
		if f.GoName == goName {
			return f
		}
	}
	return nil
}
