package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/eventrunner/eventrunner/runtime/tenant/tenantnats"
)

// The console test drives the web console in a real browser: headless
// Chromium from Debian (.ci/run installs it), through chromedp.

var updateScreenshots = flag.Bool("update-screenshots", false, "write the console test's screenshots to docs/console/")

const consoleAdminKey = "console-admin-key-0123456789"

// chromium finds the browser: $EVENTRUNNER_CHROMIUM, else the usual names.
// Without one the test skips, except in CI (.ci/chromium.sh installs it),
// where it fails like every test whose tool is missing.
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("EVENTRUNNER_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless_shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	missing(t, "no chromium binary on PATH (apt-get install chromium, as .ci/run does; or set EVENTRUNNER_CHROMIUM): the console's browser test needs one") // skips, or fails in CI
	return ""
}

// browser is a headless tab and what its page wrote to the console.
type browser struct {
	ctx  context.Context
	mu   sync.Mutex
	errs []string
}

func newBrowser(t *testing.T, exe string) *browser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.WindowSize(1280, 860),
		chromedp.UserDataDir(t.TempDir()))
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox) // Chromium refuses to run as root with its sandbox
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	ctx, cancelTime := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() { cancelTime(); cancelTab(); cancelAlloc() })
	b := &browser{ctx: ctx}
	msgs := chromedp.Console(ctx) // subscribes (and starts the browser) now
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			// The boot's session check answers 401 before a login: the
			// browser logs failed loads, which are expected here.
			if (m.Type == chromedp.ConsoleError || m.IsException()) && !strings.Contains(m.Text, "Failed to load resource") {
				b.mu.Lock()
				b.errs = append(b.errs, m.String())
				b.mu.Unlock()
			}
		}
	}()
	return b
}

