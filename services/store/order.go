package store

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	storedb "github.com/store-manager/store-manager/db/store"
	"github.com/store-manager/store-manager/services/platform/events"
	"github.com/store-manager/store-manager/services/platform/outbox"
)

// order is an order as a command's transaction holds it, kept current as the
// command changes it: its row, its items and its history. Events are built
// from it, never from reading the order back.
type order struct {
	storedb.Order
	items   []storedb.OrderItem
	steps   []storedb.OrderStep
	unsaved []storedb.OrderStep // the steps not written yet
	deleted bool                // its row is gone: its last event is a tombstone
}

// lockOrder locks order id for the transaction and reads its items and
// history, in one statement. A deleted order is not an error: ok is false.
func lockOrder(ctx context.Context, q orderPort, id int64) (o *order, ok bool, err error) {
	row, err := q.GetOrderForStep(ctx, id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("lock order %d: %w", id, err)
	}
	o = &order{Order: row.Order}
	if o.items, err = decodeItems(id, row.Items); err != nil {
		return nil, false, err
	}
	if o.steps, err = decodeSteps(id, row.Steps); err != nil {
		return nil, false, err
	}
	return o, true, nil
}

// decodeItems reads an order's items from the JSON array GetOrderForStep
// builds, in product order as ListOrderItems returns them.
func decodeItems(orderID int64, raw []byte) ([]storedb.OrderItem, error) {
	var rows []struct {
		ID        int64       `json:"id"`
		ProductID int64       `json:"product_id"`
		Quantity  int32       `json:"quantity"`
		UnitPrice json.Number `json:"unit_price"`
	}
	if err := decodeArray(raw, &rows); err != nil {
		return nil, fmt.Errorf("items of order %d: %w", orderID, err)
	}
	items := make([]storedb.OrderItem, len(rows))
	for i, r := range rows {
		items[i] = storedb.OrderItem{ID: r.ID, OrderID: orderID, ProductID: r.ProductID, Quantity: r.Quantity, UnitPrice: r.UnitPrice.String()}
	}
	slices.SortFunc(items, func(a, b storedb.OrderItem) int { return cmp.Compare(a.ProductID, b.ProductID) })
	return items, nil
}

// decodeSteps reads an order's history from the JSON array GetOrderForStep
// builds, oldest first as ListOrderSteps returns it.
func decodeSteps(orderID int64, raw []byte) ([]storedb.OrderStep, error) {
	var rows []struct {
		ID        int64   `json:"id"`
		Event     string  `json:"event"`
		Status    string  `json:"status"`
		Detail    *string `json:"detail"`
		CreatedAt string  `json:"created_at"`
	}
	if err := decodeArray(raw, &rows); err != nil {
		return nil, fmt.Errorf("history of order %d: %w", orderID, err)
	}
	steps := make([]storedb.OrderStep, len(rows))
	for i, r := range rows {
		at, err := time.ParseInLocation("2006-01-02 15:04:05.999999", r.CreatedAt, time.UTC) // DATETIME, read as UTC like the driver does
		if err != nil {
			return nil, fmt.Errorf("history of order %d: step %d: %w", orderID, r.ID, err)
		}
		steps[i] = storedb.OrderStep{ID: r.ID, OrderID: orderID, Event: r.Event, Status: r.Status, CreatedAt: at}
		if r.Detail != nil {
			steps[i].Detail = sql.NullString{String: *r.Detail, Valid: true}
		}
	}
	slices.SortFunc(steps, func(a, b storedb.OrderStep) int { return cmp.Compare(a.ID, b.ID) })
	return steps, nil
}

// decodeArray decodes a JSON array column; NULL (no rows) is an empty array.
func decodeArray(raw []byte, into any) error {
	if len(raw) == 0 {
		return nil
	}
	return json.Unmarshal(raw, into)
}

