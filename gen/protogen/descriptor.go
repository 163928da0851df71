package protogen

import (
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/descriptorpb"
)

// Field numbers of descriptor.proto, for SourceCodeInfo paths.
const (
	fileMessageType = 4
	fileEnumType    = 5
	fileService     = 6
	messageField    = 2
	messageNested   = 3
	messageEnum     = 4
	enumValue       = 2
	serviceMethod   = 2
)

// Descriptor returns the FileDescriptorProto of f, with its comments in
// SourceCodeInfo so that the generated Go carries them as doc comments.
func Descriptor(f *File) *descriptorpb.FileDescriptorProto {
	b := &descBuilder{}
	fd := &descriptorpb.FileDescriptorProto{
		Name:       proto.String(f.Path),
		Package:    proto.String(f.Package),
		Dependency: append([]string(nil), f.Imports...),
		Syntax:     proto.String("proto3"),
	}
	if f.GoPackage != "" {
		fd.Options = &descriptorpb.FileOptions{GoPackage: proto.String(f.GoPackage)}
	}
	for i, m := range f.Messages {
		fd.MessageType = append(fd.MessageType, b.message(m, f.Package, []int32{fileMessageType, int32(i)}))
	}
	for i, e := range f.Enums {
		fd.EnumType = append(fd.EnumType, b.enum(e, []int32{fileEnumType, int32(i)}))
	}
	for i, s := range f.Services {
		fd.Service = append(fd.Service, b.service(f.Package, s, []int32{fileService, int32(i)}))
	}
	if len(b.locs) > 0 {
		fd.SourceCodeInfo = &descriptorpb.SourceCodeInfo{Location: b.locs}
	}
	return fd
}

type descBuilder struct {
	locs []*descriptorpb.SourceCodeInfo_Location
}

func (b *descBuilder) comment(path []int32, c string) {
	if c == "" {
		return
	}
	var s strings.Builder
	for _, l := range strings.Split(strings.TrimRight(c, "\n"), "\n") {
		s.WriteString(" " + l + "\n")
	}
	b.locs = append(b.locs, &descriptorpb.SourceCodeInfo_Location{
		Path:            append([]int32(nil), path...),
		Span:            []int32{0, 0, 0},
		LeadingComments: proto.String(s.String()),
	})
}

func sub(path []int32, kind, i int32) []int32 {
	return append(append([]int32(nil), path...), kind, i)
}

// message builds m, declared in scope (a package or a message's full name).
func (b *descBuilder) message(m *Message, scope string, path []int32) *descriptorpb.DescriptorProto {
	b.comment(path, m.Comment)
	full := scope + "." + m.Name
	d := &descriptorpb.DescriptorProto{Name: proto.String(m.Name)}
	for _, o := range m.Oneofs {
		d.OneofDecl = append(d.OneofDecl, &descriptorpb.OneofDescriptorProto{Name: proto.String(o)})
	}
	for i, f := range m.Fields {
		b.comment(sub(path, messageField, int32(i)), f.Comment)
		fd := &descriptorpb.FieldDescriptorProto{
			Name:     proto.String(f.Name),
			Number:   proto.Int32(f.Number),
			JsonName: proto.String(f.jsonName()),
			Label:    descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum(),
		}
		switch {
		case f.Map != nil:
			entry := mapEntry(f)
			d.NestedType = append(d.NestedType, entry)
			fd.Label = descriptorpb.FieldDescriptorProto_LABEL_REPEATED.Enum()
			fd.Type = descriptorpb.FieldDescriptorProto_TYPE_MESSAGE.Enum()
			fd.TypeName = proto.String("." + full + "." + entry.GetName())
		case f.TypeName != "":
			fd.TypeName = proto.String("." + f.TypeName)
			fd.Type = descriptorpb.FieldDescriptorProto_TYPE_MESSAGE.Enum()
			if f.IsEnum {
				fd.Type = descriptorpb.FieldDescriptorProto_TYPE_ENUM.Enum()
			}
		default:
			fd.Type = f.Type.Enum()
		}
		if f.Repeated {
			fd.Label = descriptorpb.FieldDescriptorProto_LABEL_REPEATED.Enum()
		}
		if f.Oneof != 0 {
			fd.OneofIndex = proto.Int32(int32(f.Oneof - 1))
		}
		d.Field = append(d.Field, fd)
	}
	base := int32(len(d.NestedType)) // map entries come first among nested types
	for i, n := range m.Messages {
		d.NestedType = append(d.NestedType, b.message(n, full, sub(path, messageNested, base+int32(i))))
	}
	for i, e := range m.Enums {
		d.EnumType = append(d.EnumType, b.enum(e, sub(path, messageEnum, int32(i))))
	}
	return d
}

// mapEntry is the synthetic message protoc makes for a map field.
func mapEntry(f *Field) *descriptorpb.DescriptorProto {
	name := strings.ToUpper(DefaultJSONName(f.Name)[:1]) + DefaultJSONName(f.Name)[1:] + "Entry"
	value := &descriptorpb.FieldDescriptorProto{
		Name: proto.String("value"), Number: proto.Int32(2), JsonName: proto.String("value"),
		Label: descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum(), Type: f.Map.Value.Enum(),
	}
	if f.Map.ValueName != "" {
		value.TypeName = proto.String("." + f.Map.ValueName)
	}
	return &descriptorpb.DescriptorProto{
		Name: proto.String(name),
		Field: []*descriptorpb.FieldDescriptorProto{
			{Name: proto.String("key"), Number: proto.Int32(1), JsonName: proto.String("key"),
				Label: descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum(), Type: f.Map.Key.Enum()},
			value,
		},
		Options: &descriptorpb.MessageOptions{MapEntry: proto.Bool(true)},
	}
}

func (b *descBuilder) enum(e *Enum, path []int32) *descriptorpb.EnumDescriptorProto {
	b.comment(path, e.Comment)
	d := &descriptorpb.EnumDescriptorProto{Name: proto.String(e.Name)}
	for i, v := range e.Values {
		b.comment(sub(path, enumValue, int32(i)), v.Comment)
		d.Value = append(d.Value, &descriptorpb.EnumValueDescriptorProto{Name: proto.String(v.Name), Number: proto.Int32(v.Number)})
	}
	return d
}

func (b *descBuilder) service(pkg string, s *Service, path []int32) *descriptorpb.ServiceDescriptorProto {
	b.comment(path, s.Comment)
	d := &descriptorpb.ServiceDescriptorProto{Name: proto.String(s.Name)}
	for i, m := range s.Methods {
		b.comment(sub(path, serviceMethod, int32(i)), m.Comment)
		md := &descriptorpb.MethodDescriptorProto{
			Name:       proto.String(m.Name),
			InputType:  proto.String("." + m.Input),
			OutputType: proto.String("." + m.Output),
		}
		if m.ClientStreaming {
			md.ClientStreaming = proto.Bool(true)
		}
		if m.ServerStreaming {
			md.ServerStreaming = proto.Bool(true)
		}
		d.Method = append(d.Method, md)
	}
	return d
}
