package natscluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// jsz is the part of a node's /jsz answer WaitJetStream reads.
type jsz struct {
	Meta *struct {
		Leader   string `json:"leader"`
		Replicas []struct {
			Name    string `json:"name"`
			Current bool   `json:"current"`
			Offline bool   `json:"offline"`
		} `json:"replicas"`
	} `json:"meta_cluster"`
}

// WaitJetStream waits until the running nodes agree on a metadata leader
// that is one of them and each reports itself healthy (/healthz: current
// with the metadata and with every stream and consumer it holds a replica
// of). After Kill or Restart this is the point at which the cluster has
// re-elected and the returning node caught up.
func (c *Cluster) WaitJetStream(ctx context.Context) error {
	hc := &http.Client{Timeout: time.Second}
	var last error
	for {
		if last = c.jetStreamReady(ctx, hc); last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("natscluster: JetStream not ready: %w (%v)", last, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (c *Cluster) jetStreamReady(ctx context.Context, hc *http.Client) error {
	leader, live := "", 0
	for i := range c.nodes {
		if !c.Running(i) {
			continue
		}
		live++
		var z jsz
		if err := getJSON(ctx, hc, c.MonitorURL(i)+"/jsz", &z); err != nil {
			return err
		}
		if z.Meta == nil || z.Meta.Leader == "" {
			return fmt.Errorf("%s: no metadata leader", c.Name(i))
		}
		if l := c.Index(z.Meta.Leader); l < 0 || !c.Running(l) {
			return fmt.Errorf("%s: metadata leader %s is not running", c.Name(i), z.Meta.Leader)
		}
		if leader != "" && z.Meta.Leader != leader {
			return fmt.Errorf("%s sees metadata leader %s, others %s", c.Name(i), z.Meta.Leader, leader)
		}
		leader = z.Meta.Leader
		if err := healthy(ctx, hc, c.MonitorURL(i)); err != nil {
			return fmt.Errorf("%s: %w", c.Name(i), err)
		}
	}
	if live == 0 {
		return errors.New("no node is running")
	}
	return nil
}

func healthy(ctx context.Context, hc *http.Client, base string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/healthz", nil)
	if err != nil {
		return err
	}
	res, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		var h struct {
			Error string `json:"error"`
		}
		_ = json.NewDecoder(res.Body).Decode(&h)
		return fmt.Errorf("healthz %d: %s", res.StatusCode, h.Error)
	}
	return nil
}

func getJSON(ctx context.Context, hc *http.Client, url string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	res, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, res.Status)
	}
	return json.NewDecoder(res.Body).Decode(v)
}

// StreamLeader waits until stream (in js's account) has a leader among the
// running nodes and returns that node.
func (c *Cluster) StreamLeader(ctx context.Context, js jetstream.JetStream, stream string) (int, error) {
	var last error
	for {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		s, err := js.Stream(cctx, stream)
		cancel()
		switch {
		case err != nil:
			last = err
		case s.CachedInfo().Cluster == nil || s.CachedInfo().Cluster.Leader == "":
			last = errors.New("no leader")
		default:
			name := s.CachedInfo().Cluster.Leader
			if i := c.Index(name); i >= 0 && c.Running(i) {
				return i, nil
			}
			last = fmt.Errorf("leader %s is not running", name)
		}
		select {
		case <-ctx.Done():
			return -1, fmt.Errorf("natscluster: stream %s: leader: %w (%v)", stream, last, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// MoveStreamLeader makes node the leader of stream (in js's account): it
// waits until node's replica is current, then has the leader step down in
// node's favour. Reading the stream then reads what node stored.
func (c *Cluster) MoveStreamLeader(ctx context.Context, js jetstream.JetStream, stream string, node int) error {
	for {
		cur, err := c.StreamLeader(ctx, js, stream)
		if err != nil {
			return err
		}
		if cur == node {
			return nil
		}
		if err := c.waitReplicaCurrent(ctx, js, stream, node); err != nil {
			return err
		}
		body, _ := json.Marshal(map[string]any{"placement": map[string]any{"preferred": c.Name(node)}})
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		m, err := js.Conn().RequestWithContext(cctx, apiPrefix(js)+"STREAM.LEADER.STEPDOWN."+stream, body)
		cancel()
		if err != nil {
			return fmt.Errorf("natscluster: stream %s: step down for %s: %w", stream, c.Name(node), err)
		}
		var res struct {
			Error *struct {
				Description string `json:"description"`
			} `json:"error"`
		}
		if err := json.Unmarshal(m.Data, &res); err != nil {
			return fmt.Errorf("natscluster: stream %s: step down: %q: %w", stream, m.Data, err)
		}
		if res.Error != nil && !strings.Contains(res.Error.Description, "already leader") {
			return fmt.Errorf("natscluster: stream %s: step down for %s: %s", stream, c.Name(node), res.Error.Description)
		}
		// The election takes a moment; StreamLeader above waits it out.
		select {
		case <-ctx.Done():
			return fmt.Errorf("natscluster: stream %s: move leader to %s: %w", stream, c.Name(node), ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// waitReplicaCurrent waits until the stream's leader reports node's
// replica current and not lagging.
func (c *Cluster) waitReplicaCurrent(ctx context.Context, js jetstream.JetStream, stream string, node int) error {
	state := "unknown"
	for {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		s, err := js.Stream(cctx, stream)
		cancel()
		if err == nil && s.CachedInfo().Cluster != nil {
			state = "not a replica"
			for _, r := range s.CachedInfo().Cluster.Replicas {
				if r.Name != c.Name(node) {
					continue
				}
				if r.Current && r.Lag == 0 {
					return nil
				}
				state = fmt.Sprintf("current=%v lag=%d", r.Current, r.Lag)
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("natscluster: stream %s: replica on %s: %s (%v)", stream, c.Name(node), state, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// apiPrefix is the JetStream API prefix js sends requests under.
func apiPrefix(js jetstream.JetStream) string {
	o := js.Options()
	switch {
	case o.APIPrefix != "":
		return strings.TrimSuffix(o.APIPrefix, ".") + "."
	case o.Domain != "":
		return "$JS." + o.Domain + ".API."
	default:
		return jetstream.DefaultAPIPrefix
	}
}
