package app

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/eventrunner/eventrunner/runtime/bus"
	"github.com/eventrunner/eventrunner/runtime/console"
	"github.com/eventrunner/eventrunner/runtime/engine"
	"github.com/eventrunner/eventrunner/runtime/tenant/tenantnats"
)

// withConsole serves the web console on mux and lets its sessions reach
// the APIs behind h (runtime/console); h as it is with --console=false.
func (a *App) withConsole(mux *http.ServeMux, h http.Handler) (http.Handler, error) {
	if a.cfg.NoConsole {
		return h, nil
	}
	cfg := console.Config{
		Tenants:        a.tenants,
		AdminKey:       a.cfg.AdminKey,
		KnowledgeBases: a.consoleKBs,
		Log:            a.log.With("component", "console"),
	}
	if a.tn.streams != nil {
		cfg.Streams = a.tn.streams.JetStream
	}
	if a.tn.keys != nil {
		cfg.NATS = a.consoleNATS
	}
	c, err := console.New(cfg)
	if err != nil {
		return nil, err
	}
	c.Register(mux)
	a.console = c
	return c.Wrap(h), nil
}

// consoleKBs lists the knowledge bases in use with tenant id's rule
// firings counted by this process's engine.
func (a *App) consoleKBs(id string) console.KBReport {
	rep := console.KBReport{Scope: "none", Since: a.started, Bundle: a.reg.BundleHash, KnowledgeBases: []console.KnowledgeBase{}}
	kbs := a.reg.KnowledgeBases()
	var fired engine.Firings
	if a.engine != nil {
		rs := a.engine.Rules()
		kbs, rep.Bundle, rep.Scope = rs.KnowledgeBases(), rs.Bundle(), "process"
		fired = a.engine.Firings(id)
	}
	for _, kb := range kbs {
		k := console.KnowledgeBase{Name: kb.Name(), Version: kb.Version(), On: kb.On(), Schema: kb.SchemaID(), Rules: []console.Rule{}}
		for _, r := range kb.Rules() {
			n := fired[kb.Name()][r.Name]
			k.Rules = append(k.Rules, console.Rule{Name: r.Name, Description: r.Description, Salience: r.Salience, Fired: n})
			k.Fired += n
		}
		rep.KnowledgeBases = append(rep.KnowledgeBases, k)
	}
	return rep
}

// consoleNATS is how tenant id connects to NATS: its account, the API-key
// login, its stream and subjects (docs/tenants.md).
func (a *App) consoleNATS(id string) (console.NATSInfo, bool) {
	pub, err := a.tn.keys.Tenant(id).PublicKey()
	if err != nil {
		return console.NATSInfo{}, false
	}
	urls := a.cfg.NATS.URLs
	if !a.cfg.NATS.External() {
		urls = []string{a.natsURL}
	}
	events, _ := bus.TenantFilter(id)
	stream := tenantnats.StreamName(id)
	server := strings.Join(urls, ",")
	login := fmt.Sprintf(`nats --server %s --user %s --password "$KEY"`, server, id)
	return console.NATSInfo{
		URLs: urls, Account: pub, User: id, Stream: stream,
		Subjects: console.Subjects{Events: events, Outputs: tenantnats.OutFilter(id), DeadLetters: tenantnats.TenantDLQSubject(id)},
		Examples: []string{
			login + " stream info " + stream,
			login + " consumer add " + stream + " mine --pull --filter '" + events + "' --defaults",
			login + " consumer next " + stream + " mine --count 10",
			fmt.Sprintf(`eventrunner tail --nats-url %s --tenant %s --password "$KEY"`, server, id),
			"eventrunner tenant creds " + id + " --out " + id + ".creds   # the operator issues a .creds file; then nats --server " + server + " --creds " + id + ".creds …",
		},
	}, true
}
