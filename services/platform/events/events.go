// Package events names the topics, consumer groups and event types that the
// services exchange over Kafka, and defines their JSON payloads. Store and payments share it; it
// holds data shapes only.
package events

import "time"

// Topics: the outbox's aggregatetype column routes each event to one of them.
const (
	TopicUsers    = "users"
	TopicProducts = "products"
	TopicStocks   = "stocks"
	TopicOrders   = "orders"   // the order saga's events from store-manager, keyed by order id
	TopicPayments = "payments" // the order saga's events from payments, keyed by order id
)

// Topics lists every topic the outbox routes events to.
var Topics = []string{TopicUsers, TopicProducts, TopicStocks, TopicOrders, TopicPayments}

// Consumer groups: each reader of the topics, named once for the services,
// storectl, the console and the tests (an instance's namespace prefixes them).
const (
	GroupProjector    = "store-manager-projector" // store-manager's Redis read models
	GroupStoreSaga    = "store-manager-saga"      // store-manager's saga steps; also its processed_events rows
	GroupPaymentsSaga = "payments-saga"           // the payments service's saga step; also its processed_events rows
)

// Event types, with the original's saga names.
const (
	UserCreated    = "UserCreated"
	UserDeleted    = "UserDeleted"
	ProductCreated = "ProductCreated"
	ProductDeleted = "ProductDeleted"
	StockUpdated   = "StockUpdated"

	OrderCreated          = "OrderCreated"
	OrderCreationFailed   = "OrderCreationFailed"
	StockDecreased        = "StockDecreased"
	StockDecreaseFailed   = "StockDecreaseFailed"
	PaymentCreated        = "PaymentCreated"
	PaymentCreationFailed = "PaymentCreationFailed"
	StockIncreased        = "StockIncreased"
	OrderCancelled        = "OrderCancelled"
	OrderCancelling       = "OrderCancelling" // an order that may have a payment is being cancelled: payments answers
	OrderDeleting         = "OrderDeleting"   // an order that may have a payment is being deleted: payments answers
	SagaCompleted         = "SagaCompleted"
	PaymentProcessed      = "PaymentProcessed"
	PaymentVoided         = "PaymentVoided"   // the unpaid payment of a cancelled or deleted order, or none
	PaymentRefunded       = "PaymentRefunded" // the paid payment of a cancelled or deleted order, given back
	OrderPaid             = "OrderPaid"
	OrderUpdated          = "OrderUpdated"
	OrderDeleted          = "OrderDeleted"
	OrderNeedsAttention   = "OrderNeedsAttention"
)

// User is the payload of user events.
type User struct {
	ID    int64  `json:"id"`
	Name  string `json:"name,omitempty"`
	Email string `json:"email,omitempty"`
}

// Product is the payload of product events; Price is a decimal string.
type Product struct {
	ID    int64  `json:"id"`
	Name  string `json:"name,omitempty"`
	SKU   string `json:"sku,omitempty"`
	Price string `json:"price,omitempty"`
}

// Stock is the payload of StockUpdated: the absolute quantity and the stock
// row's version, so a consumer can drop replays and stale events.
type Stock struct {
	ProductID int64 `json:"product_id"`
	Quantity  int32 `json:"quantity"`
	Version   int64 `json:"version"`
}

// OrderItem is one line of an order.
type OrderItem struct {
	ProductID int64  `json:"product_id"`
	Quantity  int32  `json:"quantity"`
	UnitPrice string `json:"unit_price"`
}

// OrderStep is one step of an order's saga, as its history shows it.
type OrderStep struct {
	Event  string    `json:"event"`
	Status string    `json:"status"`
	Detail string    `json:"detail,omitempty"`
	At     time.Time `json:"at"`
}

// Order is a snapshot of an order as of Version. Every event on the orders
// topic carries one, so the read model is kept from events alone.
type Order struct {
	ID            int64       `json:"id"`
	UserID        int64       `json:"user_id"`
	TotalAmount   string      `json:"total_amount"`
	Status        string      `json:"status"`
	Items         []OrderItem `json:"items"`
	PaymentID     *int64      `json:"payment_id"`
	PaymentLink   *string     `json:"payment_link"`
	IsPaid        bool        `json:"is_paid"`
	FailureReason *string     `json:"failure_reason"`
	TraceID       string      `json:"trace_id,omitempty"` // the trace the order's creation started
	Steps         []OrderStep `json:"steps"`
	Version       int64       `json:"version"`
	CreatedAt     time.Time   `json:"created_at"`
	UpdatedAt     time.Time   `json:"updated_at"`
	Deleted       bool        `json:"deleted,omitempty"`
}

// OrderEvent is the payload of every event on the orders topic.
type OrderEvent struct {
	Order  Order  `json:"order"`
	Reason string `json:"reason,omitempty"`
}

// PaymentEvent is the payload of every event on the payments topic.
type PaymentEvent struct {
	OrderID     int64  `json:"order_id"`
	PaymentID   int64  `json:"payment_id,omitempty"`
	UserID      int64  `json:"user_id,omitempty"`
	TotalAmount string `json:"total_amount,omitempty"`
	PaymentLink string `json:"payment_link,omitempty"`
	Reason      string `json:"reason,omitempty"`
	// CausedBy is the id of the event this one answers: for PaymentCreated
	// and PaymentCreationFailed, the order's StockDecreased; for
	// PaymentVoided and PaymentRefunded, its OrderCancelling or OrderDeleting.
	CausedBy string `json:"caused_by,omitempty"`
}
