package rulediff

import (
	"bytes"
	"encoding/json"
	"sort"
	"strconv"
)

// FieldDiff is one value that differs between the base and the working
// outcome: a JSON path ("data.items[0].quantity", "fired", "tags") and the
// compact JSON on each side, Absent where the member is missing.
type FieldDiff struct {
	Path    string `json:"path"`
	Base    string `json:"base"`
	Working string `json:"working"`
}

// Absent stands for a member or element missing on one side (it is not a
// JSON value, so it cannot be mistaken for one).
const Absent = "(absent)"

// Diffs lists where two outcomes differ, data members first in path order,
// then fired rules, Event actions and the error.
func Diffs(base, working *Outcome) []FieldDiff {
	if base.Ran != working.Ran {
		return []FieldDiff{{Path: "ran", Base: strconv.FormatBool(base.Ran), Working: strconv.FormatBool(working.Ran)}}
	}
	var out []FieldDiff
	out = diffJSON(out, "data", decodeJSON(base.Data), decodeJSON(working.Data))
	for _, f := range []struct {
		path string
		b, w any
	}{
		{"fired", base.Fired, working.Fired},
		{"tags", base.Tags, working.Tags},
		{"routes", base.Routes, working.Routes},
		{"dropped", base.Dropped, working.Dropped},
		{"error", base.Error, working.Error},
	} {
		b, w := compact(f.b), compact(f.w)
		if b != w {
			out = append(out, FieldDiff{Path: f.path, Base: b, Working: w})
		}
	}
	return out
}

// absent marks a missing value in diffJSON (JSON null is nil).
type absent struct{}

func decodeJSON(b []byte) any {
	if b == nil {
		return absent{}
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return string(b)
	}
	return v
}

// diffJSON appends the differences between b and w below path.
func diffJSON(out []FieldDiff, path string, b, w any) []FieldDiff {
	switch bv := b.(type) {
	case map[string]any:
		if wv, ok := w.(map[string]any); ok {
			keys := make([]string, 0, len(bv)+len(wv))
			for k := range bv {
				keys = append(keys, k)
			}
			for k := range wv {
				if _, dup := bv[k]; !dup {
					keys = append(keys, k)
				}
			}
			sort.Strings(keys)
			for _, k := range keys {
				out = diffJSON(out, path+"."+k, member(bv, k), member(wv, k))
			}
			return out
		}
	case []any:
		if wv, ok := w.([]any); ok {
			for i := 0; i < max(len(bv), len(wv)); i++ {
				out = diffJSON(out, path+"["+strconv.Itoa(i)+"]", element(bv, i), element(wv, i))
			}
			return out
		}
	}
	if bs, ws := compact(b), compact(w); bs != ws {
		out = append(out, FieldDiff{Path: path, Base: bs, Working: ws})
	}
	return out
}

func member(m map[string]any, k string) any {
	if v, ok := m[k]; ok {
		return v
	}
	return absent{}
}

func element(a []any, i int) any {
	if i < len(a) {
		return a[i]
	}
	return absent{}
}

// compact is v as compact JSON, Absent for a missing value.
func compact(v any) string {
	if _, ok := v.(absent); ok {
		return Absent
	}
	if s, ok := v.([]string); ok && s == nil {
		v = []string{}
	}
	b, err := json.Marshal(v)
	if err != nil {
		return err.Error()
	}
	return string(b)
}
