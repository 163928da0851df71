package wasm

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf16"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/tetratelabs/wazero/sys"
)

// Limits bound what one module may do. Zero fields take the defaults.
type Limits struct {
	// MemoryMB caps each instance's linear memory; default 64.
	MemoryMB int `json:"memory_mb,omitempty"`
	// Timeout is the per-event deadline; default 1 s.
	Timeout time.Duration `json:"timeout_ns,omitempty"`
	// MaxEmitBytes bounds one emitted event; default 1 MiB.
	MaxEmitBytes int `json:"max_emit_bytes,omitempty"`
	// MaxEmits bounds the events emitted per input event; default 64.
	MaxEmits int `json:"max_emits,omitempty"`
	// Pool is how many instances run at once (and stay warm); default 2.
	Pool int `json:"pool,omitempty"`
}

// MaxMemoryMB is the largest memory cap a deployment may ask for.
const MaxMemoryMB = 512

// WithDefaults fills what l leaves zero.
func (l Limits) WithDefaults() Limits {
	if l.MemoryMB <= 0 {
		l.MemoryMB = 64
	}
	if l.Timeout <= 0 {
		l.Timeout = time.Second
	}
	if l.MaxEmitBytes <= 0 {
		l.MaxEmitBytes = 1 << 20
	}
	if l.MaxEmits <= 0 {
		l.MaxEmits = 64
	}
	if l.Pool <= 0 {
		l.Pool = 2
	}
	return l
}

// Check reports limits out of range.
func (l Limits) Check() error {
	var errs []error
	if l.MemoryMB > MaxMemoryMB {
		errs = append(errs, fmt.Errorf("memory_mb %d above the host's %d", l.MemoryMB, MaxMemoryMB))
	}
	if l.Timeout > time.Minute {
		errs = append(errs, fmt.Errorf("timeout %s above 1m", l.Timeout))
	}
	if l.Pool > 16 {
		errs = append(errs, fmt.Errorf("pool %d above 16", l.Pool))
	}
	return errors.Join(errs...)
}

// Host compiles modules, sharing one compilation cache (compiling a Go
// guest takes about a second; a cached one tens of milliseconds).
type Host struct {
	cache wazero.CompilationCache
	log   *slog.Logger
}

// NewHost returns a host whose compilation cache lives in cacheDir (in
// memory when empty).
func NewHost(cacheDir string, log *slog.Logger) (*Host, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &Host{log: log}
	if cacheDir == "" {
		h.cache = wazero.NewCompilationCache()
		return h, nil
	}
	c, err := wazero.NewCompilationCacheWithDir(cacheDir)
	if err != nil {
		return nil, fmt.Errorf("wasm: compilation cache: %w", err)
	}
	h.cache = c
	return h, nil
}

// Close releases the compilation cache.
func (h *Host) Close(ctx context.Context) error { return h.cache.Close(ctx) }

// Module is a compiled module in its own runtime (its memory cap and
// host functions), with a pool of idle instances.
type Module struct {
	rt       wazero.Runtime
	compiled wazero.CompiledModule
	lim      Limits
	start    []string
	log      *slog.Logger
	idle     chan *instance

	mu     sync.Mutex
	closed bool
}

// GuestError is a failed call into a guest. Kind is one of "timeout",
// "trap", "exit", "limit", "result" and "abi".
type GuestError struct {
	Kind   string
	Reason string
}

func (e *GuestError) Error() string { return "wasm guest " + e.Kind + ": " + e.Reason }

// Load compiles bin in a fresh runtime with lim and checks its ABI: the
// exports alloc, handle and memory, and imports limited to WASI, env.abort
// and the host functions caps grant.
func (h *Host) Load(ctx context.Context, bin []byte, caps []string, lim Limits) (*Module, error) {
	lim = lim.WithDefaults()
	if err := lim.Check(); err != nil {
		return nil, &GuestError{Kind: "limit", Reason: err.Error()}
	}
	cfg := wazero.NewRuntimeConfigCompiler().
		WithCompilationCache(h.cache).
		WithCloseOnContextDone(true).
		WithMemoryLimitPages(uint32(lim.MemoryMB) * 16)
	rt := wazero.NewRuntimeWithConfig(ctx, cfg)
	m := &Module{rt: rt, lim: lim, log: h.log, idle: make(chan *instance, lim.Pool)}
	if err := m.init(ctx, bin, caps); err != nil {
		rt.Close(ctx)
		return nil, err
	}
	return m, nil
}

