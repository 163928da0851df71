package cloudevents

import (
	"net/url"
	"testing"
)

var percentSeeds = []string{"", "abc", "a%20b", "a+b", "%", "%2", "%zz", "%FF%FE", "%e2%82%ac", "%00", "100%", "%%41"}

// FuzzPercentDecode holds the binary mode's percent-decoding to
// url.PathUnescape, which also leaves '+' alone.
func FuzzPercentDecode(f *testing.F) {
	for _, s := range percentSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := PercentDecode(s)
		want, werr := url.PathUnescape(s)
		if (err == nil) != (werr == nil) || err == nil && got != want {
			t.Fatalf("PercentDecode(%q) = %q, %v; url.PathUnescape = %q, %v", s, got, err, want, werr)
		}
	})
}

func TestPercentDecodeSeeds(t *testing.T) {
	for _, s := range percentSeeds {
		got, err := PercentDecode(s)
		want, werr := url.PathUnescape(s)
		if (err == nil) != (werr == nil) || err == nil && got != want {
			t.Errorf("PercentDecode(%q) = %q, %v; url.PathUnescape = %q, %v", s, got, err, want, werr)
		}
	}
}
