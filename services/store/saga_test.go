package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"slices"
	"testing"

	storedb "github.com/store-manager/store-manager/db/store"
	"github.com/store-manager/store-manager/services/platform/consumer"
	"github.com/store-manager/store-manager/services/platform/events"
	"github.com/store-manager/store-manager/services/platform/outbox"
)

// memPorts is an order and a stock in memory, for running saga steps
// without a database.
type memPorts struct {
	order     *storedb.Order // nil: no such order
	items     []storedb.OrderItem
	stock     map[int64]storedb.LockStocksRow
	decreased map[int64]int32
	steps     []string // event/status of each recorded step
	incidents []string // type: reason of each incident recorded
}

func (m *memPorts) GetOrderForStep(_ context.Context, id int64) (storedb.GetOrderForStepRow, error) {
	if m.order == nil || m.order.ID != id {
		return storedb.GetOrderForStepRow{}, sql.ErrNoRows
	}
	rows := make([]map[string]any, len(m.items)) // as the query builds them
	for i, it := range m.items {
		rows[i] = map[string]any{"id": it.ID, "product_id": it.ProductID, "quantity": it.Quantity, "unit_price": json.Number(it.UnitPrice)}
	}
	raw, _ := json.Marshal(rows)
	return storedb.GetOrderForStepRow{Order: *m.order, Items: raw}, nil
}

func (m *memPorts) CreateOrderSteps(_ context.Context, steps []storedb.OrderStep) error {
	for _, st := range steps {
		m.steps = append(m.steps, st.Event+"/"+st.Status)
	}
	return nil
}

func (m *memPorts) SaveOrder(_ context.Context, arg storedb.SaveOrderParams) (int64, error) {
	m.order.Status, m.order.StockTaken, m.order.Version = arg.Status, arg.StockTaken, arg.Version
	m.order.FailureReason, m.order.PaymentID, m.order.IsPaid = arg.FailureReason, arg.PaymentID, arg.IsPaid
	return 1, nil
}

func (m *memPorts) DeleteOrder(_ context.Context, id int64) (int64, error) {
	if m.order == nil || m.order.ID != id {
		return 0, nil
	}
	m.order = nil
	return 1, nil
}

func (m *memPorts) CreateIncident(_ context.Context, arg storedb.CreateIncidentParams) error {
	m.incidents = append(m.incidents, arg.EventType+": "+arg.Reason)
	return nil
}

func (m *memPorts) LockStocks(_ context.Context, ids []int64) ([]storedb.LockStocksRow, error) {
	var out []storedb.LockStocksRow
	for _, id := range ids {
		if st, ok := m.stock[id]; ok {
			out = append(out, st)
		}
	}
	return out, nil
}

func (m *memPorts) DecreaseStock(_ context.Context, arg storedb.DecreaseStockParams) (int64, error) {
	st := m.stock[arg.ProductID]
	if st.Quantity < arg.Amount {
		return 0, nil
	}
	st.Quantity, st.Version = st.Quantity-arg.Amount, st.Version+1
	m.stock[arg.ProductID] = st
	m.decreased[arg.ProductID] += arg.Amount
	return 1, nil
}

func (m *memPorts) IncreaseStock(_ context.Context, arg storedb.IncreaseStockParams) (int64, error) {
	st := m.stock[arg.ProductID]
	st.Quantity, st.Version = st.Quantity+arg.Amount, st.Version+1
	m.stock[arg.ProductID] = st
	m.decreased[arg.ProductID] -= arg.Amount
	return 1, nil
}

func (m *memPorts) GetStock(_ context.Context, id int64) (storedb.GetStockRow, error) {
	st := m.stock[id]
	return storedb.GetStockRow{ProductID: id, Quantity: st.Quantity, Version: st.Version}, nil
}

