package problem

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestWrite(t *testing.T) {
	tests := []struct {
		status     int
		field      string
		wantType   string
		retryAfter string
	}{
		{http.StatusUnprocessableEntity, "data.$.qty", "https://eventrunner.dev/problems/invalid-event", ""},
		{http.StatusServiceUnavailable, "", "https://eventrunner.dev/problems/unavailable", "1"},
		{http.StatusTeapot, "", "https://eventrunner.dev/problems/internal", ""},
	}
	for _, tt := range tests {
		rec := httptest.NewRecorder()
		Write(rec, New(tt.status, tt.field, "why"))
		var got Problem
		if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
			t.Fatal(err)
		}
		if rec.Code != tt.status || rec.Header().Get("Content-Type") != ContentType || rec.Header().Get("Retry-After") != tt.retryAfter ||
			got.Status != tt.status || got.Title != http.StatusText(tt.status) || got.Type != tt.wantType || got.Field != tt.field || got.Detail != "why" {
			t.Errorf("%d: %d %v %+v", tt.status, rec.Code, rec.Header(), got)
		}
	}
	if p := New(http.StatusBadRequest, "id", "empty"); p.Error() != "id: empty" {
		t.Errorf("Error() = %q", p.Error())
	}
}
