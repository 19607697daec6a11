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
		StatusStockIncreased, StatusCompleted, StatusCancelled, StatusNeedsAttention, StatusCancelling, StatusDeleting}
	allInputs = []string{inputStockTaken, inputStockShort, events.StockDecreaseFailed, events.PaymentCreated,
		events.PaymentCreationFailed, events.StockIncreased, events.PaymentProcessed, events.OrderCreationFailed, inputDeadLetter,
		inputDeadline, inputDelete, events.PaymentVoided, events.PaymentRefunded}
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

		// An order that may have a payment ends only when payments answers.
		{StatusStockDecreased, inputDeadline}:    {to: StatusCancelling, announce: events.OrderCancelling},
		{StatusStockDecreased, inputDelete}:      {to: StatusDeleting, announce: events.OrderDeleting},
		{StatusCompleted, inputDelete}:           {to: StatusDeleting, announce: events.OrderDeleting},
		{StatusNeedsAttention, inputDelete}:      {to: StatusDeleting, announce: events.OrderDeleting},
		{StatusCancelling, events.PaymentVoided}: {to: StatusCancelled, announce: events.OrderCancelled, effects: returnsStock | notesInput, via: StatusCancelling},
		{StatusCancelling, events.PaymentRefunded}: {to: StatusCancelled, announce: events.OrderCancelled,
			effects: returnsStock | notesInput, via: StatusCancelling},
		{StatusDeleting, events.PaymentVoided}:   {announce: events.OrderDeleted, effects: returnsStock | deletesOrder},
		{StatusDeleting, events.PaymentRefunded}: {announce: events.OrderDeleted, effects: returnsStock | deletesOrder},
	}
	for _, s := range allStates {
		want[[2]string{s, events.OrderCreationFailed}] = transition{to: s, announce: events.SagaCompleted}
		want[[2]string{s, inputDeadLetter}] = transition{to: StatusNeedsAttention, announce: events.OrderNeedsAttention}
		key := [2]string{s, inputDeadline}
		if _, listed := want[key]; !listed && !terminal[s] && !settling[s] {
			want[key] = transition{to: StatusCancelled, announce: events.OrderCancelled, effects: returnsStock}
		}
		key = [2]string{s, inputDelete}
		if _, listed := want[key]; !listed && !settling[s] { // no payment possible: removed at once
			want[key] = transition{announce: events.OrderDeleted, effects: returnsStock | deletesOrder}
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
	settled := func(status string) *storedb.Order {
		o := sagaOrder(status)
		o.StockEventID.String = "settle-event"
		if status == StatusCancelling { // from StockDecreased: no payment known yet
			o.FailureReason = sql.NullString{String: "timed out", Valid: true}
		} else { // from Completed, with its payment
			o.PaymentID = sql.NullInt64{Int64: 7, Valid: true}
		}
		return o
	}
	cancelling, deleting := settled(StatusCancelling), settled(StatusDeleting)
	voided := events.PaymentEvent{OrderID: 1, PaymentID: 7, CausedBy: "settle-event"}
	refunded := events.PaymentEvent{OrderID: 1, PaymentID: 7, TotalAmount: "50.00", CausedBy: "settle-event"}
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
		{"the deadline before the stock is taken", sagaOrder(StatusCreated), input{kind: inputDeadline, reason: "timed out"},
			decision{t: transition{to: StatusCancelled, announce: events.OrderCancelled, effects: returnsStock},
				fail: "timed out", detail: "timed out", reason: "timed out"}, ""},
		{"the deadline once a payment may exist", sagaOrder(StatusStockDecreased), input{kind: inputDeadline, reason: "timed out"},
			decision{t: transition{to: StatusCancelling, announce: events.OrderCancelling},
				fail: "timed out", detail: "timed out", reason: "timed out"}, ""},
		{"the deadline of an order being cancelled", cancelling, input{kind: inputDeadline, reason: "timed out"}, decision{}, "does not move"},
		{"the payment voided", cancelling, input{kind: events.PaymentVoided, payment: &voided},
			decision{t: transition{to: StatusCancelled, announce: events.OrderCancelled, effects: returnsStock | notesInput, via: StatusCancelling},
				detail: "timed out", reason: "timed out", noted: "payment 7 voided"}, ""},
		{"no payment to void", cancelling, input{kind: events.PaymentVoided, payment: with(voided, func(p *events.PaymentEvent) { p.PaymentID = 0 })},
			decision{t: transition{to: StatusCancelled, announce: events.OrderCancelled, effects: returnsStock | notesInput, via: StatusCancelling},
				detail: "timed out", reason: "timed out", noted: "no payment to void"}, ""},
		{"the payment refunded", cancelling, input{kind: events.PaymentRefunded, payment: &refunded},
			decision{t: transition{to: StatusCancelled, announce: events.OrderCancelled, effects: returnsStock | notesInput, via: StatusCancelling},
				detail: "timed out", reason: "timed out", noted: "payment 7 refunded 50.00"}, ""},
		{"the payment refunded, deleting", deleting, input{kind: events.PaymentRefunded, payment: &refunded},
			decision{t: transition{announce: events.OrderDeleted, effects: returnsStock | deletesOrder}}, ""},
		{"a refund answering another event", deleting,
			input{kind: events.PaymentRefunded, payment: with(refunded, func(p *events.PaymentEvent) { p.CausedBy = "stock-event" })},
			decision{report: true}, "not to the order's OrderDeleting"},
		{"no payment, for an order that has one", deleting,
			input{kind: events.PaymentVoided, payment: with(voided, func(p *events.PaymentEvent) { p.PaymentID = 0 })},
			decision{report: true}, "not the order's own"},
		{"a refund of another payment", deleting,
			input{kind: events.PaymentRefunded, payment: with(refunded, func(p *events.PaymentEvent) { p.PaymentID = 8 })},
			decision{report: true}, "not the order's own"},
		{"a refund of another amount", deleting,
			input{kind: events.PaymentRefunded, payment: with(refunded, func(p *events.PaymentEvent) { p.TotalAmount = "5.00" })},
			decision{report: true}, "refund's amount"},
		{"a refund for no order", nil, input{kind: events.PaymentRefunded, payment: &refunded}, decision{report: true}, "does not exist"},
		{"a refund of a live order", sagaOrder(StatusCompleted), input{kind: events.PaymentRefunded, payment: &refunded},
			decision{report: true}, "does not move"},
		{"a void for no order: no money moved", nil, input{kind: events.PaymentVoided, payment: &voided}, decision{}, "does not exist"},
		{"a payment paid while the order is being deleted: the refund follows", deleting,
			input{kind: events.PaymentProcessed, payment: &created}, decision{}, "does not move"},
		{"a payment created while the order is being cancelled: the void follows", cancelling,
			input{kind: events.PaymentCreated, payment: &created}, decision{}, "does not move"},
		{"delete an unpaid order", sagaOrder(StatusCompleted), input{kind: inputDelete},
			decision{t: transition{to: StatusDeleting, announce: events.OrderDeleting}}, ""},
		{"delete an order that cannot have a payment", sagaOrder(StatusCreated), input{kind: inputDelete},
			decision{t: transition{announce: events.OrderDeleted, effects: returnsStock | deletesOrder}}, ""},
		{"delete a paid order", paid, input{kind: inputDelete}, decision{}, "is paid"},
		{"delete an order being cancelled", cancelling, input{kind: inputDelete}, decision{}, "does not move"},
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
// letter), closes it again (OrderCreationFailed) or deletes it, and a late
// payment event for an ended order is an incident, unless it is a void.
func TestEndedSagasStayEnded(t *testing.T) {
	p := events.PaymentEvent{OrderID: 1, PaymentID: 7, TotalAmount: "50.00", CausedBy: "stock-event"}
	for _, state := range []string{StatusCancelled, StatusNeedsAttention} {
		for _, kind := range allInputs {
			in := input{kind: kind}
			money := kind == events.PaymentCreated || kind == events.PaymentProcessed || kind == events.PaymentRefunded
			if money || kind == events.PaymentVoided {
				in.payment = &p
			}
			d := decide(sagaOrder(state), in)
			switch kind {
			case inputDeadLetter, events.OrderCreationFailed, inputDelete:
				if d.ignore != "" {
					t.Errorf("%s on %s ignored: %s", state, kind, d.ignore)
				}
			default:
				if d.ignore == "" || d.report != money {
					t.Errorf("%s on %s = %+v; want it ignored, reported only for money events", state, kind, d)
				}
			}
		}
	}
}
