package wasm

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nkeys"
)

// Capabilities a module may be granted: each names a host function of
// module "env" it may import.
const (
	CapEmit = "emit"
	CapLog  = "log"
)

// KnownCapabilities lists every capability.
var KnownCapabilities = []string{CapEmit, CapLog}

// Claims are what a module's signature vouches for.
type Claims struct {
	Issuer       string   `json:"iss"`           // the signing key, an nkeys account public key
	Tenant       string   `json:"tenant"`        // the tenant the module runs for
	Name         string   `json:"name"`          // the consumer name it may be deployed as
	ModuleSHA256 string   `json:"module_sha256"` // hex digest of the module bytes
	Capabilities []string `json:"caps"`
	IssuedAt     int64    `json:"iat"`
}

// Sign returns the signature token of claims for module, signed with an
// nkeys account seed: base64url(claims JSON) "." base64url(ed25519 sig).
// It fills Issuer, ModuleSHA256 and IssuedAt.
func Sign(seed []byte, c Claims, module []byte) (string, error) {
	kp, err := nkeys.FromSeed(bytes.TrimSpace(seed))
	if err != nil {
		return "", fmt.Errorf("wasm: signing seed: %w", err)
	}
	if c.Issuer, err = kp.PublicKey(); err != nil {
		return "", err
	}
	if !nkeys.IsValidPublicAccountKey(c.Issuer) {
		return "", errors.New("wasm: signing seed: want an account seed (SA…), as `eventrunner tenant create` prints")
	}
	sum := sha256.Sum256(module)
	c.ModuleSHA256 = hex.EncodeToString(sum[:])
	if c.IssuedAt == 0 {
		c.IssuedAt = time.Now().Unix()
	}
	if err := c.check(); err != nil {
		return "", err
	}
	payload, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	p := base64.RawURLEncoding.EncodeToString(payload)
	sig, err := kp.Sign([]byte(p))
	if err != nil {
		return "", fmt.Errorf("wasm: sign: %w", err)
	}
	return p + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}

func (c Claims) check() error {
	var errs []error
	if c.Tenant == "" {
		errs = append(errs, errors.New("claims name no tenant"))
	}
	if err := CheckName(c.Name); err != nil {
		errs = append(errs, err)
	}
	for _, cp := range c.Capabilities {
		if !slices.Contains(KnownCapabilities, cp) {
			errs = append(errs, fmt.Errorf("unknown capability %q (known: %s)", cp, strings.Join(KnownCapabilities, ", ")))
		}
	}
	return errors.Join(errs...)
}

// SignatureError is a module refused because of its signature or claims.
type SignatureError struct{ Reason string }

func (e *SignatureError) Error() string { return "wasm: signature: " + e.Reason }

// Verify checks token for module uploaded by tenant: the signature is valid
// and made by one of signingKeys, the claims name tenant and match the
// module's digest. It returns the claims.
func Verify(token string, module []byte, tenant string, signingKeys []string) (Claims, error) {
	fail := func(format string, args ...any) (Claims, error) {
		return Claims{}, &SignatureError{Reason: fmt.Sprintf(format, args...)}
	}
	p, s, ok := strings.Cut(strings.TrimSpace(token), ".")
	if !ok {
		return fail("malformed token (want claims.signature)")
	}
	payload, err1 := base64.RawURLEncoding.DecodeString(p)
	sig, err2 := base64.RawURLEncoding.DecodeString(s)
	if err1 != nil || err2 != nil {
		return fail("malformed token: not base64url")
	}
	var c Claims
	if err := json.Unmarshal(payload, &c); err != nil {
		return fail("malformed claims: %v", err)
	}
	kp, err := nkeys.FromPublicKey(c.Issuer)
	if err != nil || !nkeys.IsValidPublicAccountKey(c.Issuer) {
		return fail("issuer %q is not an nkeys account public key", c.Issuer)
	}
	if err := kp.Verify([]byte(p), sig); err != nil {
		return fail("does not verify against its issuer %s", c.Issuer)
	}
	if c.Tenant != tenant {
		return fail("the claims are for tenant %q, not %q", c.Tenant, tenant)
	}
	if !slices.Contains(signingKeys, c.Issuer) {
		return fail("signed by %s, which is not a signing key of tenant %s", c.Issuer, tenant)
	}
	sum := sha256.Sum256(module)
	if got := hex.EncodeToString(sum[:]); got != c.ModuleSHA256 {
		return fail("module sha256 %s does not match the claims' %s", got, c.ModuleSHA256)
	}
	if err := c.check(); err != nil {
		return fail("%v", err)
	}
	return c, nil
}

// CheckName verifies a consumer name: it becomes a subject token, a durable
// consumer name and a file name.
func CheckName(name string) error {
	if len(name) == 0 || len(name) > 48 {
		return fmt.Errorf("consumer name %q: want 1-48 characters of [a-z0-9_-]", name)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || (c == '-' || c == '_') && i > 0) {
			return fmt.Errorf("consumer name %q: want 1-48 characters of [a-z0-9_-], starting with a letter or digit", name)
		}
	}
	return nil
}
