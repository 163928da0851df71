package protogen

import (
	"bytes"
	"errors"
	"fmt"
	"os/exec"
	"sort"
	"strings"

	gengo "google.golang.org/protobuf/cmd/protoc-gen-go/internal_gengo"
	"google.golang.org/protobuf/compiler/protogen"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/pluginpb"

	// Descriptors of the well-known and google.rpc files the models may import.
	_ "google.golang.org/genproto/googleapis/rpc/status"
	_ "google.golang.org/protobuf/types/known/anypb"
	_ "google.golang.org/protobuf/types/known/timestamppb"

	_ "github.com/planetscale/vtprotobuf/features/marshal"
	_ "github.com/planetscale/vtprotobuf/features/size"
	_ "github.com/planetscale/vtprotobuf/features/unmarshal"
	vtgen "github.com/planetscale/vtprotobuf/generator"
)

// Output is one generated Go file, named after its .proto file
// (paths=source_relative): "a/b.proto" → "a/b.pb.go", "a/b_vtproto.pb.go",
// "a/b_grpc.pb.go".
type Output struct {
	Name    string
	Content []byte
}

// Generate checks files (as protoc would, by building them with protodesc)
// and returns the Go code of the three plugins for them. Imports outside
// files must be in the global registry (well-known types, google.rpc).
func Generate(files []*File) ([]Output, error) {
	req, err := request(files)
	if err != nil {
		return nil, err
	}
	var out []Output
	for _, run := range []func(*pluginpb.CodeGeneratorRequest) (*pluginpb.CodeGeneratorResponse, error){runGo, runVT, runGRPC} {
		resp, err := run(req)
		if err != nil {
			return nil, err
		}
		if resp.Error != nil {
			return nil, fmt.Errorf("protogen: %s", resp.GetError())
		}
		for _, f := range resp.File {
			out = append(out, Output{Name: f.GetName(), Content: stripVersionLines([]byte(f.GetContent()))})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// request builds the CodeGeneratorRequest protoc would send: every file
// after its dependencies, the model's files to generate.
func request(files []*File) (*pluginpb.CodeGeneratorRequest, error) {
	req := &pluginpb.CodeGeneratorRequest{Parameter: proto.String("paths=source_relative")}
	own := map[string]*descriptorpb.FileDescriptorProto{}
	for _, f := range files {
		own[f.Path] = Descriptor(f)
		req.FileToGenerate = append(req.FileToGenerate, f.Path)
	}
	done := map[string]bool{}
	var add func(path string) error
	add = func(path string) error {
		if done[path] {
			return nil
		}
		done[path] = true
		fd := own[path]
		if fd == nil {
			d, err := protoregistry.GlobalFiles.FindFileByPath(path)
			if err != nil {
				return fmt.Errorf("protogen: import %q: %w", path, err)
			}
			fd = protodesc.ToFileDescriptorProto(d)
		}
		for _, dep := range fd.Dependency {
			if err := add(dep); err != nil {
				return err
			}
		}
		req.ProtoFile = append(req.ProtoFile, fd)
		return nil
	}
	for _, f := range files {
		if err := add(f.Path); err != nil {
			return nil, err
		}
	}
	// protoc refuses what protodesc refuses: check before generating.
	if _, err := protodesc.NewFiles(&descriptorpb.FileDescriptorSet{File: req.ProtoFile}); err != nil {
		return nil, fmt.Errorf("protogen: invalid descriptors: %w", err)
	}
	return req, nil
}

func runGo(req *pluginpb.CodeGeneratorRequest) (*pluginpb.CodeGeneratorResponse, error) {
	gen, err := protogen.Options{}.New(req)
	if err != nil {
		return nil, fmt.Errorf("protogen: protoc-gen-go: %w", err)
	}
	for _, f := range gen.Files {
		if f.Generate {
			gengo.GenerateFile(gen, f)
		}
	}
	gen.SupportedFeatures = gengo.SupportedFeatures
	return gen.Response(), nil
}

func runVT(req *pluginpb.CodeGeneratorRequest) (*pluginpb.CodeGeneratorResponse, error) {
	gen, err := protogen.Options{}.New(req)
	if err != nil {
		return nil, fmt.Errorf("protogen: protoc-gen-go-vtproto: %w", err)
	}
	cfg := &vtgen.Config{Poolable: vtgen.NewObjectSet(), PoolableExclude: vtgen.NewObjectSet()}
	g, err := vtgen.NewGenerator(gen, []string{"marshal", "unmarshal", "size"}, cfg)
	if err != nil {
		return nil, fmt.Errorf("protogen: protoc-gen-go-vtproto: %w", err)
	}
	g.Generate()
	return gen.Response(), nil
}

// runGRPC pipes the request through `go tool protoc-gen-go-grpc` (pinned in
// go.mod), run from the current directory, which must be inside the module.
func runGRPC(req *pluginpb.CodeGeneratorRequest) (*pluginpb.CodeGeneratorResponse, error) {
	in, err := proto.Marshal(req)
	if err != nil {
		return nil, err
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command("go", "tool", "protoc-gen-go-grpc")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = bytes.NewReader(in), &stdout, &stderr
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return nil, fmt.Errorf("protogen: go tool protoc-gen-go-grpc: %w: %s", err, strings.TrimSpace(stderr.String()))
		}
		return nil, fmt.Errorf("protogen: go tool protoc-gen-go-grpc: %w", err)
	}
	resp := &pluginpb.CodeGeneratorResponse{}
	if err := proto.Unmarshal(stdout.Bytes(), resp); err != nil {
		return nil, fmt.Errorf("protogen: protoc-gen-go-grpc reply: %w", err)
	}
	return resp, nil
}

// stripVersionLines drops the plugin version line vtprotobuf takes from the
// running binary's build info, which differs between `go run` and `go
// test`; the output must be the same wherever it is generated.
func stripVersionLines(b []byte) []byte {
	const prefix = "// protoc-gen-go-vtproto version:"
	if !bytes.Contains(b, []byte(prefix)) {
		return b
	}
	var out []byte
	for _, l := range bytes.SplitAfter(b, []byte("\n")) {
		if !bytes.HasPrefix(l, []byte(prefix)) {
			out = append(out, l...)
		}
	}
	return out
}
