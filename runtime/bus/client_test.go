package bus_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/jwt/v2"
	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"

	"github.com/eventrunner/eventrunner/runtime/bus"
	"github.com/eventrunner/eventrunner/runtime/bus/bustest"
)

func TestClientConfigCheck(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "present")
	writeTestFile(t, file, "x")
	missing := filepath.Join(dir, "missing")
	url := []string{"nats://127.0.0.1:4222"}
	tests := []struct {
		name string
		cfg  bus.ClientConfig
		want []string // the lines of the error, in order; none for a valid cfg
	}{
		{"embedded", bus.ClientConfig{}, nil},
		{"user and password", bus.ClientConfig{URLs: url, User: "u", Password: "p"}, nil},
		{"every file", bus.ClientConfig{URLs: url, CredsFile: file, TLSCA: file, TLSCert: file, TLSKey: file}, nil},
		{"several urls", bus.ClientConfig{URLs: []string{"nats://a:4222", "tls://b:4222"}, Token: "t"}, nil},
		{"user without password", bus.ClientConfig{URLs: url, User: "u"}, []string{"nats-user: needs nats-password"}},
		{"password without user", bus.ClientConfig{URLs: url, Password: "p"}, []string{"nats-password: needs nats-user"}},
		{"two ways", bus.ClientConfig{URLs: url, Token: "t", NKeyFile: file},
			[]string{"nats-creds, nats-nkey, nats-user and nats-token: choose one way to authenticate"}},
		{"cert without key", bus.ClientConfig{URLs: url, TLSCert: file}, []string{"nats-tls-cert and nats-tls-key: give both or neither"}},
		{"key without cert", bus.ClientConfig{URLs: url, TLSKey: file}, []string{"nats-tls-cert and nats-tls-key: give both or neither"}},
		{"creds file missing", bus.ClientConfig{URLs: url, CredsFile: missing},
			[]string{"nats-creds: stat " + missing + ": no such file or directory"}},
		{"files missing", bus.ClientConfig{URLs: url, NKeyFile: missing, TLSCA: missing, TLSCert: missing, TLSKey: missing}, []string{
			"nats-nkey: stat " + missing + ": no such file or directory",
			"nats-tls-ca: stat " + missing + ": no such file or directory",
			"nats-tls-cert: stat " + missing + ": no such file or directory",
			"nats-tls-key: stat " + missing + ": no such file or directory",
		}},
		{"credentials without url", bus.ClientConfig{User: "u", Password: "p", TLSCA: file},
			[]string{"nats-user, nats-password, nats-tls-ca: only with nats-url (the embedded server takes neither credentials nor TLS)"}},
		{"empty url", bus.ClientConfig{URLs: []string{"nats://a:4222", " "}}, []string{"nats-url: empty server URL in the list"}},
		{"negative tuning", bus.ClientConfig{URLs: url, ReconnectWait: -time.Second},
			[]string{"nats-connect-timeout, nats-reconnect-wait, nats-reconnect-buffer: must not be negative"}},
		{"every problem", bus.ClientConfig{URLs: url, User: "u", Token: "t", TLSKey: missing}, []string{
			"nats-creds, nats-nkey, nats-user and nats-token: choose one way to authenticate",
			"nats-user: needs nats-password",
			"nats-tls-cert and nats-tls-key: give both or neither",
			"nats-tls-key: stat " + missing + ": no such file or directory",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Check()
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Check: %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Check passed, want %q", tt.want)
			}
			if got := strings.Split(err.Error(), "\n"); strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("Check:\n%s\nwant:\n%s", err, strings.Join(tt.want, "\n"))
			}
		})
	}
}

// TestClientConfigDefaults: the reconnect settings an external connection
// gets when no flag sets them, and the flags overriding them.
func TestClientConfigDefaults(t *testing.T) {
	srv := bustest.StartServer(t, &natsserver.Options{})
	for _, tt := range []struct {
		name     string
		cfg      bus.ClientConfig
		wait     time.Duration
		buf      int
		deadline time.Duration
	}{
		{"defaults", bus.ClientConfig{}, 250 * time.Millisecond, 64 << 20, nats.DefaultTimeout},
		{"flags", bus.ClientConfig{ReconnectWait: time.Second, ReconnectBufBytes: 1 << 20, ConnectTimeout: 5 * time.Second}, time.Second, 1 << 20, 5 * time.Second},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.URLs = []string{srv.ClientURL()}
			nc := connectWith(t, tt.cfg)
			o := nc.Opts
			if o.MaxReconnect != -1 || o.ReconnectWait != tt.wait || o.ReconnectBufSize != tt.buf || o.Timeout != tt.deadline {
				t.Errorf("max reconnects %d, reconnect wait %v, buffer %d, timeout %v; want -1, %v, %d, %v",
					o.MaxReconnect, o.ReconnectWait, o.ReconnectBufSize, o.Timeout, tt.wait, tt.buf, tt.deadline)
			}
		})
	}
}