func (b *browser) do(t *testing.T, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func (b *browser) text(t *testing.T, sel string) string {
	t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.TextContent(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

// waitText waits until the element sel's text contains want.
func (b *browser) waitText(t *testing.T, sel, want string) {
	t.Helper()
	js := fmt.Sprintf(`(() => { const e = document.querySelector(%q); return !!e && e.textContent.includes(%q); })()`, sel, want)
	if _, err := chromedp.Run(b.ctx, chromedp.Poll[bool](js, chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		got, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](fmt.Sprintf(`(document.querySelector(%q) || {}).textContent || ''`, sel)))
		t.Fatalf("waiting for %q in %s (it says %q): %v", want, sel, got, err)
	}
}

func (b *browser) count(t *testing.T, sel string) int {
	t.Helper()
	n, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](fmt.Sprintf(`document.querySelectorAll(%q).length`, sel)))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func (b *browser) tab(t *testing.T, name string) {
	t.Helper()
	b.do(t, "tab "+name, chromedp.Click(chromedp.CSS(`#tabs button[data-tab="`+name+`"]`)))
}

// shot writes docs/console/<name>.png with -update-screenshots.
func (b *browser) shot(t *testing.T, name string) {
	t.Helper()
	if !*updateScreenshots {
		return
	}
	png, err := chromedp.Run(b.ctx, chromedp.CaptureScreenshot()) // the window, 1280×860
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	dir := filepath.Join("..", "..", "docs", "console")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

func (b *browser) login(t *testing.T, key string) {
	t.Helper()
	b.do(t, "log in", chromedp.WaitVisible(chromedp.CSS("#login-key")), chromedp.SendKeys(chromedp.CSS("#login-key"), key),
		chromedp.Click(chromedp.CSS(`#login-form button[type="submit"]`)), chromedp.WaitVisible(chromedp.CSS("#app")))
}

// postAs posts one structured event with key.
func postAs(t *testing.T, s *server, key, body string) {
	t.Helper()
	code, _, b := request(t, http.MethodPost, s.httpURL+"/v1/events", key, "application/cloudevents+json", body)
	if code != http.StatusAccepted {
		t.Fatalf("post: %d %s", code, b)
	}
}

// deadLetter publishes an event with invalid data to er.raw.<tenant> as the
// tenant, over NATS: the runner dead-letters it (invalid-data).
func deadLetter(t *testing.T, s *server, tenantID, key, id string) {
	t.Helper()
	nc, err := nats.Connect(s.natsURL, tenantnats.ClientOptions(tenantID, key)...)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	m := nats.NewMsg("er.raw." + tenantID)
	m.Header.Set("Content-Type", "application/cloudevents+json")
	m.Data = fmt.Appendf(nil, `{"specversion":"1.0","id":%q,"source":"/console-e2e","type":"com.acme.iot.reading","data":{"deviceId":"dev-abcd","sensor":"temperature","value":1,"battery":101,"recordedAt":"2026-11-28T09:00:00Z"}}`, id)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := js.PublishMsg(ctx, m); err != nil {
		t.Fatal(err)
	}
}

// TestConsoleInBrowser logs in to the console as the demo tenant, posts an
// event through the API and sees it arrive in the live tail, opens it
// (processed data and fired rules beside the input: attributes and data as sent), finds it in the
// event search, redrives a dead letter, looks at the knowledge bases, the
// schemas and the NATS details, and checks that another tenant's events and
// dead letters never show; then logs in as the admin. With
// -update-screenshots it writes docs/console/*.png.
func TestConsoleInBrowser(t *testing.T) {
	exe := chromium(t)
	s := startServer(t, t.TempDir(), "--admin-key", consoleAdminKey)
	var other struct {
		APIKey string `json:"api_key"`
	}
	code, _, body := request(t, http.MethodPost, s.httpURL+"/admin/v1/tenants", consoleAdminKey, "application/json", `{"id":"other"}`)
	if code != http.StatusCreated || json.Unmarshal(body, &other) != nil || other.APIKey == "" {
		t.Fatalf("create tenant other: %d %s", code, body)
	}
	postAs(t, s, other.APIKey, iotEvent("other-secret-1", 50))
	deadLetter(t, s, "demo", testKey, "dl-1")
	deadLetter(t, s, "other", other.APIKey, "other-dl-1")

	b := newBrowser(t, exe)
	b.do(t, "open the console", chromedp.Navigate(s.httpURL+"/console"), chromedp.WaitVisible(chromedp.CSS("#login-key")))
	b.shot(t, "login")
	b.login(t, testKey)
	if who := b.text(t, "#who"); who != "tenant demo" {
		t.Fatalf("logged in as %q", who)
	}

	// Live tail: the event posted through the API arrives; the other
	// tenant's, posted just before it, does not.
	b.tab(t, "live")
	b.do(t, "start the tail", chromedp.Click(chromedp.CSS("#live-toggle")))
	b.waitText(t, "#live-state", "live")
	postAs(t, s, other.APIKey, iotEvent("other-live-1", 60))
	postAs(t, s, testKey, iotEvent("console-1", 212))
	b.do(t, "see the event in the tail", chromedp.WaitVisible(chromedp.CSS(`#live-table tr[data-id="console-1"]`)))
	b.do(t, "open it", chromedp.Click(chromedp.CSS(`#live-table tr[data-id="console-1"]`)), chromedp.WaitVisible(chromedp.CSS("#detail")))
	b.waitText(t, "#detail-rules", "FahrenheitToCelsius")
	b.waitText(t, "#detail-data", `"unit": "C"`)
	b.waitText(t, "#detail-input", `"unit": "F"`) // the data as sent, beside it
	b.waitText(t, "#detail-attrs", "/e2e")
	b.shot(t, "live-tail")

	// Search: by type lists it, by id opens it; the other tenant's id is
	// not found.
	b.tab(t, "events")
	b.do(t, "search events", chromedp.Click(chromedp.CSS(`#events-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#events-table tr[data-id="console-1"]`)))
	b.do(t, "open from the list", chromedp.Click(chromedp.CSS(`#events-table tr[data-id="console-1"]`)), chromedp.WaitVisible(chromedp.CSS("#detail")))
	b.waitText(t, "#detail-title", "console-1")
	b.shot(t, "events")
	b.do(t, "search another tenant's id", chromedp.SendKeys(chromedp.CSS("#events-id"), "other-secret-1"),
		chromedp.Click(chromedp.CSS(`#events-form button[type="submit"]`)))
	b.waitText(t, "#status", "no event")

	b.tab(t, "kbs")
	b.waitText(t, `.card[data-kb="iot"] tr[data-rule="FahrenheitToCelsius"] td.fired`, "1")
	b.shot(t, "knowledge-bases")

	b.tab(t, "schemas")
	b.do(t, "open a schema", chromedp.Click(chromedp.CSS(`#schemas-table tbody button`)), chromedp.WaitVisible(chromedp.CSS("#schema-doc")))
	b.waitText(t, "#schema-doc", `"$id"`)
	b.shot(t, "schemas")

	b.tab(t, "nats")
	b.waitText(t, "#nats-info", "ER_T_demo")
	b.waitText(t, "#nats-examples", "--user demo")
	b.shot(t, "nats-wasm")

	// Dead letters (GET /v1/dlq, POST /v1/dlq/redrive: runtime/dlq).
	b.tab(t, "dlq")
	b.do(t, "see the dead letter", chromedp.WaitVisible(chromedp.CSS(`#dlq-table tr[data-id="dl-1"]`)))
	b.waitText(t, `#dlq-table tr[data-id="dl-1"]`, "invalid-data")
	seq, err := chromedp.Run(b.ctx, chromedp.AttributeValue(chromedp.CSS(`#dlq-table tr[data-id="dl-1"]`), "data-seq"))
	if err != nil || seq.Value == "" {
		t.Fatalf("seq of dead letter dl-1: %v", err)
	}
	row := `#dlq-table tr[data-seq="` + seq.Value + `"]`
	b.do(t, "redrive it", chromedp.Click(chromedp.CSS(row+" button.redrive")))
	b.waitText(t, "#dlq-result", "Redrive: ")
	b.waitText(t, row+" td.redriven", "rejected") // its data is still invalid
	b.shot(t, "dead-letters")

	// Nothing of the other tenant reached any page.
	if n := b.count(t, `[data-id^="other-"]`); n != 0 {
		t.Errorf("%d rows of tenant other's data on demo's pages", n)
	}
	if page := b.text(t, "body"); strings.Contains(page, "other-secret-1") || strings.Contains(page, "other-live-1") || strings.Contains(page, "other-dl-1") {
		t.Error("tenant other's event ids appear on demo's pages")
	}

	// The admin view: every tenant, and a tenant's views through ?tenant=.
	b.do(t, "log out", chromedp.Click(chromedp.CSS("#logout")))
	b.login(t, consoleAdminKey)
	b.waitText(t, "#who", "admin")
	b.do(t, "see the tenants", chromedp.WaitVisible(chromedp.CSS(`#tenants-table tr[data-tenant="other"]`)))
	b.shot(t, "admin-tenants")
	b.do(t, "view tenant other", chromedp.Click(chromedp.CSS(`#tenants-table tr[data-tenant="other"] button`)))
	b.tab(t, "nats")
	b.waitText(t, "#nats-info", "ER_T_other")
	b.tab(t, "live")
	b.do(t, "start the admin's tail of other", chromedp.Click(chromedp.CSS("#live-toggle")))
	b.waitText(t, "#live-state", "live")
	postAs(t, s, other.APIKey, iotEvent("other-live-2", 70))
	b.do(t, "see other's event", chromedp.WaitVisible(chromedp.CSS(`#live-table tr[data-id="other-live-2"]`)))

	// An open tail does not hold up a graceful shutdown.
	start := time.Now()
	s.stop(t)
	if d := time.Since(start); d > 15*time.Second {
		t.Errorf("serve took %v to stop with a live tail open", d)
	}

	b.mu.Lock()
	defer b.mu.Unlock()
	for _, e := range b.errs {
		t.Errorf("browser console: %s", e)
	}
}
