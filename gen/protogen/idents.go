package protogen

import (
	"fmt"

	"google.golang.org/protobuf/compiler/protogen"
)

// Idents are the Go names protoc-gen-go gives the declarations of some
// files, by full proto name, so that hand-written emitters refer to them
// exactly (protoc-gen-go renames fields that clash with its methods).
type Idents struct {
	Messages   map[string]string // "pkg.Msg" → Msg's Go type name
	Fields     map[string]string // "pkg.Msg.field" → Go field name
	Enums      map[string]string
	EnumValues map[string]string // "pkg.VALUE" → Go constant name
}

// GoIdents returns the Go names of the declarations of files.
func GoIdents(files []*File) (*Idents, error) {
	req, err := request(files)
	if err != nil {
		return nil, err
	}
	gen, err := protogen.Options{}.New(req)
	if err != nil {
		return nil, fmt.Errorf("protogen: %w", err)
	}
	id := &Idents{Messages: map[string]string{}, Fields: map[string]string{}, Enums: map[string]string{}, EnumValues: map[string]string{}}
	enums := func(es []*protogen.Enum) {
		for _, e := range es {
			id.Enums[string(e.Desc.FullName())] = e.GoIdent.GoName
			for _, v := range e.Values {
				id.EnumValues[string(v.Desc.FullName())] = v.GoIdent.GoName
			}
		}
	}
	var msgs func([]*protogen.Message)
	msgs = func(ms []*protogen.Message) {
		for _, m := range ms {
			id.Messages[string(m.Desc.FullName())] = m.GoIdent.GoName
			for _, f := range m.Fields {
				id.Fields[string(f.Desc.FullName())] = f.GoName
			}
			msgs(m.Messages)
			enums(m.Enums)
		}
	}
	for _, f := range gen.Files {
		if f.Generate {
			msgs(f.Messages)
			enums(f.Enums)
		}
	}
	return id, nil
}
