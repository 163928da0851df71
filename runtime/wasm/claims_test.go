package wasm

import (
	"errors"
	"strings"
	"testing"

	"github.com/nats-io/nkeys"
)

func accountKey(t *testing.T) (seed []byte, pub string) {
	t.Helper()
	kp, err := nkeys.CreateAccount()
	if err != nil {
		t.Fatal(err)
	}
	seed, _ = kp.Seed()
	pub, _ = kp.PublicKey()
	return seed, pub
}

func TestSignVerify(t *testing.T) {
	seedA, pubA := accountKey(t)
	seedB, pubB := accountKey(t)
	module := []byte("\x00asm module bytes")
	good, err := Sign(seedA, Claims{Tenant: "acme", Name: "enrich", Capabilities: []string{CapEmit}}, module)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Verify(good, module, "acme", []string{pubA})
	if err != nil {
		t.Fatal(err)
	}
	if c.Issuer != pubA || c.Name != "enrich" || len(c.ModuleSHA256) != 64 {
		t.Fatalf("claims %+v", c)
	}
	otherTenant, _ := Sign(seedB, Claims{Tenant: "globex", Name: "enrich"}, module)
	forged, _ := Sign(seedB, Claims{Tenant: "acme", Name: "enrich"}, module)
	p, sig, _ := strings.Cut(good, ".")
	tampered := p[:len(p)-2] + "xx." + sig
	userKP, _ := nkeys.CreateUser()
	userSeed, _ := userKP.Seed()
	tests := []struct {
		name, token string
		module      []byte
		tenant      string
		keys        []string
		want        string
	}{
		{"another tenant's claims", otherTenant, module, "acme", []string{pubA, pubB}, `the claims are for tenant "globex", not "acme"`},
		{"unregistered signer", forged, module, "acme", []string{pubA}, "which is not a signing key of tenant acme"},
		{"other module", good, []byte("other"), "acme", []string{pubA}, "does not match the claims"},
		{"tampered claims", tampered, module, "acme", []string{pubA}, ""},
		{"bad signature", p + "." + sig[:len(sig)-4] + "AAAA", module, "acme", []string{pubA}, "does not verify"},
		{"garbage", "garbage", module, "acme", []string{pubA}, "malformed token"},
	}
	for _, tt := range tests {
		_, err := Verify(tt.token, tt.module, tt.tenant, tt.keys)
		var se *SignatureError
		if !errors.As(err, &se) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want a SignatureError with %q", tt.name, err, tt.want)
		}
	}
	if _, err := Sign(userSeed, Claims{Tenant: "acme", Name: "x"}, module); err == nil {
		t.Error("signed with a user seed")
	}
	if _, err := Sign(seedA, Claims{Tenant: "acme", Name: "x", Capabilities: []string{"network"}}, module); err == nil || !strings.Contains(err.Error(), `unknown capability "network"`) {
		t.Errorf("unknown capability: %v", err)
	}
}

func TestCheckName(t *testing.T) {
	for _, n := range []string{"a", "enrich-v2", "x_1"} {
		if err := CheckName(n); err != nil {
			t.Errorf("%s: %v", n, err)
		}
	}
	for _, n := range []string{"", "-a", "A", "a.b", "a*", strings.Repeat("a", 49)} {
		if CheckName(n) == nil {
			t.Errorf("%q accepted", n)
		}
	}
}
