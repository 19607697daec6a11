package store

import (
	"strconv"

	storedb "github.com/store-manager/store-manager/db/store"
	"github.com/store-manager/store-manager/services/platform/events"
	"github.com/store-manager/store-manager/services/platform/money"
)

// This file is everything an order can go through: its states, what moves
// it, what each move does and announces, and the one pure function, decide,
// that saga steps follow. The steps (saga.go) only read the order, ask
// decide, and carry out what it says.

// Order saga states, held in orders.status: the state machine of the
// original, one state per saga event.
const (
	StatusCreated               = "Created"               // OrderCreated written; waiting for stock
	StatusStockDecreased        = "StockDecreased"        // stock taken; waiting for the payment
	StatusStockDecreaseFailed   = "StockDecreaseFailed"   // not enough stock; cancelling
	StatusPaymentCreationFailed = "PaymentCreationFailed" // no payment; returning stock (recorded with that step)
	StatusStockIncreased        = "StockIncreased"        // stock returned; cancelling
	StatusCompleted             = "Completed"             // payment created, link known
	StatusCancelled             = "Cancelled"             // a step failed and was compensated
	StatusCancelling            = "Cancelling"            // past its deadline with its stock taken; waiting for payments' void or refund
	StatusDeleting              = "Deleting"              // deleted with its stock taken; waiting for payments' void or refund
	StatusNeedsAttention        = "NeedsAttention"        // an event kept failing and went to a dead-letter topic
)

// terminal are the states a saga ends in.
var terminal = map[string]bool{StatusCompleted: true, StatusCancelled: true, StatusNeedsAttention: true}

// failing are the states of a saga that failed: their announcements carry
// the order's failure reason, as the step's detail and the event's reason.
var failing = map[string]bool{
	StatusStockDecreaseFailed: true, StatusStockIncreased: true, StatusCancelling: true, StatusCancelled: true, StatusNeedsAttention: true,
}

// settling are the states of an order that may have a payment and is
// ending: it stops being payable on the store's side and waits for the
// payments service's answer (a void or a refund) before it ends. Payment
// events that were already under way when it started are expected, and
// change nothing: the answer settles them.
var settling = map[string]bool{StatusCancelling: true, StatusDeleting: true}

// awaitsAnswer are the events whose answer from the payments service an
// order waits for; the order keeps the id of the last one it announced, and
// applies only the answer that names it as its cause.
var awaitsAnswer = map[string]bool{events.StockDecreased: true, events.OrderCancelling: true, events.OrderDeleting: true}

// Inputs of the state machine besides the saga's events: what taking an
// order's stock (on OrderCreated) came to, an event of the order's that
// went to a dead-letter topic, the saga's deadline, and an employee's
// DELETE.
const (
	inputStockTaken = "stock taken"
	inputStockShort = "stock short"
	inputDeadLetter = "dead letter"
	inputDeadline   = "deadline passed"
	inputDelete     = "delete"
)

// effect is what a move does to an order besides changing its state.
type effect uint8

const (
	takesStock     effect = 1 << iota // the order's items leave the stock
	returnsStock                      // the stock the order holds comes back
	recordsPayment                    // the payment's id and link become the order's
	marksPaid                         // the order is paid
	notesInput                        // the input's own step is recorded before the announcement
	deletesOrder                      // the order's row goes; its announcement is a tombstone
)

// transition is one move of an order: the state it moves to, the event that
// announces it, what it does, and, when the input's own step is recorded
// (notesInput), the state that step shows.
type transition struct {
	to, announce string
	effects      effect
	via          string
}

// The moves that end an order which may have a payment: the order stops
// being payable, and ends when the payments service has voided or refunded.
var (
	startCancelling = transition{to: StatusCancelling, announce: events.OrderCancelling}
	startDeleting   = transition{to: StatusDeleting, announce: events.OrderDeleting}
	endCancelling   = transition{to: StatusCancelled, announce: events.OrderCancelled,
		effects: returnsStock | notesInput, via: StatusCancelling}
	endDeleting = transition{announce: events.OrderDeleted, effects: returnsStock | deletesOrder}
)

