package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
)

// callAPI is one JSON call of the commands that talk to serve's HTTP API
// (tenant, wasm, dlq): in, when not nil, is sent as the JSON body with key
// as the bearer token; a 2xx reply is decoded into out when not nil (a
// *rawBody takes it as it is). Any other status is an error naming the
// request (what) and the problem+json detail when there is one.
func callAPI(hc *http.Client, method, url, what, key string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("%s: read the reply: %w", what, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode >= 300 {
		var p struct{ Detail string }
		if json.Unmarshal(b, &p) == nil && p.Detail != "" {
			return fmt.Errorf("%s: %s: %s", what, resp.Status, p.Detail)
		}
		return fmt.Errorf("%s: %s", what, resp.Status)
	}
	switch out := out.(type) {
	case nil:
		return nil
	case *rawBody:
		*out = b
		return nil
	default:
		return json.Unmarshal(b, out)
	}
}

// rawBody takes a response body as it is.
type rawBody []byte
