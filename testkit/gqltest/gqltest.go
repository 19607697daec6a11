// Package gqltest is a GraphQL subscriptions client for tests: the
// graphql-transport-ws protocol over a WebSocket, and server-sent events.
// Only tests import it.
package gqltest

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
)

// Conn is a graphql-transport-ws connection.
type Conn struct {
	ws *websocket.Conn
}

// Message is one message of the protocol.
type Message struct {
	ID      string          `json:"id,omitempty"`
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

// Dial opens a WebSocket to url (http or https), sends connection_init with
// payload and waits for the server's acknowledgement. The connection is
// closed when the test ends.
func Dial(t testing.TB, url string, payload map[string]any) (*Conn, error) {
	t.Helper()
	return DialWith(t, url, nil, payload)
}

// DialWith is Dial with the upgrade request's header (a browser's Origin).
func DialWith(t testing.TB, url string, header http.Header, payload map[string]any) (*Conn, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(url, "http"), &websocket.DialOptions{
		Subprotocols: []string{"graphql-transport-ws"}, HTTPHeader: header,
	})
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { ws.CloseNow() })
	c := &Conn{ws: ws}
	if err := wsjson.Write(ctx, ws, map[string]any{"type": "connection_init", "payload": payload}); err != nil {
		return nil, err
	}
	ack, err := c.Next(ctx)
	if err != nil {
		return nil, err
	}
	if ack.Type != "connection_ack" {
		return nil, fmt.Errorf("got %s %s, want connection_ack", ack.Type, ack.Payload)
	}
	return c, nil
}

// Subscribe starts operation id.
func (c *Conn) Subscribe(t testing.TB, id, query string, vars map[string]any) {
	t.Helper()
	msg := map[string]any{"id": id, "type": "subscribe", "payload": map[string]any{"query": query, "variables": vars}}
	if err := wsjson.Write(context.Background(), c.ws, msg); err != nil {
		t.Fatal(err)
	}
}

// Next returns the next message that is not a ping or a pong.
func (c *Conn) Next(ctx context.Context) (Message, error) {
	for {
		var m Message
		if err := wsjson.Read(ctx, c.ws, &m); err != nil {
			return m, err
		}
		if m.Type != "ping" && m.Type != "pong" {
			return m, nil
		}
	}
}

// Result waits up to 15 s for the next result and decodes its data's field into v.
func (c *Conn) Result(t testing.TB, field string, v any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	m, err := c.Next(ctx)
	if err != nil {
		t.Fatalf("waiting for a result: %v", err)
	}
	if m.Type != "next" {
		t.Fatalf("got %s %s, want next", m.Type, m.Payload)
	}
	decodeField(t, m.Payload, field, v)
}

// decodeField decodes the field of a GraphQL response's data into v.
func decodeField(t testing.TB, response []byte, field string, v any) {
	t.Helper()
	var r struct {
		Data   map[string]json.RawMessage
		Errors json.RawMessage
	}
	if err := json.Unmarshal(response, &r); err != nil {
		t.Fatal(err)
	}
	raw, ok := r.Data[field]
	if !ok {
		t.Fatalf("no %s in %s", field, response)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatal(err)
	}
}

// Events posts a subscription to url asking for server-sent events and
// returns the data of each event as it arrives; the stream ends with the test.
func Events(t testing.TB, url string, header http.Header, query string) <-chan string {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query})
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, "POST", url, strings.NewReader(string(body)))
	req.Header = header.Clone()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		resp.Body.Close()
		t.Fatalf("POST %s for events = %d %q", url, resp.StatusCode, ct)
	}
	out := make(chan string)
	go func() {
		defer resp.Body.Close()
		defer close(out)
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				select {
				case out <- data:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out
}