// machine says, for each state, the inputs that move an order on. Any other
// input in that state leaves the order as it is (a late or repeated event).
// OrderCreationFailed, a dead letter, the deadline and a delete apply from
// several states: move has them.
var machine = map[string]map[string]transition{
	StatusCreated: {
		inputStockTaken: {to: StatusStockDecreased, announce: events.StockDecreased, effects: takesStock},
		inputStockShort: {to: StatusStockDecreaseFailed, announce: events.StockDecreaseFailed},
	},
	StatusStockDecreaseFailed: {
		events.StockDecreaseFailed: {to: StatusCancelled, announce: events.OrderCancelled},
	},
	StatusStockDecreased: {
		events.PaymentCreated: {to: StatusCompleted, announce: events.SagaCompleted,
			effects: recordsPayment | notesInput, via: StatusCompleted},
		events.PaymentCreationFailed: {to: StatusStockIncreased, announce: events.StockIncreased,
			effects: returnsStock | notesInput, via: StatusPaymentCreationFailed},
		inputDeadline: startCancelling,
		inputDelete:   startDeleting,
	},
	StatusStockIncreased: {
		events.StockIncreased: {to: StatusCancelled, announce: events.OrderCancelled},
	},
	StatusCompleted: {
		events.PaymentProcessed: {to: StatusCompleted, announce: events.OrderPaid, effects: marksPaid},
		inputDelete:             startDeleting,
	},
	StatusNeedsAttention: {
		inputDelete: startDeleting, // it may hold stock and a payment: payments settles either way
	},
	StatusCancelling: {
		events.PaymentVoided:   endCancelling,
		events.PaymentRefunded: endCancelling,
	},
	StatusDeleting: {
		events.PaymentVoided:   endDeleting,
		events.PaymentRefunded: endDeleting,
	},
}

// move says where input takes an order in status, and whether it applies.
// The table comes first. Then OrderCreationFailed closes the saga from any
// state (SagaCompleted), a dead letter flags the order from any state
// (NeedsAttention), a saga past its deadline is cancelled, its stock
// returned, from any state that is neither terminal nor settling, and a
// delete removes at once an order that cannot have a payment (one being
// settled is not deleted again).
func move(status, input string) (transition, bool) {
	if t, ok := machine[status][input]; ok {
		return t, true
	}
	switch input {
	case events.OrderCreationFailed:
		return transition{to: status, announce: events.SagaCompleted}, true
	case inputDeadLetter:
		return transition{to: StatusNeedsAttention, announce: events.OrderNeedsAttention}, true
	case inputDeadline:
		if terminal[status] || settling[status] {
			return transition{}, false
		}
		return transition{to: StatusCancelled, announce: events.OrderCancelled, effects: returnsStock}, true
	case inputDelete:
		if settling[status] {
			return transition{}, false
		}
		return endDeleting, true
	}
	return transition{}, false
}

// input is what reaches an order: a saga event, or what the store found.
type input struct {
	kind    string               // an event type, or one of the input names above
	payment *events.PaymentEvent // the payments service's event, for its types
	reason  string               // why the order fails: the shortfall, the payment's failure, the error, the deadline
	// deadLettered is the type of the event that went to a dead-letter
	// topic: an OrderCreated that could not be handled is announced as
	// OrderCreationFailed.
	deadLettered string
}

// decision is what an input does to an order as read: nothing, and why
// (report says the refusal is an incident: a payment event that does not
// match its order), or a move with what it records.
type decision struct {
	ignore string
	report bool
	t      transition
	fail   string // the failure reason to record, when the input gives one
	detail string // the announcement's detail
	reason string // the announcement's reason
	noted  string // the detail of the input's own step (notesInput)
}

