package factgen

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"regexp/syntax"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// order mirrors the generated struct of schemas/com.acme.order.created/v1.json
// (json tags name the properties), so these tests do not depend on generated/.
type order struct {
	OrderId     string   `json:"orderId"`
	Customer    customer `json:"customer"`
	Items       []item   `json:"items"`
	Currency    string   `json:"currency"`
	Total       float64  `json:"total"`
	Discount    float64  `json:"discount,omitzero"`
	Status      string   `json:"status,omitzero"`
	Priority    int64    `json:"priority,omitzero"`
	Risk        float64  `json:"riskScore,omitzero"`
	Channel     string   `json:"channel,omitzero"`
	Coupon      string   `json:"coupon,omitzero"`
	GiftWrap    bool     `json:"giftWrap,omitzero"`
	Remarks     string   `json:"notes,omitzero"`
	Created     string   `json:"createdAt"`
	Address     address  `json:"shippingAddress,omitzero"`
	NotInSchema string
}

type customer struct {
	Id         string `json:"id"`
	Email      string `json:"email"`
	Tier       string `json:"tier"`
	Country    string `json:"country,omitzero"`
	OrderCount int64  `json:"orderCount,omitzero"`
}

type item struct {
	Sku       string  `json:"sku"`
	Name      string  `json:"name,omitzero"`
	Quantity  int64   `json:"quantity"`
	UnitPrice float64 `json:"unitPrice"`
	Category  string  `json:"category,omitzero"`
}

type address struct {
	Line1      string `json:"line1,omitzero"`
	City       string `json:"city,omitzero"`
	PostalCode string `json:"postalCode,omitzero"`
	Country    string `json:"country,omitzero"`
}

func orderSchema(t testing.TB) *Node {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "..", "..", "schemas", "com.acme.order.created", "v1.json"))
	if err != nil {
		t.Fatal(err)
	}
	n, err := ParseSchema(data)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

var orderLits = ExtractLiterals(`
rule A { when Order.Coupon.ToUpper().HasPrefix("WELCOME") && Order.Total >= 500 then Order.Status = "review"; }
rule B { when Order.Customer.Country == "US" && Order.Items.Len() > 5 && Order.Risk > 0.75 then Order.Remarks = "x"; }
`)

// TestFillHonoursSchema checks every generated value against the schema it
// was generated from.
func TestFillHonoursSchema(t *testing.T) {
	n := orderSchema(t)
	f := NewFiller(n, orderLits, "Order")
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 3000 {
		var o order
		if err := f.Fill(r, &o); err != nil {
			t.Fatal(err)
		}
		var problems []string
		check(n, reflect.ValueOf(o), "$", true, &problems)
		if len(problems) > 0 {
			t.Fatalf("fact %d breaks its schema: %s\n%+v", i, strings.Join(problems, "; "), o)
		}
		if o.NotInSchema != "" {
			t.Fatal("a field without a schema property was filled")
		}
	}
}

// check is an independent validator of the schema subset.
func check(n *Node, v reflect.Value, path string, required bool, problems *[]string) {
	bad := func(format string, args ...any) {
		*problems = append(*problems, path+": "+fmt.Sprintf(format, args...))
	}
	if !required && v.IsZero() {
		return // absent
	}
	switch v.Kind() {
	case reflect.String:
		s := v.String()
		if len(n.Enum) > 0 && !slices.Contains(n.Enum, s) {
			bad("%q not in enum", s)
		}
		l := utf8.RuneCountInString(s)
		if n.MinLength != nil && l < *n.MinLength || n.MaxLength != nil && l > *n.MaxLength {
			bad("length %d out of bounds", l)
		}
		if n.re != nil && !n.re.MatchString(s) {
			bad("%q does not match %s", s, n.Pattern)
		}
		if n.Format != "" && !validFormat(n.Format, s) {
			bad("%q is not a %s", s, n.Format)
		}
	case reflect.Int64, reflect.Float64:
		x := v.Convert(reflect.TypeFor[float64]()).Float()
		lo, hi := bounds(n)
		if math.IsInf(x, 0) || math.IsNaN(x) {
			bad("%v is not a JSON number", x)
		}
		if x < lo || x > hi {
			bad("%v out of [%v, %v]", x, lo, hi)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			name, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("json"), ",")
			if p := n.Properties[name]; p != nil {
				check(p, v.Field(i), path+"."+name, n.req[name], problems)
			}
		}
	case reflect.Slice:
		if n.MinItems != nil && v.Len() < *n.MinItems || n.MaxItems != nil && v.Len() > *n.MaxItems {
			bad("%d items out of bounds", v.Len())
		}
		for i := range v.Len() {
			check(n.Items, v.Index(i), fmt.Sprintf("%s[%d]", path, i), true, problems)
		}
	}
}

