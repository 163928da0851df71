package grpcingest

import (
	"google.golang.org/grpc/encoding"
	protocodec "google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
)

// vtMessage is a message with vtprotobuf-generated (reflection-free)
// marshalling, as every eventrunner message has.
type vtMessage interface {
	SizeVT() int
	MarshalToSizedBufferVT([]byte) (int, error)
	UnmarshalVT([]byte) error
}

// Codec is grpc's "proto" codec with vtprotobuf's generated code on the hot
// path; messages without it (health, reflection) go through the standard
// codec. Servers use it through ForceServerCodecV2, clients through
// grpc.ForceCodecV2.
type Codec struct{}

var _ encoding.CodecV2 = Codec{}

var fallback = encoding.GetCodecV2(protocodec.Name)

// Name is "proto", the content subtype clients expect.
func (Codec) Name() string { return protocodec.Name }

// Marshal implements encoding.CodecV2.
func (Codec) Marshal(v any) (mem.BufferSlice, error) {
	m, ok := v.(vtMessage)
	if !ok {
		return fallback.Marshal(v)
	}
	// vtprotobuf sizes a oneof holding a nil message as an empty one but
	// writes nothing for it; such a message, where the written length
	// differs from the size, goes through the standard codec.
	size := m.SizeVT()
	if mem.IsBelowBufferPoolingThreshold(size) {
		buf := make([]byte, size)
		n, err := m.MarshalToSizedBufferVT(buf)
		if err != nil {
			return nil, err
		}
		if n != size {
			return fallback.Marshal(v)
		}
		return mem.BufferSlice{mem.SliceBuffer(buf)}, nil
	}
	pool := mem.DefaultBufferPool()
	buf := pool.Get(size)
	n, err := m.MarshalToSizedBufferVT((*buf)[:size])
	if err != nil || n != size {
		pool.Put(buf)
		if err != nil {
			return nil, err
		}
		return fallback.Marshal(v)
	}
	return mem.BufferSlice{mem.NewBuffer(buf, pool)}, nil
}

// Unmarshal implements encoding.CodecV2. The generated unmarshallers copy
// strings and bytes out of the buffer, so it can be freed after.
func (Codec) Unmarshal(data mem.BufferSlice, v any) error {
	m, ok := v.(vtMessage)
	if !ok {
		return fallback.Unmarshal(data, v)
	}
	buf := data.MaterializeToBuffer(mem.DefaultBufferPool())
	defer buf.Free()
	return m.UnmarshalVT(buf.ReadOnlyData())
}
