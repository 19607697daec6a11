package store

import "github.com/store-manager/store-manager/services/platform/events"

// Order saga states, held in orders.status: the state machine of the
// original, one state per saga event. Completed, Cancelled and
// NeedsAttention are terminal.
const (
	StatusCreated               = "Created"               // OrderCreated written; waiting for stock
	StatusStockDecreased        = "StockDecreased"        // stock taken; waiting for the payment
	StatusStockDecreaseFailed   = "StockDecreaseFailed"   // not enough stock; cancelling
	StatusPaymentCreationFailed = "PaymentCreationFailed" // no payment; returning stock
	StatusStockIncreased        = "StockIncreased"        // stock returned; cancelling
	StatusCompleted             = "Completed"             // payment created, link known
	StatusCancelled             = "Cancelled"             // a step failed and was compensated
	StatusNeedsAttention        = "NeedsAttention"        // an event kept failing and went to a dead-letter topic
)

// Inputs of the state machine besides the saga's events: what taking an
// order's stock (on OrderCreated) came to, and an event of the order's that
// went to a dead-letter topic.
const (
	inputStockTaken = "stock taken"
	inputStockShort = "stock short"
	inputDeadLetter = "dead letter"
	inputDeadline   = "deadline passed" // the saga has not ended in time
)

// transition is one move of an order: the state it moves to and the event
// that announces the move.
type transition struct {
	to, announce string
}

// machine is the saga's state machine as the store runs it: for each state,
// the inputs that move an order on. Any other input in that state leaves the
// order as it is (a late or repeated event).
var machine = map[string]map[string]transition{
	StatusCreated: {
		inputStockTaken: {StatusStockDecreased, events.StockDecreased},
		inputStockShort: {StatusStockDecreaseFailed, events.StockDecreaseFailed},
	},
	StatusStockDecreaseFailed: {
		events.StockDecreaseFailed: {StatusCancelled, events.OrderCancelled},
	},
	StatusStockDecreased: {
		events.PaymentCreated:        {StatusCompleted, events.SagaCompleted},
		events.PaymentCreationFailed: {StatusStockIncreased, events.StockIncreased},
	},
	StatusStockIncreased: {
		events.StockIncreased: {StatusCancelled, events.OrderCancelled},
	},
	StatusCompleted: {
		events.PaymentProcessed: {StatusCompleted, events.OrderPaid},
	},
}

// move says where input takes an order in status, and whether it applies.
// OrderCreationFailed closes the saga from any state (SagaCompleted), a
// dead letter flags the order from any state (NeedsAttention), and a saga
// past its deadline is cancelled from any state that is not terminal.
func move(status, input string) (transition, bool) {
	switch input {
	case events.OrderCreationFailed:
		return transition{status, events.SagaCompleted}, true
	case inputDeadLetter:
		return transition{StatusNeedsAttention, events.OrderNeedsAttention}, true
	case inputDeadline:
		if terminal[status] {
			return transition{}, false
		}
		return transition{StatusCancelled, events.OrderCancelled}, true
	}
	t, ok := machine[status][input]
	return t, ok
}
