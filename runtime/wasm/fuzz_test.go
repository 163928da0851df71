package wasm

import (
	"testing"

	"github.com/nats-io/nkeys"
)

// FuzzVerify: no token verifies without the signing key's seed, and
// malformed ones fail without panicking.
func FuzzVerify(f *testing.F) {
	kp, _ := nkeys.CreateAccount()
	seed, _ := kp.Seed()
	pub, _ := kp.PublicKey()
	module := []byte("module")
	good, _ := Sign(seed, Claims{Tenant: "acme", Name: "x"}, module)
	f.Add(good)
	f.Add("")
	f.Add(".")
	f.Add("e30.AAAA")
	f.Add(good[:len(good)-3] + "AAA")
	f.Fuzz(func(t *testing.T, token string) {
		c, err := Verify(token, module, "acme", []string{pub})
		if err == nil && token != good {
			// Only re-encodings of the same signed claims may pass.
			if c.Issuer != pub || c.Tenant != "acme" || c.ModuleSHA256 != ModuleSHA256(module) {
				t.Fatalf("verified forged claims %+v", c)
			}
		}
	})
}
