package bus

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
)

// ClientConfig is how eventrunner reaches an external NATS: the servers,
// one way of authenticating and TLS. The zero value of the tuning fields
// gives the defaults of Connect.
type ClientConfig struct {
	// URLs are the seed servers (comma-separated in flags); the client
	// learns the rest of the cluster from them.
	URLs []string

	CredsFile string // JWT user credentials (.creds)
	NKeyFile  string // user nkey seed file
	User      string
	Password  string
	Token     string

	TLSCA   string // CA bundle that signed the servers' certificates
	TLSCert string // client certificate (mutual TLS), with TLSKey
	TLSKey  string

	// ConnectTimeout bounds the dial of one server (default nats.go's 2 s).
	ConnectTimeout time.Duration
	// ReconnectWait is the pause between reconnect attempts to one server
	// (default 250 ms); the client retries forever.
	ReconnectWait time.Duration
	// ReconnectBufBytes buffers publishes while reconnecting (default
	// 64 MiB); past it a publish fails at once instead of blocking.
	ReconnectBufBytes int
}

// External reports whether c names servers to connect to (otherwise the
// embedded server is used).
func (c ClientConfig) External() bool { return len(c.URLs) > 0 }

// URL is the comma-separated server list nats.Connect takes.
func (c ClientConfig) URL() string { return strings.Join(c.URLs, ",") }

// Auth reports whether c carries credentials of its own.
func (c ClientConfig) Auth() bool {
	return c.CredsFile != "" || c.NKeyFile != "" || c.User != "" || c.Token != ""
}

// Check reports every problem of c, naming the flag at fault, in a fixed
// order.
func (c ClientConfig) Check() error {
	var errs []error
	n := 0
	for _, set := range []bool{c.CredsFile != "", c.NKeyFile != "", c.User != "", c.Token != ""} {
		if set {
			n++
		}
	}
	if n > 1 {
		errs = append(errs, errors.New("nats-creds, nats-nkey, nats-user and nats-token: choose one way to authenticate"))
	}
	if c.Password != "" && c.User == "" {
		errs = append(errs, errors.New("nats-password: needs nats-user"))
	}
	if c.User != "" && c.Password == "" {
		errs = append(errs, errors.New("nats-user: needs nats-password"))
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		errs = append(errs, errors.New("nats-tls-cert and nats-tls-key: give both or neither"))
	}
	for _, f := range c.files() {
		if f.value == "" {
			continue
		}
		if _, err := os.Stat(f.value); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", f.flag, err))
		}
	}
	if !c.External() {
		if set := c.setFlags(); len(set) > 0 {
			errs = append(errs, fmt.Errorf("%s: only with nats-url (the embedded server takes neither credentials nor TLS)", strings.Join(set, ", ")))
		}
	}
	for _, u := range c.URLs {
		if strings.TrimSpace(u) == "" {
			errs = append(errs, errors.New("nats-url: empty server URL in the list"))
		}
	}
	if c.ConnectTimeout < 0 || c.ReconnectWait < 0 || c.ReconnectBufBytes < 0 {
		errs = append(errs, errors.New("nats-connect-timeout, nats-reconnect-wait, nats-reconnect-buffer: must not be negative"))
	}
	return errors.Join(errs...)
}

type setting struct{ flag, value string }

// files are c's file settings by flag, in the order flags are documented.
func (c ClientConfig) files() []setting {
	return []setting{{"nats-creds", c.CredsFile}, {"nats-nkey", c.NKeyFile},
		{"nats-tls-ca", c.TLSCA}, {"nats-tls-cert", c.TLSCert}, {"nats-tls-key", c.TLSKey}}
}

// setFlags names the credential and TLS flags c sets: they mean nothing
// without servers to connect to.
func (c ClientConfig) setFlags() []string {
	var set []string
	for _, f := range []setting{{"nats-creds", c.CredsFile}, {"nats-nkey", c.NKeyFile}, {"nats-user", c.User},
		{"nats-password", c.Password}, {"nats-token", c.Token}, {"nats-tls-ca", c.TLSCA}, {"nats-tls-cert", c.TLSCert}, {"nats-tls-key", c.TLSKey}} {
		if f.value != "" {
			set = append(set, f.flag)
		}
	}
	return set
}

// Options turns c into nats.Go options: TLS and tuning always, credentials
// only when withAuth (eventrunner's operator key replaces them with
// credentials it derives).
func (c ClientConfig) Options(withAuth bool) ([]nats.Option, error) {
	var opts []nats.Option
	if c.ConnectTimeout > 0 {
		opts = append(opts, nats.Timeout(c.ConnectTimeout))
	}
	if c.ReconnectWait > 0 {
		opts = append(opts, nats.ReconnectWait(c.ReconnectWait))
	}
	if c.ReconnectBufBytes > 0 {
		opts = append(opts, nats.ReconnectBufSize(c.ReconnectBufBytes))
	}
	if c.TLSCA != "" {
		opts = append(opts, nats.RootCAs(c.TLSCA))
	}
	if c.TLSCert != "" {
		opts = append(opts, nats.ClientCert(c.TLSCert, c.TLSKey))
	}
	if !withAuth {
		return opts, nil
	}
	switch {
	case c.CredsFile != "":
		opts = append(opts, nats.UserCredentials(c.CredsFile))
	case c.NKeyFile != "":
		o, err := nats.NkeyOptionFromSeed(c.NKeyFile)
		if err != nil {
			return nil, fmt.Errorf("bus: nats-nkey %s: %w", c.NKeyFile, err)
		}
		opts = append(opts, o)
	case c.User != "":
		opts = append(opts, nats.UserInfo(c.User, c.Password))
	case c.Token != "":
		opts = append(opts, nats.Token(c.Token))
	}
	return opts, nil
}

// Refused adds to a refusal of the server (nats.ErrAuthorization) which of
// c's credentials it refused, by flag, so that the user knows what to fix;
// other errors are returned as they are.
func (c ClientConfig) Refused(err error) error {
	if !errors.Is(err, nats.ErrAuthorization) {
		return err
	}
	var what string
	switch {
	case c.CredsFile != "":
		what = "the user of nats-creds " + c.CredsFile
	case c.NKeyFile != "":
		what = "the nkey of nats-nkey " + c.NKeyFile
	case c.User != "":
		what = fmt.Sprintf("nats-user %q with that nats-password", c.User)
	case c.Token != "":
		what = "nats-token"
	default:
		what = "a login without credentials: give nats-creds, nats-nkey, nats-user and nats-password, or nats-token"
	}
	return fmt.Errorf("%w: the server refused %s", err, what)
}
