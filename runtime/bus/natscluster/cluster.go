package natscluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

// Options shape a cluster. The zero value is three nodes with JetStream.
type Options struct {
	// Nodes is the number of servers; default 3. One node runs without a
	// cluster block (a plain server).
	Nodes int
	// Name is the cluster's name; default "natscluster".
	Name string
	// NoJetStream starts the servers without JetStream.
	NoJetStream bool
	// ExtraConfig, when set, returns configuration text appended to node
	// i's file (e.g. the operator and resolver block of
	// tenantnats.Keys.ServerConfig); dir is the node's own directory, for
	// anything it must keep apart from the other nodes (a resolver
	// directory). Later keys override earlier ones.
	ExtraConfig func(node int, dir string) string
	// StartTimeout bounds the wait for the nodes to accept connections and,
	// with JetStream, for the metadata leader; default 30 s.
	StartTimeout time.Duration
}

// Cluster is a running set of nats-server processes. Its methods that
// take no context fail the test themselves and, like any testing.TB use,
// must be called from the test's goroutine.
type Cluster struct {
	tb    testing.TB
	opts  Options
	bin   string
	nodes []*node
}

type node struct {
	idx                         int
	name, dir, conf, logPath    string
	clientPort, routePort, http int

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
}

// errBind marks a node that could not listen on a port picked for it:
// something else took it between the pick and the bind.
var errBind = errors.New("port taken")

// Start starts the cluster and waits until every node accepts connections
// and, with JetStream, a metadata leader is elected and every node is
// current. Test cleanup kills every node; when the test failed, the tail of
// each node's log is printed. Start skips the test under -short.
func Start(tb testing.TB, opts Options) *Cluster {
	tb.Helper()
	if testing.Short() {
		tb.Skip("natscluster: -short: skipping a test on a real multi-node nats-server cluster (separate processes, a few seconds to a minute)")
	}
	if opts.Nodes <= 0 {
		opts.Nodes = 3
	}
	if opts.Name == "" {
		opts.Name = "natscluster"
	}
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = 30 * time.Second
	}
	c := &Cluster{tb: tb, opts: opts, bin: Binary(tb)}
	root := tb.TempDir()
	tb.Cleanup(c.cleanup)
	var err error
	for attempt := 1; attempt <= 5; attempt++ {
		if err = c.startAll(root); !errors.Is(err, errBind) {
			break
		}
		tb.Logf("natscluster: attempt %d: %v; picking new ports", attempt, err)
		c.killAll()
	}
	if err != nil {
		tb.Fatalf("natscluster: start: %v", err)
	}
	if !opts.NoJetStream {
		ctx, cancel := context.WithTimeout(context.Background(), opts.StartTimeout)
		defer cancel()
		if err := c.WaitJetStream(ctx); err != nil {
			tb.Fatalf("natscluster: start: %v", err)
		}
	}
	return c
}

// startAll picks ports, writes every node's configuration and starts the
// nodes, each in a fresh directory.
func (c *Cluster) startAll(root string) error {
	ports, err := freePorts(3 * c.opts.Nodes)
	if err != nil {
		return err
	}
	c.nodes = make([]*node, c.opts.Nodes)
	for i := range c.nodes {
		dir, err := os.MkdirTemp(root, fmt.Sprintf("n%d-", i))
		if err != nil {
			return err
		}
		c.nodes[i] = &node{idx: i, name: fmt.Sprintf("n%d", i), dir: dir, conf: filepath.Join(dir, "nats-server.conf"),
			logPath: filepath.Join(dir, "nats-server.log"), clientPort: ports[3*i], routePort: ports[3*i+1], http: ports[3*i+2]}
	}
	for _, n := range c.nodes {
		if err := os.WriteFile(n.conf, []byte(c.config(n)), 0o644); err != nil {
			return err
		}
	}
	for _, n := range c.nodes {
		if err := c.startNode(n); err != nil {
			return err
		}
	}
	deadline := time.Now().Add(c.opts.StartTimeout)
	for _, n := range c.nodes {
		if err := c.waitReady(n, deadline); err != nil {
			return err
		}
	}
	for _, n := range c.nodes {
		if err := c.waitRouted(n, deadline); err != nil {
			return err
		}
	}
	return nil
}