// TestConnectAuth connects to real servers with each way of
// authenticating: the right credentials get in, wrong ones are refused
// with an error naming the server and, through Refused, the flags at fault.
func TestConnectAuth(t *testing.T) {
	dir := t.TempDir()
	nkeyOK, nkeyPub := userSeedFile(t, dir, "ok.nk")
	nkeyOther, _ := userSeedFile(t, dir, "other.nk")
	creds := newOperatorCreds(t, dir)
	pki := newTestPKI(t, dir)
	tests := []struct {
		name        string
		server      *natsserver.Options
		good        bus.ClientConfig
		bad         bus.ClientConfig
		wantRefusal string // the error of bad after the server's URL (alternatives split by |)
	}{
		{"user and password",
			&natsserver.Options{Username: "engine", Password: "s3cret"},
			bus.ClientConfig{User: "engine", Password: "s3cret"},
			bus.ClientConfig{User: "engine", Password: "wrong"},
			`nats: Authorization Violation: the server refused nats-user "engine" with that nats-password`},
		{"token",
			&natsserver.Options{Authorization: "tok-0123456789"},
			bus.ClientConfig{Token: "tok-0123456789"},
			bus.ClientConfig{Token: "tok-wrong"},
			"nats: Authorization Violation: the server refused nats-token"},
		{"nkey",
			&natsserver.Options{Nkeys: []*natsserver.NkeyUser{{Nkey: nkeyPub}}},
			bus.ClientConfig{NKeyFile: nkeyOK},
			bus.ClientConfig{NKeyFile: nkeyOther},
			"nats: Authorization Violation: the server refused the nkey of nats-nkey " + nkeyOther},
		{"creds",
			creds.server,
			bus.ClientConfig{CredsFile: creds.good},
			bus.ClientConfig{CredsFile: creds.foreign}, // signed by an account the operator never issued
			"nats: Authorization Violation: the server refused the user of nats-creds " + creds.foreign},
		{"mutual tls",
			pki.server(t),
			bus.ClientConfig{TLSCA: pki.ca, TLSCert: pki.cert, TLSKey: pki.key},
			bus.ClientConfig{TLSCA: pki.ca}, // no client certificate
			// With TLS 1.3 the server's alert may arrive after it closed.
			"remote error: tls: certificate required|nats: tls error: connection closed by remote after TLS handshake"},
		{"tls unknown ca",
			pki.server(t),
			bus.ClientConfig{TLSCA: pki.ca, TLSCert: pki.cert, TLSKey: pki.key},
			bus.ClientConfig{TLSCA: pki.otherCA, TLSCert: pki.cert, TLSKey: pki.key},
			"nats: tls error: tls: failed to verify certificate: x509: certificate signed by unknown authority"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := bustest.StartServer(t, tt.server)
			url := srv.ClientURL()
			tt.good.URLs, tt.bad.URLs = []string{url}, []string{url}
			for _, c := range []bus.ClientConfig{tt.good, tt.bad} {
				if err := c.Check(); err != nil {
					t.Fatalf("Check: %v", err)
				}
			}
			nc := connectWith(t, tt.good)
			if err := nc.Flush(); err != nil {
				t.Fatalf("flush: %v", err)
			}
			opts, err := tt.bad.Options(true)
			if err != nil {
				t.Fatal(err)
			}
			bad, err := bus.Connect(tt.bad.URL(), append(opts, nats.MaxReconnects(0))...)
			if err == nil {
				bad.Close()
				t.Fatal("the wrong credentials got in")
			}
			shown := url
			if tt.good.TLSCA != "" { // nats.go names a TLS server tls://
				shown = strings.Replace(url, "nats://", "tls://", 1)
			}
			err = tt.bad.Refused(err)
			var wants []string
			for _, w := range strings.Split(tt.wantRefusal, "|") {
				want := "bus: connect " + shown + ": " + w
				if strings.HasPrefix(err.Error(), want) {
					return
				}
				wants = append(wants, want)
			}
			t.Errorf("refusal:\n%v\nwant it to start with\n%s", err, strings.Join(wants, "\nor\n"))
		})
	}
}

// TestConnectSeveralURLs: a dead server first in the list is passed over.
func TestConnectSeveralURLs(t *testing.T) {
	srv := bustest.StartServer(t, &natsserver.Options{Username: "engine", Password: "s3cret"})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "nats://" + l.Addr().String()
	l.Close() // nothing listens there any more
	cfg := bus.ClientConfig{URLs: []string{dead, srv.ClientURL()}, User: "engine", Password: "s3cret", ConnectTimeout: time.Second}
	nc := connectWith(t, cfg, nats.DontRandomize())
	if got := nc.ConnectedUrl(); got != srv.ClientURL() {
		t.Errorf("connected to %s, want %s", got, srv.ClientURL())
	}
	if _, err := bus.Connect(dead, nats.Timeout(time.Second)); err == nil || !strings.Contains(err.Error(), dead) {
		t.Errorf("connect to a dead server alone: %v, want an error naming it", err)
	}
}

