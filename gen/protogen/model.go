// Package protogen turns a small model of .proto files into .proto source
// text and into descriptors, and runs protoc-gen-go, protoc-gen-go-vtproto
// and protoc-gen-go-grpc on those descriptors, so that Go code for gRPC is
// generated without a protoc binary on the machine.
//
// protoc-gen-go and vtprotobuf run in-process as libraries; protoc-gen-go-grpc
// keeps its generator in package main, so it runs as the `go tool` pinned in
// go.mod, fed a CodeGeneratorRequest on standard input as protoc would.
package protogen

import "google.golang.org/protobuf/types/descriptorpb"

// File is one .proto file (proto3).
type File struct {
	// Path is the import path of the file, e.g. "eventrunner/typed/v1/common.proto".
	Path string
	// Header lines are printed as // comments at the top of the .proto text.
	Header    []string
	Package   string
	GoPackage string // go_package option: "import/path;name"
	Imports   []string
	Messages  []*Message
	Enums     []*Enum
	Services  []*Service
}

// Message is a message type.
type Message struct {
	Name     string
	Comment  string
	Fields   []*Field
	Oneofs   []string // names; Field.Oneof indexes them (1-based)
	Messages []*Message
	Enums    []*Enum
}

// Field is one field. Exactly one of Type (scalar), TypeName (message or
// enum) and Map is set.
type Field struct {
	Name    string
	Number  int32
	Comment string
	// JSONName is the protojson name; empty means protoc's default.
	JSONName string
	Type     descriptorpb.FieldDescriptorProto_Type
	// TypeName is the full name of a message or enum type, e.g.
	// "eventrunner.typed.v1.OrderCreatedV1"; IsEnum tells which.
	TypeName string
	IsEnum   bool
	Repeated bool
	// Oneof is the 1-based index into Message.Oneofs, 0 for none.
	Oneof int
	Map   *MapType
}

// MapType is the key and value of a map field.
type MapType struct {
	Key       descriptorpb.FieldDescriptorProto_Type
	Value     descriptorpb.FieldDescriptorProto_Type
	ValueName string // full name when Value is a message or enum
}

// Enum is an enum type; its first value must be 0.
type Enum struct {
	Name    string
	Comment string
	Values  []*EnumValue
}

// EnumValue is one enum constant.
type EnumValue struct {
	Name    string
	Number  int32
	Comment string
}

// Service is a gRPC service.
type Service struct {
	Name    string
	Comment string
	Methods []*Method
}

// Method is one RPC; Input and Output are full message names.
type Method struct {
	Name            string
	Comment         string
	Input, Output   string
	ClientStreaming bool
	ServerStreaming bool
}

// DefaultJSONName is protoc's json_name for a field name: underscores
// removed, the letter after each upper-cased.
func DefaultJSONName(name string) string {
	out := make([]byte, 0, len(name))
	upper := false
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c == '_' {
			upper = true
			continue
		}
		if upper && 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		upper = false
		out = append(out, c)
	}
	return string(out)
}

func (f *Field) jsonName() string {
	if f.JSONName != "" {
		return f.JSONName
	}
	return DefaultJSONName(f.Name)
}