// TestFillCoversBothWays checks the bias: literals, their neighbours,
// boundaries and absent optional values all occur.
func TestFillCoversBothWays(t *testing.T) {
	f := NewFiller(orderSchema(t), orderLits, "Order")
	r := rand.New(rand.NewPCG(3, 4))
	seen := map[string]int{}
	for range 3000 {
		var o order
		if err := f.Fill(r, &o); err != nil {
			t.Fatal(err)
		}
		hit := func(name string, ok bool) {
			if ok {
				seen[name]++
			}
		}
		hit("total=500", o.Total == 500)
		hit("total=499", o.Total == 499)
		hit("total>500", o.Total > 501)
		hit("total=0", o.Total == 0)
		hit("coupon WELCOME*", strings.HasPrefix(strings.ToUpper(o.Coupon), "WELCOME"))
		hit("coupon other", o.Coupon != "" && !strings.HasPrefix(strings.ToUpper(o.Coupon), "WELCOME"))
		hit("coupon absent", o.Coupon == "")
		hit("country US", o.Customer.Country == "US")
		hit("country other", o.Customer.Country != "" && o.Customer.Country != "US")
		hit("6+ items", len(o.Items) > 5)
		hit("1 item", len(o.Items) == 1)
		hit("risk 0.75", o.Risk == 0.75)
		hit("risk 0.76", o.Risk == 0.76)
		hit("status absent", o.Status == "")
		hit("tier platinum", o.Customer.Tier == "platinum")
		hit("gift", o.GiftWrap)
		hit("address absent", o.Address == address{})
	}
	for _, want := range []string{"total=500", "total=499", "total>500", "total=0", "coupon WELCOME*", "coupon other",
		"coupon absent", "country US", "country other", "6+ items", "1 item", "risk 0.75", "risk 0.76",
		"status absent", "tier platinum", "gift", "address absent"} {
		if seen[want] < 5 {
			t.Errorf("%s: seen %d times in 3000 facts", want, seen[want])
		}
	}
}

func TestFillDeterministic(t *testing.T) {
	f := NewFiller(orderSchema(t), orderLits, "Order")
	var a, b order
	if err := f.Fill(rand.New(rand.NewPCG(9, 9)), &a); err != nil {
		t.Fatal(err)
	}
	if err := f.Fill(rand.New(rand.NewPCG(9, 9)), &b); err != nil {
		t.Fatal(err)
	}
	if d := Diff(&a, &b, 5); len(d) > 0 {
		t.Errorf("same seed, different facts: %v", d)
	}
	if err := f.Fill(rand.New(rand.NewPCG(9, 9)), a); err == nil {
		t.Error("Fill accepted a non-pointer")
	}
}

func TestExtractLiterals(t *testing.T) {
	lits := ExtractLiterals(`// "in a comment" 77
rule R "description" salience 10 {
	when X.A == "a" && X.B > 1.5 && X.C < -3 && X.D == 'single' && X.E != 0x10
	then X.S = "a" + "b";
}`)
	wantS := []string{"a", "b", "single"}
	wantN := []float64{-16, -10, -3, -1.5, 1.5, 3, 10, 16}
	if !reflect.DeepEqual(lits.Strings, wantS) || !reflect.DeepEqual(lits.Numbers, wantN) {
		t.Errorf("got %s\nwant strings %q numbers %v", lits, wantS, wantN)
	}
}