func (m *Module) init(ctx context.Context, bin []byte, caps []string) error {
	compiled, err := m.rt.CompileModule(ctx, bin)
	if err != nil {
		return &GuestError{Kind: "abi", Reason: "not a valid WebAssembly module: " + err.Error()}
	}
	m.compiled = compiled
	if err := checkABI(compiled, caps); err != nil {
		return err
	}
	if _, ok := compiled.ExportedFunctions()["_initialize"]; ok {
		m.start = []string{"_initialize"}
	}
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, m.rt); err != nil {
		return fmt.Errorf("wasm: wasi: %w", err)
	}
	_, err = m.rt.NewHostModuleBuilder("env").
		NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(hostEmit), []api.ValueType{api.ValueTypeI32, api.ValueTypeI32}, []api.ValueType{api.ValueTypeI32}).Export("emit").
		NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(hostLog), []api.ValueType{api.ValueTypeI32, api.ValueTypeI32}, nil).Export("log").
		NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(hostAbort), []api.ValueType{api.ValueTypeI32, api.ValueTypeI32, api.ValueTypeI32, api.ValueTypeI32}, nil).Export("abort").
		Instantiate(ctx)
	if err != nil {
		return fmt.Errorf("wasm: host functions: %w", err)
	}
	// Instantiate once now, so that a module that cannot start is refused
	// at deploy rather than on its first event.
	inst, err := m.instantiate(ctx)
	if err != nil {
		return err
	}
	m.idle <- inst
	return nil
}

// checkABI verifies the exports the host calls and the imports the module
// asks for.
func checkABI(c wazero.CompiledModule, caps []string) error {
	var errs []string
	ex := c.ExportedFunctions()
	sig := func(name string, params, results int) {
		f, ok := ex[name]
		switch {
		case !ok:
			errs = append(errs, "does not export function "+name)
		case len(f.ParamTypes()) != params || len(f.ResultTypes()) != results:
			errs = append(errs, fmt.Sprintf("export %s has %d params and %d results, want %d and %d", name, len(f.ParamTypes()), len(f.ResultTypes()), params, results))
		}
	}
	sig("alloc", 1, 1)
	sig("handle", 2, 1)
	if _, ok := c.ExportedMemories()["memory"]; !ok {
		errs = append(errs, "does not export its memory")
	}
	for _, f := range c.ImportedFunctions() {
		mod, name, _ := f.Import()
		switch {
		case mod == wasi_snapshot_preview1.ModuleName:
		case mod == "env" && name == "abort":
		case mod == "env" && slices.Contains(KnownCapabilities, name):
			if !slices.Contains(caps, name) {
				errs = append(errs, fmt.Sprintf("imports env.%s without the %q capability in its claims", name, name))
			}
		default:
			errs = append(errs, fmt.Sprintf("imports %s.%s, which the host does not offer", mod, name))
		}
	}
	if len(errs) > 0 {
		return &GuestError{Kind: "abi", Reason: strings.Join(errs, "; ")}
	}
	return nil
}

// instance is one live module instance with its exports looked up.
type instance struct {
	mod    api.Module
	alloc  api.Function
	handle api.Function
	stderr *capped
}

func (m *Module) instantiate(ctx context.Context) (*instance, error) {
	stderr := &capped{max: 4096}
	cfg := wazero.NewModuleConfig().
		WithName(""). // anonymous: many instances of one module
		WithStartFunctions(m.start...).
		WithStdout(stderr).WithStderr(stderr).
		WithRandSource(rand.Reader).
		WithSysNanotime().WithSysWalltime()
	ictx, cancel := context.WithTimeout(ctx, 10*m.lim.Timeout)
	defer cancel()
	mod, err := m.rt.InstantiateModule(ictx, m.compiled, cfg)
	if err != nil {
		return nil, classify(ictx, err, stderr)
	}
	return &instance{mod: mod, alloc: mod.ExportedFunction("alloc"), handle: mod.ExportedFunction("handle"), stderr: stderr}, nil
}

// callKey carries the current call's state to the host functions.
type callKey struct{}

type call struct {
	lim  *Limits
	outs [][]byte
	log  *slog.Logger
}

// Handle runs the module on one event under the deadline and returns what
// it emitted. A failed instance is closed, never reused.
func (m *Module) Handle(ctx context.Context, event []byte) ([][]byte, error) {
	var inst *instance
	select {
	case inst = <-m.idle:
	default:
		var err error
		if inst, err = m.instantiate(ctx); err != nil {
			return nil, err
		}
	}
	c := &call{lim: &m.lim, log: m.log}
	outs, err := m.run(context.WithValue(ctx, callKey{}, c), inst, c, event)
	if err != nil {
		inst.mod.Close(context.Background())
		return nil, err
	}
	m.mu.Lock()
	closed := m.closed
	m.mu.Unlock()
	select {
	case m.idle <- inst:
		if closed {
			m.drain()
		}
	default:
		inst.mod.Close(context.Background())
	}
	return outs, nil
}

func (m *Module) run(ctx context.Context, inst *instance, c *call, event []byte) ([][]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, m.lim.Timeout)
	defer cancel()
	inst.stderr.Reset()
	res, err := inst.alloc.Call(ctx, uint64(len(event)))
	if err != nil {
		return nil, classify(ctx, err, inst.stderr)
	}
	ptr := uint32(res[0])
	if !inst.mod.Memory().Write(ptr, event) {
		return nil, &GuestError{Kind: "abi", Reason: fmt.Sprintf("alloc(%d) returned %#x, outside its memory", len(event), ptr)}
	}
	res, err = inst.handle.Call(ctx, uint64(ptr), uint64(len(event)))
	if err != nil {
		return nil, classify(ctx, err, inst.stderr)
	}
	if code := int32(res[0]); code != 0 {
		return nil, &GuestError{Kind: "result", Reason: fmt.Sprintf("handle returned %d%s", code, inst.stderr.tail())}
	}
	return c.outs, nil
}