// connectWith connects as the engine does with cfg's own credentials.
func connectWith(t *testing.T, cfg bus.ClientConfig, extra ...nats.Option) *nats.Conn {
	t.Helper()
	opts, err := cfg.Options(true)
	if err != nil {
		t.Fatal(err)
	}
	nc, err := bus.Connect(cfg.URL(), append(opts, extra...)...)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(nc.Close)
	return nc
}

func writeTestFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// userSeedFile writes a new user nkey seed to dir/name and returns the
// file and the public key.
func userSeedFile(t *testing.T, dir, name string) (file, pub string) {
	t.Helper()
	kp, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	seed, _ := kp.Seed()
	pub, _ = kp.PublicKey()
	file = filepath.Join(dir, name)
	writeTestFile(t, file, string(seed))
	return file, pub
}

// operatorCreds is a server in operator mode (a memory resolver holding
// one account) and two creds files: a user of that account, and one of an
// account the server does not know.
type operatorCreds struct {
	server        *natsserver.Options
	good, foreign string
}

func newOperatorCreds(t *testing.T, dir string) operatorCreds {
	t.Helper()
	op, _ := nkeys.CreateOperator()
	opPub, _ := op.PublicKey()
	oc := jwt.NewOperatorClaims(opPub)
	opJWT, err := oc.Encode(op)
	if err != nil {
		t.Fatal(err)
	}
	if oc, err = jwt.DecodeOperatorClaims(opJWT); err != nil {
		t.Fatal(err)
	}
	resolver := &natsserver.MemAccResolver{}
	account := func(store bool) nkeys.KeyPair {
		acc, _ := nkeys.CreateAccount()
		accPub, _ := acc.PublicKey()
		accJWT, err := jwt.NewAccountClaims(accPub).Encode(op)
		if err != nil {
			t.Fatal(err)
		}
		if store {
			resolver.Store(accPub, accJWT)
		}
		return acc
	}
	user := func(acc nkeys.KeyPair, name string) string {
		u, _ := nkeys.CreateUser()
		uPub, _ := u.PublicKey()
		uJWT, err := jwt.NewUserClaims(uPub).Encode(acc)
		if err != nil {
			t.Fatal(err)
		}
		seed, _ := u.Seed()
		creds, err := jwt.FormatUserConfig(uJWT, seed)
		if err != nil {
			t.Fatal(err)
		}
		file := filepath.Join(dir, name)
		writeTestFile(t, file, string(creds))
		return file
	}
	sys := account(true)
	sysPub, _ := sys.PublicKey()
	return operatorCreds{
		server: &natsserver.Options{TrustedOperators: []*jwt.OperatorClaims{oc}, AccountResolver: resolver, SystemAccount: sysPub},
		good:   user(account(true), "engine.creds"), foreign: user(account(false), "foreign.creds"),
	}
}

// testPKI is a CA with a server certificate for 127.0.0.1 and a client
// certificate, and another CA that signed neither, as PEM files.
type testPKI struct {
	ca, otherCA, cert, key, serverCert, serverKey string
}

func newTestPKI(t *testing.T, dir string) testPKI {
	t.Helper()
	caKey, caCert := newCA(t)
	_, other := newCA(t)
	p := testPKI{ca: filepath.Join(dir, "ca.pem"), otherCA: filepath.Join(dir, "other-ca.pem")}
	writeTestFile(t, p.ca, pemBlock("CERTIFICATE", caCert.Raw))
	writeTestFile(t, p.otherCA, pemBlock("CERTIFICATE", other.Raw))
	p.serverCert, p.serverKey = issue(t, dir, "server", caKey, caCert, x509.ExtKeyUsageServerAuth)
	p.cert, p.key = issue(t, dir, "client", caKey, caCert, x509.ExtKeyUsageClientAuth)
	return p
}

// server configures a server that requires a client certificate of the CA.
func (p testPKI) server(t *testing.T) *natsserver.Options {
	t.Helper()
	tc, err := natsserver.GenTLSConfig(&natsserver.TLSConfigOpts{CertFile: p.serverCert, KeyFile: p.serverKey, CaFile: p.ca, Verify: true})
	if err != nil {
		t.Fatal(err)
	}
	return &natsserver.Options{TLS: true, TLSVerify: true, TLSConfig: tc, TLSTimeout: 2}
}

func newCA(t *testing.T) (*ecdsa.PrivateKey, *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "eventrunner test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return key, cert
}

// issue writes dir/name.pem and dir/name-key.pem, a certificate for
// 127.0.0.1 and localhost signed by the CA.
func issue(t *testing.T, dir, name string, caKey *ecdsa.PrivateKey, ca *x509.Certificate, usage x509.ExtKeyUsage) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, name+".pem"), filepath.Join(dir, name+"-key.pem")
	writeTestFile(t, certFile, pemBlock("CERTIFICATE", der))
	writeTestFile(t, keyFile, pemBlock("EC PRIVATE KEY", keyDER))
	return certFile, keyFile
}

func pemBlock(typ string, der []byte) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}))
}
