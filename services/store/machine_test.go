package store

import (
	"database/sql"
	"strings"
	"testing"

	storedb "github.com/store-manager/store-manager/db/store"
	"github.com/store-manager/store-manager/services/platform/events"
)

var (
	allStates = []string{StatusCreated, StatusStockDecreased, StatusStockDecreaseFailed, StatusPaymentCreationFailed,
		StatusStockIncreased, StatusCompleted, StatusCancelled, StatusNeedsAttention}
	allInputs = []string{inputStockTaken, inputStockShort, events.StockDecreaseFailed, events.PaymentCreated,
		events.PaymentCreationFailed, events.StockIncreased, events.PaymentProcessed, events.OrderCreationFailed, inputDeadLetter,
		inputDeadline}
)

// Every state × every input: where the order goes, what announces it and
// what the move does. Any pair not listed leaves the order as it is.
func TestSagaStateMachine(t *testing.T) {
	want := map[[2]string]transition{
		{StatusCreated, inputStockTaken}:                        {to: StatusStockDecreased, announce: events.StockDecreased, effects: takesStock},
		{StatusCreated, inputStockShort}:                        {to: StatusStockDecreaseFailed, announce: events.StockDecreaseFailed},
		{StatusStockDecreaseFailed, events.StockDecreaseFailed}: {to: StatusCancelled, announce: events.OrderCancelled},
		{StatusStockDecreased, events.PaymentCreated}: {to: StatusCompleted, announce: events.SagaCompleted,
			effects: recordsPayment | notesInput, via: StatusCompleted},
		{StatusStockDecreased, events.PaymentCreationFailed}: {to: StatusStockIncreased, announce: events.StockIncreased,
			effects: returnsStock | notesInput, via: StatusPaymentCreationFailed},
		{StatusStockIncreased, events.StockIncreased}: {to: StatusCancelled, announce: events.OrderCancelled},
		{StatusCompleted, events.PaymentProcessed}:    {to: StatusCompleted, announce: events.OrderPaid, effects: marksPaid},
	}
	for _, s := range allStates {
		want[[2]string{s, events.OrderCreationFailed}] = transition{to: s, announce: events.SagaCompleted}
		want[[2]string{s, inputDeadLetter}] = transition{to: StatusNeedsAttention, announce: events.OrderNeedsAttention}
		if !terminal[s] {
			want[[2]string{s, inputDeadline}] = transition{to: StatusCancelled, announce: events.OrderCancelled, effects: returnsStock}
		}
	}
	for _, state := range allStates {
		for _, in := range allInputs {
			got, ok := move(state, in)
			w, wantOK := want[[2]string{state, in}]
			if ok != wantOK || got != w {
				t.Errorf("%s on %s = %+v %t; want %+v %t", state, in, got, ok, w, wantOK)
			}
		}
	}
}

// sagaOrder is an order of 50.00 in status whose stock step announced
// "stock-event" and whose payment, once created, is 7.
func sagaOrder(status string) *storedb.Order {
	o := &storedb.Order{ID: 1, Status: status, TotalAmount: "50.00",
		StockEventID: sql.NullString{String: "stock-event", Valid: true}}
	if status == StatusCompleted {
		o.PaymentID = sql.NullInt64{Int64: 7, Valid: true}
	}
	return o
}