// classify turns a call error into a GuestError that says what happened.
func classify(ctx context.Context, err error, stderr *capped) error {
	var ge *GuestError
	if errors.As(err, &ge) {
		return ge
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return &GuestError{Kind: "timeout", Reason: "deadline exceeded; instance closed"}
	}
	var exit *sys.ExitError
	if errors.As(err, &exit) {
		switch exit.ExitCode() {
		case sys.ExitCodeDeadlineExceeded:
			return &GuestError{Kind: "timeout", Reason: "deadline exceeded; instance closed"}
		case sys.ExitCodeContextCanceled:
			return &GuestError{Kind: "timeout", Reason: "cancelled"}
		}
		return &GuestError{Kind: "exit", Reason: fmt.Sprintf("exited with code %d%s", exit.ExitCode(), stderr.tail())}
	}
	msg, _, _ := strings.Cut(err.Error(), "\nwasm stack trace")
	return &GuestError{Kind: "trap", Reason: msg + stderr.tail()}
}

// drain closes the idle instances of a closed module.
func (m *Module) drain() {
	for {
		select {
		case inst := <-m.idle:
			inst.mod.Close(context.Background())
		default:
			return
		}
	}
}

// Close closes every instance and the module's runtime.
func (m *Module) Close(ctx context.Context) error {
	m.mu.Lock()
	m.closed = true
	m.mu.Unlock()
	m.drain()
	return m.rt.Close(ctx)
}

// Limits returns the module's effective limits.
func (m *Module) Limits() Limits { return m.lim }

func hostEmit(ctx context.Context, mod api.Module, stack []uint64) {
	c, _ := ctx.Value(callKey{}).(*call)
	if c == nil {
		panic(&GuestError{Kind: "abi", Reason: "emit called outside handle"})
	}
	ptr, n := uint32(stack[0]), uint32(stack[1])
	if int(n) > c.lim.MaxEmitBytes {
		panic(&GuestError{Kind: "limit", Reason: fmt.Sprintf("emit of %d bytes exceeds the limit of %d", n, c.lim.MaxEmitBytes)})
	}
	if len(c.outs) >= c.lim.MaxEmits {
		panic(&GuestError{Kind: "limit", Reason: fmt.Sprintf("more than %d emits for one event", c.lim.MaxEmits)})
	}
	b, ok := mod.Memory().Read(ptr, n)
	if !ok {
		panic(&GuestError{Kind: "abi", Reason: fmt.Sprintf("emit(%#x, %d) outside the guest's memory", ptr, n)})
	}
	c.outs = append(c.outs, bytes.Clone(b))
	stack[0] = 0
}

// maxLog bounds one log line from a guest.
const maxLog = 1024

func hostLog(ctx context.Context, mod api.Module, stack []uint64) {
	c, _ := ctx.Value(callKey{}).(*call)
	ptr, n := uint32(stack[0]), uint32(stack[1])
	if c == nil {
		return
	}
	b, ok := mod.Memory().Read(ptr, min(n, maxLog))
	if ok {
		c.log.Info("guest: " + string(b))
	}
}

// hostAbort is AssemblyScript's abort(message, file, line, column): the
// strings are UTF-16 with their byte length in the 4 bytes before them.
func hostAbort(ctx context.Context, mod api.Module, stack []uint64) {
	msg := asString(mod, uint32(stack[0]))
	file := asString(mod, uint32(stack[1]))
	panic(&GuestError{Kind: "trap", Reason: fmt.Sprintf("abort: %s at %s:%d:%d", msg, file, uint32(stack[2]), uint32(stack[3]))})
}

func asString(mod api.Module, ptr uint32) string {
	if ptr < 4 {
		return ""
	}
	n, ok := mod.Memory().ReadUint32Le(ptr - 4)
	if !ok || n > 1024 {
		return ""
	}
	b, ok := mod.Memory().Read(ptr, n&^1)
	if !ok {
		return ""
	}
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = uint16(b[2*i]) | uint16(b[2*i+1])<<8
	}
	return string(utf16.Decode(u))
}

// capped keeps the first max bytes a guest writes to stdout/stderr, so
// that a crash's message can be reported.
type capped struct {
	max int
	buf []byte
}

func (c *capped) Write(p []byte) (int, error) {
	if room := c.max - len(c.buf); room > 0 {
		c.buf = append(c.buf, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

func (c *capped) Reset() { c.buf = c.buf[:0] }

// tail is the guest's output, if any, as ": <first lines>".
func (c *capped) tail() string {
	s := strings.TrimSpace(string(c.buf))
	if s == "" {
		return ""
	}
	lines := strings.SplitN(s, "\n", 3)
	if len(lines) > 2 {
		lines = lines[:2]
	}
	return ": " + strings.Join(lines, " | ")
}
