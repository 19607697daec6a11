package e2e

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/store-manager/store-manager/services/platform/events"
	"github.com/store-manager/store-manager/testkit/stacktest"
	"github.com/store-manager/store-manager/testkit/systemkit"
)

func randomHex(t *testing.T, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// One order is one trace: the client's traceparent is the parent of the
// store's server span; the order's transaction, Debezium's span for its
// outbox row, each handler of each saga event in both services (with their
// transactions and Redis work), and the events they write, follow parent to
// child up to SagaCompleted.
func TestOneOrderIsOneTrace(t *testing.T) {
	s := systemkit.New(t)
	zipkin := systemkit.Instance().ZipkinURL()
	user, product := s.User(t), s.Product(t, "7.00", 5)
	traceID, clientSpan := randomHex(t, 16), randomHex(t, 8)
	client := *s.Store
	client.Header = s.Store.Header.Clone()
	client.Header.Set("traceparent", "00-"+traceID+"-"+clientSpan+"-01")
	r := client.Do(t, "POST", "/orders", map[string]any{"user_id": user, "items": []any{map[string]any{"product_id": product, "quantity": 1}}})
	if r.Status != 201 {
		t.Fatalf("order: %d %s", r.Status, r.Raw)
	}
	id := r.Int("order_id")
	if o := s.Settle(t, 20*time.Second, id)[id]; o.Status != "Completed" {
		t.Fatalf("order = %+v", o)
	}
	if got := s.Store.Do(t, "GET", fmt.Sprintf("/orders/%d", id), nil).Field("trace_id"); got != traceID {
		t.Errorf("GET /orders/%d trace_id = %v, want %s", id, got, traceID)
	}

	steps := []struct{ service, event, writer string }{ // the handler, and the handler (service/event) that wrote its event
		{"payments", events.OrderCreated, ""}, // the REST call wrote it
		{"store-manager", events.StockDecreased, "store-manager/" + events.OrderCreated},
		{"payments", events.StockDecreased, "store-manager/" + events.OrderCreated},
		{"store-manager", events.PaymentCreated, "payments/" + events.StockDecreased},
		{"store-manager", events.SagaCompleted, "store-manager/" + events.PaymentCreated},
	}
	var spans []stacktest.ZipkinSpan
	byID := map[string]stacktest.ZipkinSpan{}
	children := map[string][]stacktest.ZipkinSpan{}
	handler := func(service, eventType string) *stacktest.ZipkinSpan {
		for i, sp := range spans {
			if sp.LocalEndpoint.ServiceName == service && sp.Kind == "CONSUMER" && sp.Tags["event.type"] == eventType {
				return &spans[i]
			}
		}
		return nil
	}
	// Each process sends its spans every few seconds: wait until every
	// handler's span and the two above it are in.
	missing := "the trace"
	defer func() {
		if t.Failed() {
			t.Logf("missing: %s; the trace's spans:", missing)
			for _, sp := range spans {
				t.Logf("  %s %s %s %s parent %s tags %v", sp.LocalEndpoint.ServiceName, sp.Kind, sp.Name, sp.ID, sp.ParentID, sp.Tags)
			}
		}
	}()
	stacktest.Eventually(t, 40*time.Second, "the whole trace in Zipkin", func() bool {
		var found bool
		if spans, found = stacktest.ZipkinTrace(t, zipkin, traceID); !found {
			return false
		}
		byID, children = map[string]stacktest.ZipkinSpan{}, map[string][]stacktest.ZipkinSpan{}
		for _, sp := range spans {
			byID[sp.ID] = sp
			children[sp.ParentID] = append(children[sp.ParentID], sp)
		}
		for _, st := range steps {
			h := handler(st.service, st.event)
			if h == nil {
				missing = st.service + "'s handler of " + st.event
				return false
			}
			if _, ok := byID[byID[h.ParentID].ParentID]; !ok {
				missing = "the writer of the event " + st.service + " handled, " + st.event
				return false
			}
		}
		return true
	})
	hasTransaction := func(parent string) bool { // a span of the command's SQL, its own transaction or its part of a batch
		for _, c := range children[parent] {
			if strings.HasPrefix(c.Name, "sql ") && c.Tags["db.system.name"] == "mysql" {
				return true
			}
		}
		return false
	}

	// The REST call, under the client's span, with its transaction.
	var post *stacktest.ZipkinSpan
	for i, sp := range spans {
		if sp.Kind == "SERVER" && sp.LocalEndpoint.ServiceName == "store-manager" && sp.Name == "post /orders" {
			post = &spans[i]
		}
	}
	if post == nil || post.ParentID != clientSpan {
		t.Fatalf("no store-manager server span POST /orders under the client's span %s: %+v", clientSpan, post)
	}
	if !hasTransaction(post.ID) {
		t.Errorf("the order's transaction is not under the REST call's span")
	}

	// Each saga event: its handler's parent is Debezium's span for the outbox
	// row, whose parent is the span that wrote the row.
	for _, st := range steps {
		h := handler(st.service, st.event)
		if h == nil {
			t.Errorf("no %s span handling %s", st.service, st.event)
			continue
		}
		if h.Tags["event.aggregate_id"] != strconv.FormatInt(id, 10) || h.Tags["event.outcome"] != "handled" {
			t.Errorf("%s's %s span tags = %v", st.service, st.event, h.Tags)
		}
		cdc, ok := byID[h.ParentID]
		if !ok || cdc.LocalEndpoint.ServiceName != "kafka-connect" {
			t.Errorf("the parent of %s's %s span is %+v, not Debezium's span", st.service, st.event, cdc)
			continue
		}
		writer, ok := byID[cdc.ParentID]
		if !ok {
			t.Errorf("Debezium's span for %s has no parent in the trace", st.event)
			continue
		}
		switch got := writer.LocalEndpoint.ServiceName + "/" + writer.Tags["event.type"]; {
		case st.writer == "" && writer.ID != post.ID:
			t.Errorf("Debezium's span for %s is under %s %q, not the REST call", st.event, writer.LocalEndpoint.ServiceName, writer.Name)
		case st.writer != "" && got != st.writer:
			t.Errorf("Debezium's span for %s is under %s %q, want the handler %s", st.event, got, writer.Name, st.writer)
		}
	}
	if h := handler("payments", events.StockDecreased); h != nil && !hasTransaction(h.ID) {
		t.Errorf("payments' StockDecreased handler has no transaction under it")
	}
	// The projector's Redis work is under its handler's span.
	redis := false
	for _, sp := range spans {
		if p, ok := byID[sp.ParentID]; ok && p.Kind == "CONSUMER" && (sp.Name == "evalsha" || sp.Name == "eval") {
			redis = true
		}
	}
	if !redis {
		t.Error("no Redis command under a handler's span")
	}
}

// An event from an outbox row that stored no trace context (a row written
// before tracing, a canary, an unsampled trace) is handled all the same, in
// a trace of its own.
func TestEventWithoutTraceContextIsHandled(t *testing.T) {
	s := systemkit.New(t)
	zipkin := systemkit.Instance().ZipkinURL()
	product := s.Product(t, "3.00", 4)
	db := stacktest.Open(t, stacktest.Stack(t).StoreDSN)
	var stock events.Stock
	stock.ProductID = product
	if err := db.QueryRow("SELECT quantity, version FROM stocks WHERE product_id = ?", product).Scan(&stock.Quantity, &stock.Version); err != nil {
		t.Fatal(err)
	}
	payload, err := json.Marshal(stock) // the stock as it is: a replay, which changes nothing
	if err != nil {
		t.Fatal(err)
	}
	id := uuid.NewString()
	_, err = db.Exec("INSERT INTO outbox (id, aggregatetype, aggregateid, type, payload) VALUES (?, ?, ?, ?, ?)",
		id, events.TopicStocks, strconv.FormatInt(product, 10), events.StockUpdated, payload)
	if err != nil {
		t.Fatal(err)
	}
	var root stacktest.ZipkinSpan
	stacktest.Eventually(t, 30*time.Second, "the event's handling in Zipkin", func() bool {
		var found bool
		root, found = stacktest.ZipkinEventSpan(t, zipkin, "store-manager", id)
		return found
	})
	if root.ParentID != "" || root.Kind != "CONSUMER" || root.Tags["event.outcome"] != "handled" {
		t.Fatalf("the handler's span = %+v, want a handled consumer span without a parent", root)
	}
	s.StockSettles(t, product, 4)
}
