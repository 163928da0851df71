package cloudevents

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/cloudevents/sdk-go/v2/types"
)

// FuzzAgainstSDKGo holds the fast structured-format parser (Parse, then
// CheckIncoming and a JSON datacontenttype, as every ingest path asks)
// equal to the CloudEvents Go SDK's (json.Unmarshal into
// event.Event, then Validate): every input both accept reads the same
// attributes, extensions and data. Where they disagree on accepting, the
// difference must be one of those listed in sdkDifferences, which say why
// eventrunner is stricter; an event eventrunner accepts and sdk-go refuses
// would be one its tenants' sdk-go consumers could not read.
func FuzzAgainstSDKGo(f *testing.F) {
	for _, s := range sdkSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		ours, oursErr := acceptStructured(bytes.Clone(b))
		sdk := event.New()
		sdkErr := json.Unmarshal(b, &sdk)
		if sdkErr == nil {
			sdkErr = sdk.Validate()
		}
		switch {
		case oursErr == nil && sdkErr != nil && strings.HasPrefix(sdkErr.Error(), "dataschema:"):
			// A relative dataschema (the short form com.acme.x/v2) is taken
			// on input and rewritten to the schema's absolute URL on the
			// processed event, or refused (422) when it names no schema.
		case oursErr == nil && sdkErr != nil && strings.Contains(sdkErr.Error(), "unexpected data payload for media type"):
			// JSON data with a +json type or another spelling of
			// application/json: JSON by the JSON format's rule (3.1), which
			// sdk-go v2.16 narrows to four exact media types. Recorded in
			// docs/hostile-input.md: producers whose consumers use sdk-go
			// send application/json.
		case oursErr == nil && sdkErr != nil:
			t.Fatalf("eventrunner accepts what sdk-go refuses (%v):\n%s", sdkErr, b)
		case oursErr != nil && sdkErr == nil:
			if !stricterOnPurpose(b, oursErr) {
				t.Fatalf("eventrunner refuses what sdk-go accepts, not on the list of deliberate differences: %v\n%s", oursErr, b)
			}
		case oursErr == nil:
			compareWithSDK(t, ours, &sdk)
		}
	})
}

// sdkDifferences are where eventrunner refuses events sdk-go accepts, on
// purpose (docs/hostile-input.md): each a reason a refusal's message
// contains.
var sdkDifferences = []string{
	"appears more than once",                  // duplicate members: readers disagree on which one counts (sdk-go keeps the last)
	"not valid UTF-8",                         // sdk-go replaces invalid bytes by U+FFFD: two ids would collide
	"unpaired UTF-16 surrogate",               // likewise
	"control character",                       // an id with U+0000 was accepted and then unreadable
	"noncharacter",                            // not a CloudEvents String
	"integer values must be whole numbers",    // 1.5 or 1e3 as an Integer: sdk-go truncates
	"data and data_base64 cannot both be",     // which one is the data?
	"must be a URI-reference",                 // source, dataschema: sdk-go's url.Parse takes spaces and bad escapes
	"must identify the event's context",       // a source of "#" alone: a URI-reference, but it names nothing (sdk-go reads it as absent)
	"must not be blank",                       // an attribute of white space only (a source of " "), which sdk-go reads as missing
	"must be a media type",                    // sdk-go checks it too, but not on every path through its reader
	"must be a string",                        // sdk-go's reader takes an object or a number for some attributes
	"attribute names must be 1-20 lower-case", // the spec's recommended limit, kept as a rule
	"if present, must be non-empty",           // the spec's rule, which sdk-go checks only for datacontenttype
	`must be "1.0"`,                           // eventrunner speaks CloudEvents 1.0 only (sdk-go also 0.3)
	"set by eventrunner",                      // the engine's own extensions (erfired, …), refused at ingest
	"must be JSON",                            // the pipeline validates data against JSON Schemas (runner: datacontenttype)
	"must decode to JSON data",                // data_base64 is taken only when it holds JSON, which schemas validate
}

// acceptStructured is what every ingest path asks of a structured event
// before its data is validated: the format, CheckIncoming and JSON data.
func acceptStructured(b []byte) (*Event, error) {
	ev, err := ParseStructured(b)
	if err != nil {
		return nil, err
	}
	if err := ev.CheckIncoming(); err != nil {
		return nil, err
	}
	if !IsJSONContentType(ev.DataContentType) {
		return nil, &AttributeError{"datacontenttype", "must be JSON"}
	}
	return ev, nil
}

func stricterOnPurpose(_ []byte, err error) bool {
	for _, reason := range sdkDifferences {
		if strings.Contains(err.Error(), reason) {
			return true
		}
	}
	return false
}

