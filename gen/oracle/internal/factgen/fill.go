package factgen

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
)

// Probabilities, in percent, of the filler's choices.
const (
	pAbsent   = 15 // an optional property is left at its zero value (absent)
	pLiteral  = 45 // a value is drawn from the GRL literals and their neighbours
	pExtreme  = 4  // an unbounded integer takes an extreme value (to exercise wrap)
	pEmptyReq = 4  // a required free-form string without minLength is empty
)

// Filler fills generated fact structs with random values that honour a
// schema. It is stateless apart from its inputs; all randomness comes from
// the *rand.Rand passed in, so a seed reproduces a fact.
type Filler struct {
	root *Node
	lits Literals
	fact string
}

// NewFiller returns a filler for facts of one schema bound under the GRL
// name fact, biased towards lits.
func NewFiller(root *Node, lits Literals, fact string) *Filler {
	return &Filler{root: root, lits: lits, fact: fact}
}

// pool picks the literals to draw from for a variable: mostly those it is
// compared with, when there are any, else all of the knowledge base's.
func (f *Filler) pool(r *rand.Rand, path string) *Literals {
	if fl := f.lits.Fields[path]; fl != nil && (len(fl.Strings) > 0 || len(fl.Numbers) > 0) && r.IntN(100) < 70 {
		return fl
	}
	return &f.lits
}

// Fill zeroes the struct fact points to and fills it. Struct fields are
// matched to schema properties by their json tag; fields without a matching
// property keep their zero value.
func (f *Filler) Fill(r *rand.Rand, fact any) error {
	v := reflect.ValueOf(fact)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return fmt.Errorf("factgen: Fill needs a pointer to a struct, got %T", fact)
	}
	v = v.Elem()
	v.SetZero()
	return f.fillStruct(r, v, f.root, f.fact)
}

func (f *Filler) fillStruct(r *rand.Rand, v reflect.Value, n *Node, path string) error {
	t := v.Type()
	for i := range t.NumField() {
		sf := t.Field(i)
		name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
		prop := n.Properties[name]
		if !sf.IsExported() || prop == nil {
			continue
		}
		if err := f.fillValue(r, v.Field(i), prop, !n.req[name], path+"."+sf.Name); err != nil {
			return err
		}
	}
	return nil
}

func (f *Filler) fillValue(r *rand.Rand, v reflect.Value, n *Node, optional bool, path string) error {
	if optional && v.Kind() != reflect.Slice && r.IntN(100) < pAbsent {
		return nil // absent: zero value, as the codec decodes a missing property
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(f.genString(r, n, optional, f.pool(r, path)))
	case reflect.Int64, reflect.Int:
		v.SetInt(f.genInt(r, n, f.pool(r, path)))
	case reflect.Float64:
		v.SetFloat(f.genFloat(r, n, f.pool(r, path)))
	case reflect.Bool:
		v.SetBool(r.IntN(2) == 0)
	case reflect.Struct:
		return f.fillStruct(r, v, n, path)
	case reflect.Slice:
		if n.Items == nil {
			return fmt.Errorf("factgen: %s: array without items", path)
		}
		size := f.genLen(r, n, f.pool(r, path))
		s := reflect.MakeSlice(v.Type(), size, size)
		for i := range size {
			// Elements share the path: GRL literals are not tied to an index.
			if err := f.fillValue(r, s.Index(i), n.Items, false, path); err != nil {
				return err
			}
		}
		v.Set(s)
	default:
		return fmt.Errorf("factgen: %s: unsupported field kind %s", path, v.Kind())
	}
	return nil
}

// bounds returns the inclusive bounds of a number node, ±Inf when absent.
func bounds(n *Node) (lo, hi float64) {
	lo, hi = math.Inf(-1), math.Inf(1)
	if n.Minimum != nil {
		lo = *n.Minimum
	}
	if n.Maximum != nil {
		hi = *n.Maximum
	}
	return lo, hi
}

// near picks an anchor (a boundary or a literal) and returns it exactly
// half of the time, else moved by one of deltas; ok is false when nothing
// near an anchor lies within [lo, hi].
func near(r *rand.Rand, lo, hi float64, anchors, deltas []float64) (float64, bool) {
	for range 8 {
		x := anchors[r.IntN(len(anchors))]
		if r.IntN(2) == 0 {
			x += deltas[r.IntN(len(deltas))]
		}
		if x >= lo && x <= hi && !math.IsInf(x, 0) {
			return x, true
		}
	}
	return 0, false
}

func anchors(lo, hi float64, lits *Literals) []float64 {
	a := []float64{0, 1, -1}
	if !math.IsInf(lo, 0) {
		a = append(a, lo)
	}
	if !math.IsInf(hi, 0) {
		a = append(a, hi)
	}
	return append(a, lits.Numbers...)
}

func (f *Filler) genInt(r *rand.Rand, n *Node, lits *Literals) int64 {
	lo, hi := bounds(n)
	p := r.IntN(100)
	if p < pLiteral {
		if x, ok := near(r, math.Max(lo, math.MinInt64), math.Min(hi, math.MaxInt64-1024), anchors(lo, hi, lits), []float64{1, -1}); ok {
			return int64(x) // truncates a float literal toward zero
		}
	}
	if p < pLiteral+pExtreme {
		if math.IsInf(hi, 1) {
			return math.MaxInt64 - r.Int64N(3)
		}
		if math.IsInf(lo, -1) {
			return math.MinInt64 + r.Int64N(3)
		}
	}
	a, b := math.Max(lo, -1000), math.Min(hi, 1000)
	if a > b { // the range lies entirely beyond ±1000
		a, b = lo, math.Min(hi, lo+1000)
	}
	return int64(a) + r.Int64N(int64(b)-int64(a)+1)
}

func (f *Filler) genFloat(r *rand.Rand, n *Node, lits *Literals) float64 {
	lo, hi := bounds(n)
	if r.IntN(100) < pLiteral {
		if x, ok := near(r, lo, hi, anchors(lo, hi, lits), []float64{1, -1, 0.5, -0.5, 0.01, -0.01}); ok {
			return x
		}
	}
	scales := []float64{1, 10, 100, 1000, 20000}
	s := scales[r.IntN(len(scales))]
	a, b := math.Max(lo, -s), math.Min(hi, s)
	if a > b {
		a, b = lo, math.Min(hi, lo+s)
	}
	x := a + r.Float64()*(b-a)
	if r.IntN(10) < 7 { // prices and measurements mostly have two decimals
		x = math.Round(x*100) / 100
		x = math.Min(math.Max(x, a), b)
	}
	if x == 0 {
		x = 0 // not -0, which rounding can yield and no JSON event carries
	}
	return x
}

// genLen picks an array length within minItems..maxItems, mostly short,
// sometimes just past a GRL literal (for conditions like Len() > 5).
func (f *Filler) genLen(r *rand.Rand, n *Node, lits *Literals) int {
	lo, hi := 0, 1<<20
	if n.MinItems != nil {
		lo = *n.MinItems
	}
	if n.MaxItems != nil {
		hi = *n.MaxItems
	}
	clamp := func(x int) int { return min(max(x, lo), hi) }
	switch p := r.IntN(100); {
	case p < 60:
		return clamp(lo + r.IntN(5))
	case p < 85:
		var cands []int
		for _, l := range lits.Numbers {
			if l >= 0 && l <= 16 && l == math.Trunc(l) {
				cands = append(cands, int(l), int(l)+1)
			}
		}
		if len(cands) > 0 {
			return clamp(cands[r.IntN(len(cands))])
		}
		return clamp(lo)
	default:
		return clamp(lo + r.IntN(13))
	}
}