// waitRouted waits until n has a route to every other node. A server is
// ready before its routes are up, and interest it has not yet exchanged
// is missed: a request to all servers (an account push) would reach only
// some of them.
func (c *Cluster) waitRouted(n *node, deadline time.Time) error {
	hc := &http.Client{Timeout: time.Second}
	var have map[string]bool
	for {
		have = map[string]bool{}
		if res, err := hc.Get(fmt.Sprintf("http://127.0.0.1:%d/routez", n.http)); err == nil {
			var rz struct {
				Routes []struct {
					RemoteName string `json:"remote_name"`
				} `json:"routes"`
			}
			if json.NewDecoder(res.Body).Decode(&rz) == nil {
				for _, r := range rz.Routes {
					have[r.RemoteName] = true
				}
			}
			res.Body.Close()
		}
		missing := 0
		for _, o := range c.nodes {
			if o != n && !have[o.name] {
				missing++
			}
		}
		if missing == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s has routes to %d of %d nodes after %s:\n%s", n.name, len(c.nodes)-1-missing, len(c.nodes)-1, c.opts.StartTimeout, c.tail(n, 20))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// config is node n's configuration file.
func (c *Cluster) config(n *node) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# natscluster node %d of %d\n", n.idx, len(c.nodes))
	fmt.Fprintf(&b, "server_name: %s\nlisten: 127.0.0.1:%d\nhttp: 127.0.0.1:%d\n", n.name, n.clientPort, n.http)
	// The embedded server's limit (bus.DefaultMaxPayload): HTTP batches.
	b.WriteString("max_payload: 8MB\nlogtime: true\n")
	if !c.opts.NoJetStream {
		fmt.Fprintf(&b, "jetstream {\n  store_dir: %q\n  max_memory_store: 256MB\n  max_file_store: 4GB\n}\n", filepath.Join(n.dir, "jetstream"))
	}
	if len(c.nodes) > 1 {
		var routes []string
		for _, o := range c.nodes {
			if o != n {
				routes = append(routes, fmt.Sprintf("nats-route://127.0.0.1:%d", o.routePort))
			}
		}
		fmt.Fprintf(&b, "cluster {\n  name: %q\n  listen: 127.0.0.1:%d\n  routes: [%s]\n}\n", c.opts.Name, n.routePort, strings.Join(routes, ", "))
	}
	if c.opts.ExtraConfig != nil {
		b.WriteString(c.opts.ExtraConfig(n.idx, n.dir))
		b.WriteString("\n")
	}
	return b.String()
}

func (c *Cluster) startNode(n *node) error {
	log, err := os.OpenFile(n.logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	fmt.Fprintf(log, "=== natscluster: starting %s at %s\n", n.name, time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(c.bin, "-c", n.conf)
	cmd.Dir = n.dir
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = procAttr()
	if err := cmd.Start(); err != nil {
		log.Close()
		return fmt.Errorf("start %s: %w", n.name, err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		log.Close()
		close(done)
	}()
	n.mu.Lock()
	n.cmd, n.done = cmd, done
	n.mu.Unlock()
	return nil
}

// waitReady waits until n's monitoring endpoint reports it accepting
// connections (and JetStream enabled), or n has exited.
func (c *Cluster) waitReady(n *node, deadline time.Time) error {
	url := fmt.Sprintf("http://127.0.0.1:%d/healthz?js-enabled-only=true", n.http)
	if c.opts.NoJetStream {
		url = fmt.Sprintf("http://127.0.0.1:%d/healthz", n.http)
	}
	hc := &http.Client{Timeout: time.Second}
	for {
		select {
		case <-n.exited():
			tail := c.tail(n, 20)
			if strings.Contains(tail, "address already in use") {
				return fmt.Errorf("%s: %w:\n%s", n.name, errBind, tail)
			}
			return fmt.Errorf("%s exited at start-up:\n%s", n.name, tail)
		default:
		}
		if res, err := hc.Get(url); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready (%s) after %s:\n%s", n.name, url, c.opts.StartTimeout, c.tail(n, 20))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (n *node) exited() <-chan struct{} {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.done == nil {
		closed := make(chan struct{})
		close(closed)
		return closed
	}
	return n.done
}

// Running reports whether node i's process is alive.
func (c *Cluster) Running(i int) bool {
	select {
	case <-c.node(i).exited():
		return false
	default:
		return true
	}
}

// Nodes is the number of nodes.
func (c *Cluster) Nodes() int { return len(c.nodes) }

// URL is node i's client URL.
func (c *Cluster) URL(i int) string { return fmt.Sprintf("nats://127.0.0.1:%d", c.node(i).clientPort) }

// URLs are every node's client URL.
func (c *Cluster) URLs() []string {
	urls := make([]string, len(c.nodes))
	for i := range c.nodes {
		urls[i] = c.URL(i)
	}
	return urls
}

// ConnectURL is every node's URL joined by commas, as nats.Connect and
// --nats-url take them.
func (c *Cluster) ConnectURL() string { return strings.Join(c.URLs(), ",") }

// Name is node i's server_name, as stream and meta cluster info report it.
func (c *Cluster) Name(i int) string { return c.node(i).name }

// Index is the node whose server_name is name, or -1.
func (c *Cluster) Index(name string) int {
	for _, n := range c.nodes {
		if n.name == name {
			return n.idx
		}
	}
	return -1
}

// Dir is node i's directory: its configuration, JetStream store, log and
// whatever ExtraConfig keeps there.
func (c *Cluster) Dir(i int) string { return c.node(i).dir }

// MonitorURL is node i's HTTP monitoring endpoint (/varz, /jsz, /healthz).
func (c *Cluster) MonitorURL(i int) string { return fmt.Sprintf("http://127.0.0.1:%d", c.node(i).http) }

// Log is node i's log so far, every run of it.
func (c *Cluster) Log(i int) string {
	b, err := os.ReadFile(c.node(i).logPath)
	if err != nil {
		return err.Error()
	}
	return string(b)
}

// Connect opens a client connection to every node (reconnecting to the
// others when its node dies), closed by test cleanup.
func (c *Cluster) Connect(tb testing.TB, opts ...nats.Option) *nats.Conn {
	tb.Helper()
	return c.connect(tb, c.ConnectURL(), opts)
}

// ConnectTo opens a client connection to node i only, closed by test
// cleanup.
func (c *Cluster) ConnectTo(tb testing.TB, i int, opts ...nats.Option) *nats.Conn {
	tb.Helper()
	return c.connect(tb, c.URL(i), append([]nats.Option{nats.DontRandomize(), nats.NoReconnect()}, opts...))
}

func (c *Cluster) connect(tb testing.TB, url string, opts []nats.Option) *nats.Conn {
	tb.Helper()
	base := []nats.Option{nats.MaxReconnects(-1), nats.ReconnectWait(100 * time.Millisecond), nats.Timeout(2 * time.Second)}
	nc, err := nats.Connect(url, append(base, opts...)...)
	if err != nil {
		tb.Fatalf("natscluster: connect %s: %v", url, err)
	}
	tb.Cleanup(nc.Close)
	return nc
}

// Kill kills node i with SIGKILL, as a crash would, and waits for the
// process to be gone.
func (c *Cluster) Kill(i int) {
	c.tb.Helper()
	n := c.node(i)
	if !c.Running(i) {
		c.tb.Fatalf("natscluster: kill %s: not running", n.name)
	}
	_ = n.cmd.Process.Kill()
	<-n.exited()
}

// Stop stops node i with SIGTERM (the server shuts down cleanly, handing
// off the leaderships it holds) and waits for it to exit, killing it after
// 30 s.
func (c *Cluster) Stop(i int) {
	c.tb.Helper()
	n := c.node(i)
	if !c.Running(i) {
		c.tb.Fatalf("natscluster: stop %s: not running", n.name)
	}
	_ = n.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-n.exited():
	case <-time.After(30 * time.Second):
		c.tb.Errorf("natscluster: %s did not exit 30 s after SIGTERM; killing it", n.name)
		_ = n.cmd.Process.Kill()
		<-n.exited()
	}
}

// Restart starts node i again with its ports, configuration and store
// (stopping it first if it runs) and waits until it accepts connections.
// Call WaitJetStream for it to have caught up.
func (c *Cluster) Restart(i int) {
	c.tb.Helper()
	n := c.node(i)
	if c.Running(i) {
		c.Stop(i)
	}
	if err := c.startNode(n); err != nil {
		c.tb.Fatalf("natscluster: restart: %v", err)
	}
	if err := c.waitReady(n, time.Now().Add(c.opts.StartTimeout)); err != nil {
		c.tb.Fatalf("natscluster: restart: %v", err)
	}
}

func (c *Cluster) node(i int) *node {
	if i < 0 || i >= len(c.nodes) {
		panic(fmt.Sprintf("natscluster: no node %d in a cluster of %d", i, len(c.nodes)))
	}
	return c.nodes[i]
}

func (c *Cluster) killAll() {
	for _, n := range c.nodes {
		n.mu.Lock()
		cmd, done := n.cmd, n.done
		n.mu.Unlock()
		if cmd != nil {
			_ = cmd.Process.Kill()
			<-done
		}
	}
}

func (c *Cluster) cleanup() {
	if c.tb.Failed() {
		for _, n := range c.nodes {
			c.tb.Logf("natscluster: %s (client %d, route %d, monitor %d), last lines of %s:\n%s",
				n.name, n.clientPort, n.routePort, n.http, n.logPath, c.tail(n, 40))
		}
	}
	c.killAll()
}

// tail is the last lines of n's log.
func (c *Cluster) tail(n *node, lines int) string {
	b, err := os.ReadFile(n.logPath)
	if err != nil {
		return err.Error()
	}
	all := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return strings.Join(all, "\n")
}

// freePorts returns n distinct loopback ports that were free a moment ago:
// all listened on at once (so they differ), then released for the servers.
// Another process may take one in between; Start retries with new ports
// when a node cannot bind.
func freePorts(n int) ([]int, error) {
	ls := make([]net.Listener, 0, n)
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("free port: %w", err)
		}
		ls = append(ls, l)
		_, p, _ := net.SplitHostPort(l.Addr().String())
		port, _ := strconv.Atoi(p)
		ports = append(ports, port)
	}
	return ports, nil
}
