package cloudevents

import (
	"errors"
	"io"
	"strings"
	"testing"
)

func TestStreamReader(t *testing.T) {
	tests := []struct {
		name, in string
		want     []string
		wantErr  bool
	}{
		{"one object", `{"id":"1"}`, []string{`{"id":"1"}`}, false},
		{"lines", "{\"id\":\"1\"}\n{\"id\":\"2\"}\n", []string{`{"id":"1"}`, `{"id":"2"}`}, false},
		{"array", ` [ {"id":"1"}, {"id":"2"} ] `, []string{`{"id":"1"}`, `{"id":"2"}`}, false},
		{"mixed", "[{\"id\":\"1\"}]\n{\"id\":\"2\"}\n[]\n[{\"id\":\"3\"}]", []string{`{"id":"1"}`, `{"id":"2"}`, `{"id":"3"}`}, false},
		{"empty", "  \n", nil, false},
		{"truncated", `{"id":`, nil, true},
		{"bad array", `[{"id":"1"} {"id":"2"}]`, []string{`{"id":"1"}`}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewStreamReader(strings.NewReader(tt.in))
			var got []string
			var err error
			for {
				var raw []byte
				raw, err = r.Next()
				if err != nil {
					break
				}
				got = append(got, string(raw))
			}
			if errors.Is(err, io.EOF) {
				err = nil
			}
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}