// now is a step's time, at the precision the database keeps.
func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// note appends a step to the order's history without announcing it; the
// next advance writes it.
func (o *order) note(eventType, detail string, at time.Time) {
	st := storedb.OrderStep{
		OrderID: o.ID, Event: eventType, Status: o.Status, CreatedAt: at,
		Detail: sql.NullString{String: truncate(detail, 512), Valid: detail != ""},
	}
	o.steps = append(o.steps, st)
	o.unsaved = append(o.unsaved, st)
}

// advance is the one way an order moves: it writes the order's state as the
// caller left it with the next version, appends the step (and any noted
// before it) to its history in one statement, and returns the event that
// announces it, with the order's snapshot as this transaction holds it. An
// order announcing StockDecreased, OrderCancelling or OrderDeleting awaits
// payments' answer caused by that very event.
func (o *order) advance(ctx context.Context, q orderPort, eventType, detail, reason string) (outbox.Event, error) {
	at := now()
	o.UpdatedAt = at
	o.note(eventType, detail, at)
	if err := q.CreateOrderSteps(ctx, o.unsaved); err != nil {
		return outbox.Event{}, fmt.Errorf("record steps of order %d: %w", o.ID, err)
	}
	o.unsaved = nil
	e, err := o.announce(eventType, reason)
	if err != nil {
		return outbox.Event{}, err
	}
	if awaitsAnswer[eventType] {
		o.StockEventID = sql.NullString{String: e.ID, Valid: true}
	}
	_, err = q.SaveOrder(ctx, storedb.SaveOrderParams{
		Status: o.Status, PaymentID: o.PaymentID, PaymentLink: o.PaymentLink, IsPaid: o.IsPaid, StockTaken: o.StockTaken,
		FailureReason: o.FailureReason, StockEventID: o.StockEventID, Version: o.Version, UpdatedAt: o.UpdatedAt, ID: o.ID,
	})
	if err != nil {
		return outbox.Event{}, fmt.Errorf("save order %d: %w", o.ID, err)
	}
	return e, nil
}

// announce is the one place an order's events are made: it bumps the
// order's version and builds the event with the order's snapshot as this
// transaction holds it, or a tombstone once the order is deleted. The
// caller writes the version with the state (the first event's is the new
// row's version 1).
func (o *order) announce(eventType, reason string) (outbox.Event, error) {
	o.Version++
	snapshot := events.Order{ID: o.ID, UserID: o.UserID, Version: o.Version, Deleted: true}
	if !o.deleted {
		snapshot = buildOrder(o.Order, o.items, o.steps)
	}
	return outbox.New(events.TopicOrders, strconv.FormatInt(o.ID, 10), eventType, events.OrderEvent{Order: snapshot, Reason: reason})
}

// fail records why an order's saga failed.
func (o *order) fail(reason string) {
	o.FailureReason = sql.NullString{String: truncate(reason, 512), Valid: true}
}

// truncate keeps the first n characters of s, for VARCHAR(n) columns.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}

// buildOrder is an order's snapshot as events and the read side carry it.
func buildOrder(o storedb.Order, items []storedb.OrderItem, steps []storedb.OrderStep) events.Order {
	out := events.Order{
		ID: o.ID, UserID: o.UserID, TotalAmount: o.TotalAmount, Status: o.Status, IsPaid: o.IsPaid,
		Version: o.Version, CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt,
		Items: make([]events.OrderItem, 0, len(items)), Steps: make([]events.OrderStep, 0, len(steps)),
	}
	if o.PaymentID.Valid {
		out.PaymentID = &o.PaymentID.Int64
	}
	if o.PaymentLink.Valid {
		out.PaymentLink = &o.PaymentLink.String
	}
	if o.FailureReason.Valid {
		out.FailureReason = &o.FailureReason.String
	}
	out.TraceID = o.TraceID.String
	for _, it := range items {
		out.Items = append(out.Items, events.OrderItem{ProductID: it.ProductID, Quantity: it.Quantity, UnitPrice: it.UnitPrice})
	}
	for _, st := range steps {
		out.Steps = append(out.Steps, events.OrderStep{Event: st.Event, Status: st.Status, Detail: st.Detail.String, At: st.CreatedAt})
	}
	return out
}