func compareWithSDK(t *testing.T, ours *Event, sdk *event.Event) {
	t.Helper()
	same := func(what, a, b string) {
		if a != b {
			t.Errorf("%s: eventrunner %q, sdk-go %q", what, a, b)
		}
	}
	same("id", ours.ID, sdk.ID())
	same("source", asURL(ours.Source), sdk.Source())
	same("type", ours.Type, sdk.Type())
	same("subject", ours.Subject, sdk.Subject())
	same("dataschema", asURL(ours.DataSchema), sdk.DataSchema())
	same("datacontenttype", ours.DataContentType, sdk.DataContentType())
	if ours.Time != "" {
		tm, err := time.Parse(time.RFC3339Nano, ours.Time)
		if err != nil || !tm.Equal(sdk.Time()) {
			t.Errorf("time: eventrunner %q, sdk-go %v", ours.Time, sdk.Time())
		}
	}
	exts := map[string]string{}
	if ours.TenantID != "" {
		exts["tenantid"] = ours.TenantID
	}
	for name, raw := range ours.Extensions {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			s = string(raw) // true, 42
		}
		exts[name] = s
	}
	sdkExts := map[string]string{}
	for name, v := range sdk.Extensions() {
		s, err := types.Format(v)
		if err != nil {
			t.Fatalf("sdk-go extension %s: %v", name, err)
		}
		sdkExts[name] = s
	}
	if !reflect.DeepEqual(exts, sdkExts) {
		t.Errorf("extensions: eventrunner %v, sdk-go %v", exts, sdkExts)
	}
	var a, b any
	errA := json.Unmarshal(ours.Data, &a)
	errB := json.Unmarshal(sdk.Data(), &b)
	if (ours.Data == nil) != (sdk.Data() == nil) || (ours.Data != nil && (errA != nil || errB != nil || !reflect.DeepEqual(a, b))) {
		t.Errorf("data: eventrunner %s, sdk-go %s", ours.Data, sdk.Data())
	}
}

// asURL is u as sdk-go holds it: through url.Parse and back, which
// lower-cases the scheme and drops an empty fragment or query (eventrunner
// keeps the URI as sent).
func asURL(u string) string {
	if p, err := url.Parse(u); err == nil {
		return p.String()
	}
	return u
}

// sdkSeeds are the sample events of every knowledge base and the edge
// cases of the differences above.
func sdkSeeds(tb testing.TB) [][]byte {
	files, _ := filepath.Glob("../../rules/*/samples.jsonl")
	var seeds [][]byte
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			tb.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			if line := bytes.TrimSpace(sc.Bytes()); len(line) > 0 {
				seeds = append(seeds, bytes.Clone(line))
			}
		}
		f.Close()
	}
	if len(seeds) == 0 {
		tb.Fatal("no sample events found under rules/")
	}
	base := `"specversion":"1.0","source":"/s","type":"com.acme.x"`
	for _, s := range []string{
		`{` + base + `,"id":"a","data":{"x":1}}`,
		`{` + base + `,"id":"a","time":"2026-12-01T09:00:00.123456789+01:00","subject":"s/1","dataschema":"https://h/s/v1","datacontenttype":"application/json","data":[1,"x",null]}`,
		`{` + base + `,"id":"a","tenantid":"acme","ext1":"v","num":42,"flag":true,"data":"text"}`,
		`{` + base + `,"id":"a","data_base64":"eyJ4IjoxfQ=="}`,
		`{` + base + `,"id":"a","id":"b"}`,
		`{` + base + `,"id":"coll` + "\xff" + `"}`,
		`{` + base + `,"id":"a\uffff"}`,
		`{` + base + `,"id":"\ud800"}`,
		`{` + base + `,"id":"a\u0000"}`,
		`{` + base + `,"id":"a","ext":{"x":1}}`,
		`{` + base + `,"id":"a","ext":1.5}`,
		`{` + base + `,"id":"a","ext":2147483648}`,
		`{` + base + `,"id":"a","erfired":"R"}`,
		`{` + base + `,"id":"a","data":{},"data_base64":"e30="}`,
		`{"specversion":"1.0","id":"a","source":"/my shop","type":"t"}`,
		`{"specversion":"1.0","id":"a","source":"#","type":"t"}`,
		`{` + base + `,"id":"a","time":"2026-12-01T09:00:00"}`,
		`{` + base + `,"id":"a","subject":""}`,
		`{` + base + `,"id":"a","averyveryverylongextensionname":"x"}`,
		`{` + base + `}`,
		`{"specversion":"0.3","id":"a","source":"/s","type":"t"}`,
		`[` + `{` + base + `,"id":"a"}]`,
	} {
		seeds = append(seeds, []byte(s))
	}
	return seeds
}

// BenchmarkParseVsSDKGo: the fast parser against sdk-go's reading of the
// same structured event (json.Unmarshal into event.Event, then Validate):
// the work of the row "CloudEvent structured: fast codec vs sdk-go" that
// gen/bench adds to the benchmark table (docs/benchmarks.md).
func BenchmarkParseVsSDKGo(b *testing.B) {
	raw := sdkSeeds(b)[0]
	b.Run("eventrunner", func(b *testing.B) {
		b.SetBytes(int64(len(raw)))
		b.ReportAllocs()
		var ev Event
		for i := 0; i < b.N; i++ {
			if err := Parse(raw, &ev); err != nil {
				b.Fatal(err)
			}
			if err := ev.CheckIncoming(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("sdk-go", func(b *testing.B) {
		b.SetBytes(int64(len(raw)))
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			e := event.New()
			if err := json.Unmarshal(raw, &e); err != nil {
				b.Fatal(err)
			}
			if err := e.Validate(); err != nil {
				b.Fatal(err)
			}
		}
	})
}
