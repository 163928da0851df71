package tenantnats

import (
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/nats-io/nkeys"
)

// Keys is eventrunner's NATS operator: one operator seed from which every
// other key is derived (HMAC-SHA256 of the seed and a label), so that every
// engine process given the same seed computes the same accounts, signing
// keys and users without sharing any other state. The seed is the one
// secret of a deployment: whoever holds it can issue any account.
type Keys struct {
	operator nkeys.KeyPair
	raw      []byte // the operator's raw ed25519 seed, the derivation key
}

// NewKeys returns a fresh operator.
func NewKeys() (*Keys, error) {
	kp, err := nkeys.CreateOperator()
	if err != nil {
		return nil, fmt.Errorf("tenantnats: create operator: %w", err)
	}
	seed, err := kp.Seed()
	if err != nil {
		return nil, fmt.Errorf("tenantnats: create operator: %w", err)
	}
	return ParseKeys(seed)
}

// ParseKeys reads an operator seed ("SO…"), alone or in a decorated nkey
// file as nsc writes them.
func ParseKeys(seed []byte) (*Keys, error) {
	kp, err := nkeys.ParseDecoratedNKey(seed)
	if err != nil {
		return nil, fmt.Errorf("tenantnats: operator seed: %w", err)
	}
	s, err := kp.Seed()
	if err != nil {
		return nil, fmt.Errorf("tenantnats: operator seed: %w", err)
	}
	prefix, raw, err := nkeys.DecodeSeed(s)
	if err != nil {
		return nil, fmt.Errorf("tenantnats: operator seed: %w", err)
	}
	if prefix != nkeys.PrefixByteOperator {
		return nil, errors.New("tenantnats: operator seed: not an operator seed (want one starting with SO)")
	}
	return &Keys{operator: kp, raw: raw}, nil
}

// ReadKeys reads the operator seed file path.
func ReadKeys(path string) (*Keys, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tenantnats: %w", err)
	}
	k, err := ParseKeys(b)
	if err != nil {
		return nil, fmt.Errorf("%w (%s)", err, path)
	}
	return k, nil
}

// LoadOrCreateKeys reads the operator seed file path, creating it (mode
// 0600) with a fresh operator when it does not exist: the embedded server's
// operator lives in its data directory.
func LoadOrCreateKeys(path string) (*Keys, error) {
	k, err := ReadKeys(path)
	if err == nil || !errors.Is(err, os.ErrNotExist) {
		return k, err
	}
	if k, err = NewKeys(); err != nil {
		return nil, err
	}
	if err := k.WriteFile(path); err != nil {
		return nil, err
	}
	return k, nil
}

// WriteFile writes the operator seed to path (mode 0600), refusing to
// overwrite an existing file: replacing an operator orphans every account.
func (k *Keys) WriteFile(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("tenantnats: %w", err)
	}
	seed, err := k.operator.Seed()
	if err != nil {
		return fmt.Errorf("tenantnats: operator seed: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("tenantnats: %w", err)
	}
	_, err = fmt.Fprintf(f, "# eventrunner NATS operator seed: every account, signing key and user is derived from it. Keep it secret.\n%s\n", seed)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("tenantnats: write %s: %w", path, err)
	}
	return nil
}

// Operator is the operator's identity key pair.
func (k *Keys) Operator() nkeys.KeyPair { return k.operator }

// derive returns the key pair of kind prefix for label. Labels are
// namespaced by role ("account/…", "user/…", "signing/…") so that no two
// roles can share a key.
func (k *Keys) derive(prefix nkeys.PrefixByte, label string) nkeys.KeyPair {
	mac := hmac.New(sha256.New, k.raw)
	mac.Write([]byte("eventrunner/v1/" + label))
	kp, err := nkeys.FromRawSeed(prefix, mac.Sum(nil))
	if err != nil {
		panic(fmt.Sprintf("tenantnats: derive %s: %v", label, err)) // 32 bytes and a valid prefix never fail
	}
	return kp
}

func (k *Keys) account(name string) nkeys.KeyPair {
	return k.derive(nkeys.PrefixByteAccount, "account/"+name)
}

func (k *Keys) user(account, name string) nkeys.KeyPair {
	return k.derive(nkeys.PrefixByteUser, "user/"+account+"/"+name)
}

// System is the system account ($SYS): claims pushes and server events.
func (k *Keys) System() nkeys.KeyPair { return k.account("$SYS") }

// Engine is the engine's account (ER): the shared streams, KV buckets and
// every engine process's connections.
func (k *Keys) Engine() nkeys.KeyPair { return k.account("$ER") }

// Auth is the auth callout account (AUTH): clients that log in with a
// tenant id and API key land here until the callout moves them.
func (k *Keys) Auth() nkeys.KeyPair { return k.account("$AUTH") }

// Tenant is tenant id's account. Tenant ids never start with '$', so they
// cannot collide with the accounts above.
func (k *Keys) Tenant(id string) nkeys.KeyPair { return k.account("tenant/" + id) }

// TenantAPIKeySigner signs the users the auth callout issues for logins
// with the API key whose digest is keyHash. The tenant's account lists one
// such signing key per API key, so that revoking a key (dropping its
// signing key) closes exactly the connections it opened.
func (k *Keys) TenantAPIKeySigner(id, keyHash string) nkeys.KeyPair {
	return k.derive(nkeys.PrefixByteAccount, "signing/tenant/"+id+"/apikey/"+strings.ToLower(keyHash))
}

// TenantCredsSigner signs the users of the tenant's creds files
// (`eventrunner tenant creds`).
func (k *Keys) TenantCredsSigner(id string) nkeys.KeyPair {
	return k.derive(nkeys.PrefixByteAccount, "signing/tenant/"+id+"/creds")
}

// SystemUser, EngineUser, CalloutUser and SentinelUser are the fixed users
// of the fixed accounts.
func (k *Keys) SystemUser() nkeys.KeyPair   { return k.user("$SYS", "eventrunner") }
func (k *Keys) EngineUser() nkeys.KeyPair   { return k.user("$ER", "engine") }
func (k *Keys) CalloutUser() nkeys.KeyPair  { return k.user("$AUTH", "callout") }
func (k *Keys) SentinelUser() nkeys.KeyPair { return k.user("$AUTH", "sentinel") }

// Public returns a key pair's public key.
func Public(kp nkeys.KeyPair) string {
	pub, err := kp.PublicKey()
	if err != nil {
		panic(fmt.Sprintf("tenantnats: public key: %v", err)) // only fails on a wiped key pair
	}
	return pub
}
