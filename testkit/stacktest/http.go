package stacktest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Client sends JSON requests to one base URL and decodes JSON answers.
type Client struct {
	Base   string
	Header http.Header
	HTTP   *http.Client
}

// NewClient returns a client for base with a 15 s timeout.
func NewClient(base string) *Client {
	return &Client{Base: strings.TrimRight(base, "/"), HTTP: &http.Client{Timeout: 15 * time.Second}}
}

// Response is a decoded answer.
type Response struct {
	Status int
	Header http.Header
	Raw    []byte
	JSON   any // the decoded body; nil when it is not JSON
}

// Field returns a top-level field of an object body.
func (r Response) Field(name string) any {
	m, _ := r.JSON.(map[string]any)
	return m[name]
}

// Int returns a numeric top-level field as int64.
func (r Response) Int(name string) int64 {
	f, _ := r.Field(name).(float64)
	return int64(f)
}

// Do sends body (a string is sent as is, anything else as JSON) and reads
// the answer; a request that gets no answer fails the test.
func (c *Client) Do(t testing.TB, method, path string, body any) Response {
	t.Helper()
	r, err := c.Try(method, path, body)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// Try is Do for requests that may get no answer (a service being restarted):
// it returns the error instead of failing the test, so any goroutine may call it.
func (c *Client) Try(method, path string, body any) (Response, error) {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			return Response{}, err
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, c.Base+path, rd)
	if err != nil {
		return Response{}, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, vs := range c.Header {
		req.Header[k] = vs
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return Response{}, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return Response{}, fmt.Errorf("%s %s: read body: %w", method, path, err)
	}
	out := Response{Status: resp.StatusCode, Header: resp.Header, Raw: raw}
	_ = json.Unmarshal(raw, &out.JSON)
	return out, nil
}

// Eventually retries cond every 50 ms until it holds or timeout passes.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not true within %s", what, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