// What each input does to an order, decided without a database: the moves,
// their records, the refusals and which of them are incidents.
func TestDecide(t *testing.T) {
	created := events.PaymentEvent{OrderID: 1, PaymentID: 7, TotalAmount: "50.00", PaymentLink: "http://gw/payments/process/7", CausedBy: "stock-event"}
	with := func(p events.PaymentEvent, change func(*events.PaymentEvent)) *events.PaymentEvent {
		change(&p)
		return &p
	}
	paid := sagaOrder(StatusCompleted)
	paid.IsPaid = true
	failed := sagaOrder(StatusStockDecreaseFailed)
	failed.FailureReason = sql.NullString{String: "not enough stock of product 3 for 2 units", Valid: true}
	cases := []struct {
		name   string
		order  *storedb.Order
		in     input
		want   decision
		ignore string // a part of the reason it is ignored
	}{
		{"stock taken", sagaOrder(StatusCreated), input{kind: inputStockTaken},
			decision{t: transition{to: StatusStockDecreased, announce: events.StockDecreased, effects: takesStock}}, ""},
		{"stock short", sagaOrder(StatusCreated), input{kind: inputStockShort, reason: "not enough stock of product 3 for 2 units"},
			decision{t: transition{to: StatusStockDecreaseFailed, announce: events.StockDecreaseFailed},
				fail: "not enough stock of product 3 for 2 units", detail: "not enough stock of product 3 for 2 units",
				reason: "not enough stock of product 3 for 2 units"}, ""},
		{"stock short again, a duplicate", sagaOrder(StatusStockDecreaseFailed), input{kind: inputStockShort}, decision{}, "does not move"},
		{"cancelled after the shortfall, with its reason", failed, input{kind: events.StockDecreaseFailed},
			decision{t: transition{to: StatusCancelled, announce: events.OrderCancelled},
				detail: failed.FailureReason.String, reason: failed.FailureReason.String}, ""},
		{"the order's payment", sagaOrder(StatusStockDecreased), input{kind: events.PaymentCreated, payment: &created},
			decision{t: transition{to: StatusCompleted, announce: events.SagaCompleted, effects: recordsPayment | notesInput, via: StatusCompleted},
				noted: "payment 7"}, ""},
		{"a payment for another cause", sagaOrder(StatusStockDecreased),
			input{kind: events.PaymentCreated, payment: with(created, func(p *events.PaymentEvent) { p.CausedBy = "other" })},
			decision{report: true}, "not created for the order's StockDecreased"},
		{"a payment of another amount", sagaOrder(StatusStockDecreased),
			input{kind: events.PaymentCreated, payment: with(created, func(p *events.PaymentEvent) { p.TotalAmount = "0.01" })},
			decision{report: true}, "is not the order's total"},
		{"a payment naming none", sagaOrder(StatusStockDecreased),
			input{kind: events.PaymentCreated, payment: with(created, func(p *events.PaymentEvent) { p.PaymentID = 0 })},
			decision{report: true}, "names no payment"},
		{"a second PaymentCreated", sagaOrder(StatusCompleted), input{kind: events.PaymentCreated, payment: &created},
			decision{report: true}, "does not move"},
		{"a payment for no order", nil, input{kind: events.PaymentCreated, payment: &created}, decision{report: true}, "does not exist"},
		{"a stock event for no order", nil, input{kind: events.StockIncreased}, decision{}, "does not exist"},
		{"payment creation failed", sagaOrder(StatusStockDecreased), input{kind: events.PaymentCreationFailed, reason: "payment creation failed: over the limit"},
			decision{t: transition{to: StatusStockIncreased, announce: events.StockIncreased, effects: returnsStock | notesInput, via: StatusPaymentCreationFailed},
				fail: "payment creation failed: over the limit", detail: "payment creation failed: over the limit",
				reason: "payment creation failed: over the limit", noted: "payment creation failed: over the limit"}, ""},
		{"the order's payment processed", sagaOrder(StatusCompleted), input{kind: events.PaymentProcessed, payment: &created},
			decision{t: transition{to: StatusCompleted, announce: events.OrderPaid, effects: marksPaid}, detail: "payment 7"}, ""},
		{"paid twice", paid, input{kind: events.PaymentProcessed, payment: &created}, decision{report: true}, "paid already"},
		{"another order's payment processed", sagaOrder(StatusCompleted),
			input{kind: events.PaymentProcessed, payment: with(created, func(p *events.PaymentEvent) { p.PaymentID = 8 })},
			decision{report: true}, "not the order's own"},
		{"a payment processed for another amount", sagaOrder(StatusCompleted),
			input{kind: events.PaymentProcessed, payment: with(created, func(p *events.PaymentEvent) { p.TotalAmount = "49.99" })},
			decision{report: true}, "is not the order's total"},
		{"a payment processed before the order has one", sagaOrder(StatusStockDecreased), input{kind: events.PaymentProcessed, payment: &created},
			decision{report: true}, "does not move"},
		{"order creation failed", sagaOrder(StatusNeedsAttention), input{kind: events.OrderCreationFailed, reason: "could not read it"},
			decision{t: transition{to: StatusNeedsAttention, announce: events.SagaCompleted}, detail: "with error", reason: "could not read it"}, ""},
		{"a dead letter", sagaOrder(StatusStockDecreased), input{kind: inputDeadLetter, deadLettered: events.PaymentCreated, reason: "boom"},
			decision{t: transition{to: StatusNeedsAttention, announce: events.OrderNeedsAttention}, fail: "boom", detail: "boom", reason: "boom"}, ""},
		{"a dead OrderCreated", sagaOrder(StatusCreated), input{kind: inputDeadLetter, deadLettered: events.OrderCreated, reason: "boom"},
			decision{t: transition{to: StatusNeedsAttention, announce: events.OrderCreationFailed}, fail: "boom", detail: "boom", reason: "boom"}, ""},
		{"the deadline", sagaOrder(StatusStockDecreased), input{kind: inputDeadline, reason: "timed out"},
			decision{t: transition{to: StatusCancelled, announce: events.OrderCancelled, effects: returnsStock},
				fail: "timed out", detail: "timed out", reason: "timed out"}, ""},
		{"the deadline of an ended saga", sagaOrder(StatusCompleted), input{kind: inputDeadline, reason: "timed out"}, decision{}, "does not move"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := decide(tc.order, tc.in)
			if tc.ignore != "" {
				if !strings.Contains(got.ignore, tc.ignore) || got.report != tc.want.report || got.t != (transition{}) {
					t.Fatalf("decide = %+v; want it ignored (%q), reported %t", got, tc.ignore, tc.want.report)
				}
				return
			}
			if got != tc.want {
				t.Fatalf("decide =\n %+v\nwant\n %+v", got, tc.want)
			}
		})
	}
}

// No input moves a terminal order anywhere but to NeedsAttention (a dead
// letter) or closes it again (OrderCreationFailed), and a late payment event
// for an ended order is an incident.
func TestEndedSagasStayEnded(t *testing.T) {
	p := events.PaymentEvent{OrderID: 1, PaymentID: 7, TotalAmount: "50.00", CausedBy: "stock-event"}
	for _, state := range []string{StatusCancelled, StatusNeedsAttention} {
		for _, kind := range allInputs {
			in := input{kind: kind}
			if kind == events.PaymentCreated || kind == events.PaymentProcessed {
				in.payment = &p
			}
			d := decide(sagaOrder(state), in)
			switch kind {
			case inputDeadLetter, events.OrderCreationFailed:
				if d.ignore != "" {
					t.Errorf("%s on %s ignored: %s", state, kind, d.ignore)
				}
			default:
				if d.ignore == "" || d.report != (in.payment != nil) {
					t.Errorf("%s on %s = %+v; want it ignored, reported only for payment events", state, kind, d)
				}
			}
		}
	}
}
