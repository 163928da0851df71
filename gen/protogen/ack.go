package protogen

import "google.golang.org/protobuf/types/descriptorpb"

// Scalar types, short.
const (
	TString = descriptorpb.FieldDescriptorProto_TYPE_STRING
	TBytes  = descriptorpb.FieldDescriptorProto_TYPE_BYTES
	TBool   = descriptorpb.FieldDescriptorProto_TYPE_BOOL
	TInt32  = descriptorpb.FieldDescriptorProto_TYPE_INT32
	TInt64  = descriptorpb.FieldDescriptorProto_TYPE_INT64
	TDouble = descriptorpb.FieldDescriptorProto_TYPE_DOUBLE
	TMsg    = descriptorpb.FieldDescriptorProto_TYPE_MESSAGE
)

// AckMessages are the per-event acknowledgement messages shared by the
// generic and the typed ingest services, declared in package pkg.
func AckMessages(pkg string) []*Message {
	return []*Message{
		{
			Name: "Ack",
			Comment: "Ack is the outcome of one event: ACCEPTED once JetStream stored it (a retry\n" +
				"with the same source and id is deduplicated), REJECTED when the event is at\n" +
				"fault (do not retry it unchanged), RETRY when it could not be stored.",
			Fields: []*Field{
				{Name: "id", Number: 1, Type: TString, Comment: "The event's id."},
				{Name: "source", Number: 2, Type: TString, Comment: "The event's source."},
				{Name: "status", Number: 3, TypeName: pkg + ".Ack.Status", IsEnum: true},
				{Name: "code", Number: 4, Type: TInt32, Comment: "The gRPC status code the event would get on its own (0 when accepted)."},
				{Name: "error", Number: 5, Type: TString, Comment: "Why the event was not accepted."},
				{Name: "field", Number: 6, Type: TString, Comment: "The offending attribute or data path, e.g. \"time\" or \"data.$.items[0].sku\"."},
				{Name: "violations", Number: 7, TypeName: pkg + ".Violation", Repeated: true, Comment: "Every schema violation of the event's data."},
			},
			Enums: []*Enum{{
				Name: "Status",
				Values: []*EnumValue{
					{Name: "STATUS_UNSPECIFIED", Number: 0},
					{Name: "STATUS_ACCEPTED", Number: 1, Comment: "Stored durably."},
					{Name: "STATUS_REJECTED", Number: 2, Comment: "Refused: the event breaks the spec or its schema, or names another tenant."},
					{Name: "STATUS_RETRY", Number: 3, Comment: "Not stored (e.g. JetStream unavailable or too slow): send it again."},
				},
			}},
		},
		{
			Name:    "Violation",
			Comment: "Violation is one way an event's data breaks its schema.",
			Fields: []*Field{
				{Name: "field", Number: 1, Type: TString, Comment: "JSON path of the value, prefixed by \"data.\"."},
				{Name: "description", Number: 2, Type: TString},
			},
		},
	}
}
