package factgen

import (
	"fmt"
	"math"
	"reflect"
)

// Clone returns a deep copy of p, a non-nil pointer (to a fact struct): new
// backing arrays for slices, nil slices kept nil and empty ones empty. The
// result has p's dynamic type.
func Clone[T any](p T) T {
	v := reflect.ValueOf(p)
	c := reflect.New(v.Type().Elem())
	deepCopy(c.Elem(), v.Elem())
	return c.Interface().(T)
}

func deepCopy(dst, src reflect.Value) {
	switch src.Kind() {
	case reflect.Struct:
		for i := range src.NumField() {
			if dst.Field(i).CanSet() {
				deepCopy(dst.Field(i), src.Field(i))
			}
		}
	case reflect.Slice:
		if src.IsNil() {
			dst.SetZero()
			return
		}
		s := reflect.MakeSlice(src.Type(), src.Len(), src.Len())
		for i := range src.Len() {
			deepCopy(s.Index(i), src.Index(i))
		}
		dst.Set(s)
	case reflect.Pointer:
		if src.IsNil() {
			dst.SetZero()
			return
		}
		p := reflect.New(src.Type().Elem())
		deepCopy(p.Elem(), src.Elem())
		dst.Set(p)
	default:
		dst.Set(src)
	}
}

// Diff lists the differences between two values of the same type, by Go
// path, at most max of them. Floats are equal when their bits are (so NaN
// equals NaN and 0 differs from -0: both executors must produce the same
// value, not a close one).
func Diff(a, b any, max int) []string {
	var out []string
	diff(reflect.ValueOf(a), reflect.ValueOf(b), "", &out, max)
	return out
}

func diff(a, b reflect.Value, path string, out *[]string, max int) {
	if len(*out) >= max {
		return
	}
	if a.Type() != b.Type() {
		*out = append(*out, fmt.Sprintf("%s: type %s != %s", path, a.Type(), b.Type()))
		return
	}
	switch a.Kind() {
	case reflect.Pointer, reflect.Interface:
		if a.IsNil() || b.IsNil() {
			if a.IsNil() != b.IsNil() {
				*out = append(*out, fmt.Sprintf("%s: nil %v != %v", path, a.IsNil(), b.IsNil()))
			}
			return
		}
		diff(a.Elem(), b.Elem(), path, out, max)
	case reflect.Struct:
		for i := range a.NumField() {
			diff(a.Field(i), b.Field(i), path+"."+a.Type().Field(i).Name, out, max)
		}
	case reflect.Slice:
		if a.Len() != b.Len() || a.IsNil() != b.IsNil() {
			*out = append(*out, fmt.Sprintf("%s: len %d (nil %v) != %d (nil %v)", path, a.Len(), a.IsNil(), b.Len(), b.IsNil()))
			return
		}
		for i := range a.Len() {
			diff(a.Index(i), b.Index(i), fmt.Sprintf("%s[%d]", path, i), out, max)
		}
	case reflect.Float32, reflect.Float64:
		x, y := a.Float(), b.Float()
		if math.Float64bits(x) != math.Float64bits(y) && !(math.IsNaN(x) && math.IsNaN(y)) {
			*out = append(*out, fmt.Sprintf("%s: %v != %v", path, x, y))
		}
	default:
		if a.CanInterface() && b.CanInterface() && !reflect.DeepEqual(a.Interface(), b.Interface()) {
			*out = append(*out, fmt.Sprintf("%s: %#v != %#v", path, a.Interface(), b.Interface()))
		}
	}
}
