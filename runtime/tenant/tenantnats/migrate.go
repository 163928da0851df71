package tenantnats

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/eventrunner/eventrunner/runtime/bus"
)

// globalAccount is the account of a server without accounts ($G), where
// the embedded server kept every stream before tenants had accounts.
const globalAccount = "$G"

// MigrateSharedStreams moves the streams an embedded server kept in its
// global account into the accounts they belong in now: ER_T_<tenant> into
// the tenant's, every other stream into the engine's. JetStream keeps an
// account's streams under <accountsDir>/<account>/streams (see
// bus.AccountsDir), so a move is a
// rename, done before the server starts; consumers move with their stream.
// A stream whose destination already exists is left where it is (and
// named in the error). It returns the streams it moved.
func MigrateSharedStreams(accountsDir string, keys *Keys) ([]string, error) {
	src := filepath.Join(accountsDir, globalAccount, "streams")
	entries, err := os.ReadDir(src)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("tenantnats: migrate streams: %w", err)
	}
	var moved []string
	var errs []error
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		account := Public(keys.Engine())
		if id, ok := strings.CutPrefix(e.Name(), "ER_T_"); ok && bus.CheckTenant(id) == nil {
			account = Public(keys.Tenant(id))
		}
		dst := filepath.Join(accountsDir, account, "streams", e.Name())
		if _, err := os.Stat(dst); err == nil {
			errs = append(errs, fmt.Errorf("tenantnats: migrate stream %s: %s already exists; the old copy stays in %s", e.Name(), dst, src))
			continue
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o750); err != nil {
			return moved, fmt.Errorf("tenantnats: migrate stream %s: %w", e.Name(), err)
		}
		if err := os.Rename(filepath.Join(src, e.Name()), dst); err != nil {
			return moved, fmt.Errorf("tenantnats: migrate stream %s: %w", e.Name(), err)
		}
		moved = append(moved, e.Name())
	}
	sort.Strings(moved)
	return moved, errors.Join(errs...)
}