// decide is the saga's rule for one input on one order (nil: the order
// does not exist). It reads nothing and changes nothing.
func decide(o *storedb.Order, in input) decision {
	if o == nil {
		return decision{ignore: "the order does not exist", report: incident(in, "")}
	}
	if in.kind == inputDelete && o.IsPaid {
		return decision{ignore: "the order is paid"}
	}
	t, ok := move(o.Status, in.kind)
	if !ok {
		return decision{ignore: "the order is " + o.Status + ", which " + in.kind + " does not move", report: incident(in, o.Status)}
	}
	if in.payment != nil {
		if why := mismatch(o, in.kind, *in.payment); why != "" {
			return decision{ignore: why, report: true}
		}
	}
	if in.kind == inputDeadLetter && in.deadLettered == events.OrderCreated {
		t.announce = events.OrderCreationFailed
	}
	d := decision{t: t, fail: in.reason}
	failure := o.FailureReason.String
	if d.fail != "" {
		failure = truncate(d.fail, 512)
	}
	switch {
	case in.kind == events.OrderCreationFailed:
		d.fail, d.detail, d.reason = "", "with error", in.reason
	case failing[t.to]:
		d.detail, d.reason = failure, failure
	case t.effects&marksPaid != 0:
		d.detail = "payment " + strconv.FormatInt(in.payment.PaymentID, 10)
	}
	switch {
	case t.effects&notesInput == 0:
	case in.payment != nil:
		d.noted = paymentNote(in.kind, *in.payment)
	default:
		d.noted = failure
	}
	return d
}

// incident says whether a payment event that changes nothing for an order
// in status ("": no such order) must be looked into. A void never moves
// money; a payment created or paid while its order is being settled is
// expected, since the settling answer voids or refunds it. Any other
// payment event that does not apply is money out of step with its order.
func incident(in input, status string) bool {
	switch {
	case in.payment == nil, in.kind == events.PaymentVoided:
		return false
	case in.kind == events.PaymentCreated || in.kind == events.PaymentProcessed:
		return !settling[status]
	}
	return true
}

// paymentNote is the detail of the step that records a payment's answer.
func paymentNote(kind string, p events.PaymentEvent) string {
	id := "payment " + strconv.FormatInt(p.PaymentID, 10)
	switch {
	case kind == events.PaymentVoided && p.PaymentID == 0:
		return "no payment to void"
	case kind == events.PaymentVoided:
		return id + " voided"
	case kind == events.PaymentRefunded:
		return id + " refunded " + p.TotalAmount
	}
	return id
}

// paymentFailure is the failure reason a PaymentCreationFailed gives.
func paymentFailure(p events.PaymentEvent) string { return "payment creation failed: " + p.Reason }

// mismatch says what is wrong with a payment event of kind for order o, or "".
func mismatch(o *storedb.Order, kind string, p events.PaymentEvent) string {
	switch kind {
	case events.PaymentCreated:
		switch {
		case !o.StockEventID.Valid || p.CausedBy != o.StockEventID.String:
			return "the payment was not created for the order's StockDecreased event"
		case p.PaymentID < 1:
			return "the event names no payment"
		case !sameAmount(p.TotalAmount, o.TotalAmount):
			return "the payment's amount " + p.TotalAmount + " is not the order's total " + o.TotalAmount
		}
	case events.PaymentProcessed:
		switch {
		case !o.PaymentID.Valid || o.PaymentID.Int64 != p.PaymentID:
			return "the payment is not the order's own"
		case o.IsPaid:
			return "the order is paid already"
		case !sameAmount(p.TotalAmount, o.TotalAmount):
			return "the payment's amount " + p.TotalAmount + " is not the order's total " + o.TotalAmount
		}
	case events.PaymentVoided, events.PaymentRefunded:
		switch {
		case !o.StockEventID.Valid || p.CausedBy != o.StockEventID.String:
			return "the answer is not to the order's " + settlingEvent(o.Status) + " event"
		case o.PaymentID.Valid && o.PaymentID.Int64 != p.PaymentID:
			return "the payment is not the order's own"
		case kind == events.PaymentRefunded && !sameAmount(p.TotalAmount, o.TotalAmount):
			return "the refund's amount " + p.TotalAmount + " is not the order's total " + o.TotalAmount
		}
	}
	return ""
}

// settlingEvent is the event that started settling an order in status.
func settlingEvent(status string) string {
	if status == StatusDeleting {
		return events.OrderDeleting
	}
	return events.OrderCancelling
}

// sameAmount reports whether two decimal amounts are equal to the cent.
func sameAmount(a, b string) bool {
	x, errA := money.Parse(a)
	y, errB := money.Parse(b)
	return errA == nil && errB == nil && x == y
}