// The stock step, run through its ports: an order the stock serves takes
// every item and announces each product's new stock; an order one item
// short takes nothing and fails, in the same transaction, as an outcome.
func TestStockStepThroughPorts(t *testing.T) {
	cases := []struct {
		name      string
		left      int32 // units of product 2 in stock
		status    string
		announced []string
		taken     int32
	}{
		{"enough stock", 5, StatusStockDecreased, []string{events.StockUpdated, events.StockUpdated, events.StockDecreased}, 1},
		{"one item short", 1, StatusStockDecreaseFailed, []string{events.StockDecreaseFailed}, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := &memPorts{
				order: &storedb.Order{ID: 9, Status: StatusCreated, TotalAmount: "7.00", Version: 1},
				items: []storedb.OrderItem{{ID: 1, OrderID: 9, ProductID: 1, Quantity: 1, UnitPrice: "1.00"},
					{ID: 2, OrderID: 9, ProductID: 2, Quantity: 2, UnitPrice: "3.00"}},
				stock: map[int64]storedb.LockStocksRow{
					1: {ProductID: 1, Quantity: 10, Version: 4}, 2: {ProductID: 2, Quantity: tc.left, Version: 7}},
				decreased: map[int64]int32{},
			}
			out, err := (&Service{}).run(context.Background(), p, consumer.Message{ID: "e1", Type: events.OrderCreated}, 9,
				input{kind: events.OrderCreated})
			if err != nil {
				t.Fatal(err)
			}
			if got := types(out); !slices.Equal(got, tc.announced) {
				t.Fatalf("announced %v, want %v", got, tc.announced)
			}
			if p.order.Status != tc.status || p.order.Version != 2 || p.decreased[1] != tc.taken {
				t.Fatalf("order %s v%d, product 1 taken %d; want %s v2, %d", p.order.Status, p.order.Version, p.decreased[1], tc.status, tc.taken)
			}
			if tc.taken == 1 {
				var st events.Stock
				_ = json.Unmarshal(out[1].Payload, &st)
				if st.Quantity != tc.left-2 || st.Version != 8 {
					t.Fatalf("product 2's announced stock = %+v, want %d at version 8", st, tc.left-2)
				}
			}
			// The same OrderCreated again finds the stock settled and does nothing.
			again, err := (&Service{}).run(context.Background(), p, consumer.Message{ID: "e1", Type: events.OrderCreated}, 9,
				input{kind: events.OrderCreated})
			if err != nil || len(again) != 0 {
				t.Fatalf("a repeated OrderCreated = %v, %v; want nothing", types(again), err)
			}
		})
	}
}

func types(out []outbox.Event) []string {
	var ts []string
	for _, e := range out {
		ts = append(ts, e.Type)
	}
	return ts
}

// The answer to OrderDeleting, run through the ports: the order's refund
// returns its stock, removes the order and announces its tombstone; a
// refund that answers something else changes nothing and is recorded as an
// incident.
func TestSettlingStepThroughPorts(t *testing.T) {
	refund := events.PaymentEvent{OrderID: 9, PaymentID: 7, TotalAmount: "7.00", CausedBy: "deleting"}
	forged := refund
	forged.CausedBy = "other"
	cases := []struct {
		name      string
		payment   events.PaymentEvent
		announced []string
		returned  int32
		incidents int
	}{
		{"the order's refund", refund, []string{events.StockUpdated, events.OrderDeleted}, 2, 0},
		{"a refund for another cause", forged, nil, 0, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := &memPorts{
				order: &storedb.Order{ID: 9, Status: StatusDeleting, TotalAmount: "7.00", Version: 5, StockTaken: true,
					PaymentID: sql.NullInt64{Int64: 7, Valid: true}, StockEventID: sql.NullString{String: "deleting", Valid: true}},
				items:     []storedb.OrderItem{{ID: 1, OrderID: 9, ProductID: 2, Quantity: 2, UnitPrice: "3.50"}},
				stock:     map[int64]storedb.LockStocksRow{2: {ProductID: 2, Quantity: 1, Version: 3}},
				decreased: map[int64]int32{},
			}
			out, err := (&Service{}).run(context.Background(), p, consumer.Message{ID: "e2", Type: events.PaymentRefunded}, 9,
				input{kind: events.PaymentRefunded, payment: &tc.payment})
			if err != nil {
				t.Fatal(err)
			}
			if got := types(out); !slices.Equal(got, tc.announced) {
				t.Fatalf("announced %v, want %v", got, tc.announced)
			}
			if -p.decreased[2] != tc.returned || len(p.incidents) != tc.incidents || (p.order == nil) != (tc.returned > 0) {
				t.Fatalf("returned %d, incidents %v, order %+v", -p.decreased[2], p.incidents, p.order)
			}
			if tc.returned > 0 {
				var e events.OrderEvent
				_ = json.Unmarshal(out[1].Payload, &e)
				if !e.Order.Deleted || e.Order.Version != 6 {
					t.Fatalf("tombstone = %+v, want deleted at version 6", e.Order)
				}
			}
		})
	}
}
