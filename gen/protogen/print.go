package protogen

import (
	"fmt"
	"strconv"
	"strings"

	"google.golang.org/protobuf/types/descriptorpb"
)

// Print returns f as .proto source text.
func Print(f *File) []byte {
	p := &printer{}
	for _, h := range f.Header {
		p.line(0, strings.TrimRight("// "+h, " "))
	}
	if len(f.Header) > 0 {
		p.line(0, "")
	}
	p.line(0, `syntax = "proto3";`)
	p.line(0, "")
	p.line(0, "package "+f.Package+";")
	if len(f.Imports) > 0 {
		p.line(0, "")
		for _, imp := range f.Imports {
			p.line(0, "import "+strconv.Quote(imp)+";")
		}
	}
	if f.GoPackage != "" {
		p.line(0, "")
		p.line(0, "option go_package = "+strconv.Quote(f.GoPackage)+";")
	}
	for _, s := range f.Services {
		p.line(0, "")
		p.service(f.Package, s)
	}
	for _, m := range f.Messages {
		p.line(0, "")
		p.message(f.Package, 0, m)
	}
	for _, e := range f.Enums {
		p.line(0, "")
		p.enum(0, e)
	}
	return []byte(p.b.String())
}

type printer struct{ b strings.Builder }

func (p *printer) line(depth int, s string) {
	if s != "" {
		p.b.WriteString(strings.Repeat("  ", depth))
	}
	p.b.WriteString(s)
	p.b.WriteByte('\n')
}

func (p *printer) comment(depth int, c string) {
	if c == "" {
		return
	}
	for _, l := range strings.Split(strings.TrimRight(c, "\n"), "\n") {
		p.line(depth, strings.TrimRight("// "+l, " "))
	}
}

func (p *printer) service(pkg string, s *Service) {
	p.comment(0, s.Comment)
	p.line(0, "service "+s.Name+" {")
	for i, m := range s.Methods {
		if i > 0 {
			p.line(0, "")
		}
		p.comment(1, m.Comment)
		in, out := relName(pkg, m.Input), relName(pkg, m.Output)
		if m.ClientStreaming {
			in = "stream " + in
		}
		if m.ServerStreaming {
			out = "stream " + out
		}
		p.line(1, fmt.Sprintf("rpc %s(%s) returns (%s);", m.Name, in, out))
	}
	p.line(0, "}")
}

func (p *printer) message(pkg string, depth int, m *Message) {
	p.comment(depth, m.Comment)
	p.line(depth, "message "+m.Name+" {")
	open := 0
	for _, f := range m.Fields {
		if f.Oneof != open {
			if open != 0 {
				p.line(depth+1, "}")
			}
			if f.Oneof != 0 {
				p.line(depth+1, "oneof "+m.Oneofs[f.Oneof-1]+" {")
			}
			open = f.Oneof
		}
		d := depth + 1
		if open != 0 {
			d++
		}
		p.comment(d, f.Comment)
		p.line(d, fieldDecl(pkg, f))
	}
	if open != 0 {
		p.line(depth+1, "}")
	}
	for _, n := range m.Messages {
		p.line(0, "")
		p.message(pkg, depth+1, n)
	}
	for _, e := range m.Enums {
		p.line(0, "")
		p.enum(depth+1, e)
	}
	p.line(depth, "}")
}

func fieldDecl(pkg string, f *Field) string {
	var typ string
	switch {
	case f.Map != nil:
		v := scalarName(f.Map.Value)
		if f.Map.ValueName != "" {
			v = relName(pkg, f.Map.ValueName)
		}
		typ = "map<" + scalarName(f.Map.Key) + ", " + v + ">"
	case f.TypeName != "":
		typ = relName(pkg, f.TypeName)
	default:
		typ = scalarName(f.Type)
	}
	if f.Repeated {
		typ = "repeated " + typ
	}
	s := fmt.Sprintf("%s %s = %d", typ, f.Name, f.Number)
	if f.JSONName != "" && f.JSONName != DefaultJSONName(f.Name) {
		s += " [json_name = " + strconv.Quote(f.JSONName) + "]"
	}
	return s + ";"
}

func (p *printer) enum(depth int, e *Enum) {
	p.comment(depth, e.Comment)
	p.line(depth, "enum "+e.Name+" {")
	for _, v := range e.Values {
		p.comment(depth+1, v.Comment)
		p.line(depth+1, fmt.Sprintf("%s = %d;", v.Name, v.Number))
	}
	p.line(depth, "}")
}

// relName shortens a full name in the file's own package.
func relName(pkg, full string) string {
	if strings.HasPrefix(full, pkg+".") {
		return full[len(pkg)+1:]
	}
	return full
}

func scalarName(t descriptorpb.FieldDescriptorProto_Type) string {
	return strings.ToLower(strings.TrimPrefix(t.String(), "TYPE_"))
}
