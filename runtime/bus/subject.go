package bus

import (
	"fmt"
	"strings"
)

const (
	rawPrefix    = "er.raw."
	procPrefix   = "er.proc."
	tenantPrefix = "er.t."
	dlqPrefix    = "er.dlq."
)

// Subject filters of the streams.
const (
	RawSubjects    = rawPrefix + ">"
	ProcSubjects   = procPrefix + ">"
	TenantSubjects = tenantPrefix + ">"
	DLQSubjects    = dlqPrefix + ">"
)

// InvalidTenant stands for the tenant in the DLQ subject of a message whose
// subject named no valid tenant. It cannot clash with a tenant id, which
// never starts with '_'.
const InvalidTenant = "_invalid"

// MaxTypeLen bounds an event type, which becomes part of every subject.
const MaxTypeLen = 255

// SubjectError says why a tenant id or an event type cannot be used in a
// subject. Attribute is "tenantid" or "type", the CloudEvent attribute.
type SubjectError struct {
	Attribute string
	Value     string
	Reason    string
}

func (e *SubjectError) Error() string {
	return fmt.Sprintf("%s %q: %s", e.Attribute, e.Value, e.Reason)
}

// CheckTenant verifies a tenant id: [a-z0-9][a-z0-9_-]{0,62}.
func CheckTenant(tenant string) error {
	if len(tenant) == 0 || len(tenant) > 63 {
		return &SubjectError{"tenantid", tenant, "must be 1-63 characters matching [a-z0-9][a-z0-9_-]*"}
	}
	for i := 0; i < len(tenant); i++ {
		c := tenant[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case (c == '_' || c == '-') && i > 0:
		default:
			return &SubjectError{"tenantid", tenant, fmt.Sprintf("invalid character %q at %d: must match [a-z0-9][a-z0-9_-]{0,62}", c, i)}
		}
	}
	return nil
}

// CheckType verifies that an event type can become subject tokens: dot
// separated non-empty tokens of printable ASCII without the wildcards '*'
// and '>'.
func CheckType(eventType string) error {
	if eventType == "" {
		return &SubjectError{"type", eventType, "empty"}
	}
	if len(eventType) > MaxTypeLen {
		return &SubjectError{"type", eventType, fmt.Sprintf("longer than %d bytes", MaxTypeLen)}
	}
	start := 0
	for i := 0; i <= len(eventType); i++ {
		if i == len(eventType) || eventType[i] == '.' {
			if i == start {
				return &SubjectError{"type", eventType, fmt.Sprintf("empty token at %d (leading, trailing or double dot)", i)}
			}
			start = i + 1
			continue
		}
		switch c := eventType[i]; {
		case c == '*' || c == '>':
			return &SubjectError{"type", eventType, fmt.Sprintf("wildcard %q at %d", c, i)}
		case c <= ' ' || c >= 0x7f:
			return &SubjectError{"type", eventType, fmt.Sprintf("byte %#x at %d: only printable ASCII without spaces", c, i)}
		}
	}
	return nil
}

// RawSubject is er.raw.<tenant>, where NATS producers publish.
func RawSubject(tenant string) (string, error) {
	if err := CheckTenant(tenant); err != nil {
		return "", err
	}
	return rawPrefix + tenant, nil
}

// ProcSubject is er.proc.<tenant>.<type>, the engine's input.
func ProcSubject(tenant, eventType string) (string, error) {
	return typed(procPrefix, tenant, eventType)
}

// TenantSubject is er.t.<tenant>.<type>, where processed events go.
func TenantSubject(tenant, eventType string) (string, error) {
	return typed(tenantPrefix, tenant, eventType)
}

// TenantFilter selects every processed event of a tenant: er.t.<tenant>.>.
func TenantFilter(tenant string) (string, error) {
	if err := CheckTenant(tenant); err != nil {
		return "", err
	}
	return tenantPrefix + tenant + ".>", nil
}

// DLQSubject is er.dlq.<tenant>; an invalid tenant becomes InvalidTenant so
// that the rejected message is still kept.
func DLQSubject(tenant string) string {
	if CheckTenant(tenant) != nil {
		tenant = InvalidTenant
	}
	return dlqPrefix + tenant
}

func typed(prefix, tenant, eventType string) (string, error) {
	if err := CheckTenant(tenant); err != nil {
		return "", err
	}
	if err := CheckType(eventType); err != nil {
		return "", err
	}
	var b strings.Builder
	b.Grow(len(prefix) + len(tenant) + 1 + len(eventType))
	b.WriteString(prefix)
	b.WriteString(tenant)
	b.WriteByte('.')
	b.WriteString(eventType)
	return b.String(), nil
}

// ParseRawSubject splits er.raw.<tenant>[.<type>] into the tenant and the
// optional type (the remaining tokens), checking both.
func ParseRawSubject(subject string) (tenant, eventType string, err error) {
	rest, ok := strings.CutPrefix(subject, rawPrefix)
	if !ok {
		return "", "", fmt.Errorf("subject %q is not under %s", subject, RawSubjects)
	}
	tenant, eventType, _ = strings.Cut(rest, ".")
	if err := CheckTenant(tenant); err != nil {
		return "", "", err
	}
	if eventType != "" {
		if err := CheckType(eventType); err != nil {
			return "", "", err
		}
	}
	return tenant, eventType, nil
}

// ParseProcSubject splits er.proc.<tenant>.<type>.
func ParseProcSubject(subject string) (tenant, eventType string, err error) {
	return parseTyped(procPrefix, subject)
}

// ParseTenantSubject splits er.t.<tenant>.<type>.
func ParseTenantSubject(subject string) (tenant, eventType string, err error) {
	return parseTyped(tenantPrefix, subject)
}

func parseTyped(prefix, subject string) (tenant, eventType string, err error) {
	rest, ok := strings.CutPrefix(subject, prefix)
	if !ok {
		return "", "", fmt.Errorf("subject %q is not under %s>", subject, prefix)
	}
	tenant, eventType, _ = strings.Cut(rest, ".")
	if err := CheckTenant(tenant); err != nil {
		return "", "", err
	}
	if err := CheckType(eventType); err != nil {
		return "", "", err
	}
	return tenant, eventType, nil
}
