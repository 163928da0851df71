// Command goguest is the Go example of a WASM consumer (and, on command,
// a hostile one for the containment tests). Build it as a reactor:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o guest.wasm .
//
// ABI: the host calls alloc(n) for a buffer, writes the event (a structured
// CloudEvent, JSON) there and calls handle(ptr, n); the guest calls
// emit(ptr, n) for each output event and log(ptr, n) for diagnostics;
// handle returns 0 on success.
package main

import (
	"encoding/json"
	"strings"
	"unsafe"
)

//go:wasmimport env emit
func emit(ptr, n uint32) uint32

//go:wasmimport env log
func hostLog(ptr, n uint32)

// buf is the input buffer, kept alive and reused between events.
var buf []byte

//go:wasmexport alloc
func alloc(n uint32) uint32 {
	if uint32(cap(buf)) < n {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	return uint32(uintptr(unsafe.Pointer(unsafe.SliceData(buf))))
}

type event struct {
	ID       string          `json:"id"`
	Type     string          `json:"type"`
	TenantID string          `json:"tenantid"`
	Data     json.RawMessage `json:"data"`
}

// Summary is what the guest emits for each event.
type Summary struct {
	SourceID string `json:"source_id"`
	Type     string `json:"type"`
	Tenant   string `json:"tenant"`
	Keys     string `json:"keys"`
	Guest    string `json:"guest"`
}

// keep holds the memory bomb's allocations.
var keep [][]byte

//go:wasmexport handle
func handle(ptr, n uint32) uint32 {
	in := unsafe.Slice((*byte)(unsafe.Pointer(uintptr(ptr))), n)
	var ev event
	if err := json.Unmarshal(in, &ev); err != nil {
		say("not JSON: " + err.Error())
		return 1
	}
	var data map[string]any
	_ = json.Unmarshal(ev.Data, &data)
	switch data["mode"] {
	case "loop":
		for {
		}
	case "bomb":
		for {
			keep = append(keep, make([]byte, 8<<20))
		}
	case "trap":
		panic("guest trapped on purpose")
	case "bigemit":
		out := []byte(strings.Repeat("x", 2<<20))
		emit(uint32(uintptr(unsafe.Pointer(&out[0]))), uint32(len(out)))
		return 0
	case "fail":
		return 7
	}
	keys := make([]string, 0, len(data))
	for k := range data {
		keys = append(keys, k)
	}
	sortStrings(keys)
	out, _ := json.Marshal(Summary{SourceID: ev.ID, Type: ev.Type, Tenant: ev.TenantID, Keys: strings.Join(keys, ","), Guest: "go"})
	if emit(uint32(uintptr(unsafe.Pointer(&out[0]))), uint32(len(out))) != 0 {
		return 2
	}
	return 0
}

func say(s string) {
	b := []byte(s)
	hostLog(uint32(uintptr(unsafe.Pointer(&b[0]))), uint32(len(b)))
}

// sortStrings is an insertion sort: keeps the guest free of package sort.
func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

func main() {}
