package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"github.com/cloudevents/sdk-go/v2/types"

	"github.com/eventrunner/eventrunner/runtime/cloudevents"
	"github.com/eventrunner/eventrunner/runtime/problem"
)

// FuzzBinaryAgainstSDKGo holds the HTTP binary-mode parser equal to
// sdk-go's (binding.ToEvent over the same request, then Validate): every
// request both accept reads the same attributes, extension and data; where
// only sdk-go accepts, eventrunner's refusal is one of binaryDifferences;
// eventrunner never accepts what sdk-go refuses.
func FuzzBinaryAgainstSDKGo(f *testing.F) {
	f.Add("b-1", "/s", "", "eu", "application/json", []byte(`{"a":1}`))
	f.Add("b-2", "https://h/p?q=1", "s/1", "", "application/json; charset=utf-8", []byte(`[1,2]`))
	f.Add("x-%41", "/s%20t", "sub%C3%A9", "eu%2Cwest", "application/json", []byte(` {"a":"é"} `))
	f.Add("x-%FF%FE", "/s", "", "eu", "application/json", []byte(`{}`))
	f.Add("a%00", "/s", "", "", "application/json", []byte(nil))
	f.Add("b-3", "/s", "", "", "text/plain", []byte(`hello`))
	f.Add("b-4", "/s", "", "", "application/vnd.acme+json", []byte(`{"a":1}`))
	f.Add("b-5", "#", "", "", "application/json", []byte(`{}`))
	f.Fuzz(func(t *testing.T, id, source, subject, region, ct string, body []byte) {
		h := http.Header{"Ce-Specversion": {"1.0"}, "Ce-Id": {id}, "Ce-Source": {source}, "Ce-Type": {"com.acme.x"}, "Content-Type": {ct}}
		if subject != "" {
			h.Set("Ce-Subject", subject)
		}
		if region != "" {
			h.Set("Ce-Region", region)
		}
		for _, vs := range h {
			for _, v := range vs {
				if strings.ContainsAny(v, "\r\n\x00") || !validHeader(v) || strings.Trim(v, " \t") != v {
					return // not something a server receives: net/http trims a value's outer blanks
				}
			}
		}
		ours, problem := parseBinary(h, ct, bytes.Clone(body))
		req := httptest.NewRequest(http.MethodPost, "/v1/events", bytes.NewReader(body))
		req.Header = h.Clone()
		sdk, sdkErr := binding.ToEvent(context.Background(), cehttp.NewMessageFromHttpRequest(req))
		if sdkErr == nil {
			sdkErr = sdk.Validate()
		}
		switch {
		case problem == nil && sdkErr != nil && strings.HasPrefix(sdkErr.Error(), "dataschema:"):
		case problem == nil && sdkErr != nil:
			t.Fatalf("eventrunner accepts what sdk-go refuses (%v): %v %q", sdkErr, h, body)
		case problem != nil && sdkErr == nil:
			if !binaryStricterOnPurpose(problem) {
				t.Fatalf("eventrunner refuses what sdk-go accepts, not on the list: %v (%s)\n%v %q", problem, problem.Field, h, body)
			}
		case problem == nil:
			compareBinary(t, ours, sdk)
		}
	})
}

// binaryDifferences are where eventrunner refuses a binary-mode request
// sdk-go accepts, on purpose (docs/hostile-input.md).
var binaryDifferences = []string{
	"not valid UTF-8", "unpaired UTF-16 surrogate", "control character", "noncharacter", // sdk-go keeps or mangles them
	"bad percent-encoding",                                         // sdk-go passes a malformed %-escape through
	"must be a URI-reference", "must identify the event's context", // sdk-go's url.Parse is laxer
	"must be a media type",                        // sdk-go also refuses it, but after our JSON check
	"data must be JSON", "data is not valid JSON", // the pipeline validates JSON data against schemas
}

func binaryStricterOnPurpose(p *problem.Problem) bool {
	for _, reason := range binaryDifferences {
		if strings.Contains(p.Detail, reason) {
			return true
		}
	}
	return false
}

func compareBinary(t *testing.T, ours *cloudevents.Event, sdk *event.Event) {
	t.Helper()
	same := func(what, a, b string) {
		// The binding (3.1.3.2) percent-decodes every attribute value;
		// sdk-go v2.16 leaves extension values encoded.
		if d, err := cloudevents.PercentDecode(b); a != b && (err != nil || a != d) {
			t.Errorf("%s: eventrunner %q, sdk-go %q", what, a, b)
		}
	}
	same("id", ours.ID, sdk.ID())
	if u, err := url.Parse(ours.Source); err == nil {
		same("source", u.String(), sdk.Source())
	}
	same("subject", ours.Subject, sdk.Subject())
	same("datacontenttype", ours.DataContentType, sdk.DataContentType())
	var region string
	if raw, ok := ours.Extensions["region"]; ok && json.Unmarshal(raw, &region) != nil {
		region = string(raw)
	}
	sdkRegion, _ := types.Format(sdk.Extensions()["region"])
	if _, ok := sdk.Extensions()["region"]; !ok {
		sdkRegion = ""
	}
	same("region", region, sdkRegion)
	if !bytes.Equal(ours.Data, sdk.Data()) && !(len(bytes.TrimSpace(ours.Data)) == 0 && len(bytes.TrimSpace(sdk.Data())) == 0) {
		t.Errorf("data: eventrunner %q, sdk-go %q", ours.Data, sdk.Data())
	}
}

// validHeader reports whether net/http would send v as a header value.
func validHeader(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}
