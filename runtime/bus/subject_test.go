package bus

import (
	"errors"
	"strings"
	"testing"
)

func TestCheckTenant(t *testing.T) {
	for _, tc := range []struct {
		tenant string
		ok     bool
	}{
		{"acme", true},
		{"a", true},
		{"0", true},
		{"acme_eu-1", true},
		{strings.Repeat("a", 63), true},
		{strings.Repeat("a", 64), false},
		{"", false},
		{"Acme", false},
		{"-acme", false},
		{"_acme", false},
		{"ac.me", false},
		{"ac*", false},
		{"ac me", false},
		{"ac>", false},
	} {
		err := CheckTenant(tc.tenant)
		if (err == nil) != tc.ok {
			t.Errorf("CheckTenant(%q) = %v, want ok=%v", tc.tenant, err, tc.ok)
		}
		var se *SubjectError
		if err != nil && (!errors.As(err, &se) || se.Attribute != "tenantid") {
			t.Errorf("CheckTenant(%q) error %v does not name the tenantid attribute", tc.tenant, err)
		}
	}
}

func TestCheckType(t *testing.T) {
	for _, tc := range []struct {
		typ    string
		reason string // substring of the error, "" when valid
	}{
		{"com.acme.order.created", ""},
		{"order", ""},
		{"com.acme.Order-Created_v2", ""},
		{"", "empty"},
		{".com.acme", "empty token at 0"},
		{"com.acme.", "empty token at 9"},
		{"com..acme", "empty token at 4"},
		{"com.*.acme", "wildcard '*'"},
		{"com.acme.>", "wildcard '>'"},
		{"com.acme order", "byte 0x20"},
		{"com.acme\torder", "byte 0x9"},
		{"com.acmé", "only printable ASCII"},
		{strings.Repeat("a", MaxTypeLen+1), "longer than"},
	} {
		err := CheckType(tc.typ)
		switch {
		case tc.reason == "" && err != nil:
			t.Errorf("CheckType(%q) = %v, want nil", tc.typ, err)
		case tc.reason != "" && (err == nil || !strings.Contains(err.Error(), tc.reason)):
			t.Errorf("CheckType(%q) = %v, want an error containing %q", tc.typ, err, tc.reason)
		}
	}
}

func TestSubjects(t *testing.T) {
	proc, err := ProcSubject("acme", "com.acme.order.created")
	if err != nil || proc != "er.proc.acme.com.acme.order.created" {
		t.Fatalf("ProcSubject = %q, %v", proc, err)
	}
	tn, typ, err := ParseProcSubject(proc)
	if err != nil || tn != "acme" || typ != "com.acme.order.created" {
		t.Fatalf("ParseProcSubject(%q) = %q, %q, %v", proc, tn, typ, err)
	}
	ts, err := TenantSubject("acme", "com.acme.order.created")
	if err != nil || ts != "er.t.acme.com.acme.order.created" {
		t.Fatalf("TenantSubject = %q, %v", ts, err)
	}
	if tn, typ, err := ParseTenantSubject(ts); err != nil || tn != "acme" || typ != "com.acme.order.created" {
		t.Fatalf("ParseTenantSubject(%q) = %q, %q, %v", ts, tn, typ, err)
	}
	if f, err := TenantFilter("acme"); err != nil || f != "er.t.acme.>" {
		t.Fatalf("TenantFilter = %q, %v", f, err)
	}
	if _, err := ProcSubject("Acme", "x"); err == nil {
		t.Error("ProcSubject accepted an upper-case tenant")
	}
	if _, err := TenantSubject("acme", "x.>"); err == nil {
		t.Error("TenantSubject accepted a wildcard type")
	}
	if got := DLQSubject("acme"); got != "er.dlq.acme" {
		t.Errorf("DLQSubject(acme) = %q", got)
	}
	if got := DLQSubject("NOPE"); got != "er.dlq._invalid" {
		t.Errorf("DLQSubject(NOPE) = %q", got)
	}
	if r, err := RawSubject("acme"); err != nil || r != "er.raw.acme" {
		t.Errorf("RawSubject = %q, %v", r, err)
	}

	for _, tc := range []struct {
		subject, tenant, typ string
		ok                   bool
	}{
		{"er.raw.acme", "acme", "", true},
		{"er.raw.acme.com.acme.order.created", "acme", "com.acme.order.created", true},
		{"er.raw.ACME", "", "", false},
		{"er.proc.acme", "", "", false},
		{"er.raw.", "", "", false},
	} {
		tn, typ, err := ParseRawSubject(tc.subject)
		if (err == nil) != tc.ok || tn != tc.tenant || typ != tc.typ {
			t.Errorf("ParseRawSubject(%q) = %q, %q, %v", tc.subject, tn, typ, err)
		}
	}
	if _, _, err := ParseProcSubject("er.proc.acme"); err == nil {
		t.Error("ParseProcSubject accepted a subject without a type")
	}
}

func TestHeaderValue(t *testing.T) {
	if got := HeaderValue("plain reason"); got != "plain reason" {
		t.Errorf("HeaderValue changed a clean value: %q", got)
	}
	if got := HeaderValue("line1\r\nline2\x00"); got != "line1  line2 " {
		t.Errorf("HeaderValue(control chars) = %q", got)
	}
	long := strings.Repeat("é", MaxHeaderValue)
	got := HeaderValue(long)
	if len(got) > MaxHeaderValue || !strings.HasSuffix(got, "…(truncated)") {
		t.Errorf("HeaderValue(long) has %d bytes, suffix %q", len(got), got[len(got)-20:])
	}
	if !strings.HasPrefix(got, "é") || strings.ContainsRune(got, '\uFFFD') {
		t.Error("HeaderValue split a rune")
	}
}

func TestMsgID(t *testing.T) {
	if got := MsgID("acme", "/shop", "42"); got != "acme//shop/42" {
		t.Errorf("MsgID = %q", got)
	}
}