func TestGenRegexp(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, pat := range []string{`^[A-Z]{2}$`, `^[A-Z0-9-]{3,32}$`, `^dev-[a-z0-9]{4,16}$`, `^[0-9]+\.[0-9]+\.[0-9]+$`,
		`^(ab|cd)?x*y+$`, `[^a-z]z`, `^.{2,4}$`} {
		n, err := ParseSchema([]byte(fmt.Sprintf(`{"type":"string","pattern":%q}`, pat)))
		if err != nil {
			t.Fatal(err)
		}
		for range 200 {
			if s := genRegexp(r, n.reAST); !n.re.MatchString(s) {
				t.Fatalf("%s: generated %q does not match", pat, s)
			}
		}
	}
	if _, err := syntax.Parse(`(`, syntax.Perl); err == nil {
		t.Fatal("syntax check broken")
	}
	if _, err := ParseSchema([]byte(`{"type":"string","pattern":"("}`)); err == nil {
		t.Error("bad pattern accepted")
	}
}

func TestCloneAndDiff(t *testing.T) {
	a := &order{Items: []item{{Sku: "A", Quantity: 1}}, Total: math.NaN(), Address: address{City: "Oslo"}}
	b := Clone(a)
	if d := Diff(a, b, 10); len(d) > 0 {
		t.Fatalf("clone differs: %v", d)
	}
	b.Items[0].Quantity = 2
	b.Address.City = "Bergen"
	if a.Items[0].Quantity != 1 {
		t.Fatal("clone shares the items array")
	}
	d := Diff(a, b, 10)
	want := []string{".Items[0].Quantity: 1 != 2", `.Address.City: "Oslo" != "Bergen"`}
	if !reflect.DeepEqual(d, want) {
		t.Errorf("Diff = %q, want %q", d, want)
	}
	empty := &order{Items: []item{}}
	if d := Diff(empty, &order{}, 10); len(d) != 1 {
		t.Errorf("empty vs nil slice: %v", d)
	}
	if c := Clone(empty); c.Items == nil {
		t.Error("Clone turned an empty slice into nil")
	}
	if d := Diff(&order{Total: 0}, &order{Total: math.Copysign(0, -1)}, 10); len(d) != 1 {
		t.Errorf("0 vs -0: %v", d)
	}
}

func TestExtractFieldLiterals(t *testing.T) {
	lits := ExtractLiterals(`rule R "d" {
	when O.Coupon.ToUpper().HasPrefix("WELCOME") && O.Items[0].Category == "toys" &&
		O.Dims.L + 2 * O.Dims.W > 300 || Event.Source.Contains("sandbox") && O.Samples[O.Samples.Len() - 1] > 10
	then O.Remarks = O.Remarks + "x;"; Retract("R"); Event.Tag("t");
}`)
	got := map[string]string{}
	for k, v := range lits.Fields {
		got[k] = v.String()
	}
	want := map[string]string{
		"O.Coupon":         `strings "WELCOME" numbers `,
		"O.Items.Category": `strings "toys" numbers 0`,
		"O.Dims.L":         `strings "" numbers -300,-2,2,300`,
		"O.Dims.W":         `strings "" numbers -300,-2,2,300`,
		"Event.Source":     `strings "sandbox" numbers `,
		"O.Samples":        `strings "" numbers -10,-1,1,10`,
		"O.Remarks":        `strings "x;" numbers `,
		"Event":            `strings "t" numbers `,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("fields:\n got %q\nwant %q", got, want)
	}
}

// FuzzExtractLiterals: any text, GRL or not, lexes without panicking and
// every literal found is in the overall lists.
func FuzzExtractLiterals(f *testing.F) {
	f.Add(`rule R "d" salience 1 { when X.A[X.B.Len() - 1].C.ToUpper().HasPrefix("p") && X.N > -2.5 then Retract("R"); }`)
	f.Add(`rule { when ( ] ) [ . . "unterminated`)
	f.Add("0x1F 077 1e400 'single' \"\"")
	f.Fuzz(func(t *testing.T, text string) {
		lits := ExtractLiterals(text)
		for path, fl := range lits.Fields {
			for _, s := range fl.Strings {
				if !slices.Contains(lits.Strings, s) {
					t.Fatalf("%s: string %q missing from the overall list", path, s)
				}
			}
			for _, n := range fl.Numbers {
				if !slices.Contains(lits.Numbers, n) {
					t.Fatalf("%s: number %v missing from the overall list", path, n)
				}
			}
		}
	})
}
