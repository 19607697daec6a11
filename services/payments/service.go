package payments

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	paymentsdb "github.com/store-manager/store-manager/db/payments"
	"github.com/store-manager/store-manager/services/platform/errs"
	"github.com/store-manager/store-manager/services/platform/events"
	"github.com/store-manager/store-manager/services/platform/money"
	"github.com/store-manager/store-manager/services/platform/outbox"
	"github.com/store-manager/store-manager/services/platform/txn"
)

// Config sets the payments rules.
type Config struct {
	// MaxAmount is the largest amount a payment may have; an order over it
	// fails at payment creation and its saga compensates.
	MaxAmount money.Cents
	// LinkBase is the public base URL (the gateway) that payment links point at.
	LinkBase string
	// Now tells the time, for card expiry; time.Now when nil.
	Now func() time.Time
}

// DB is the payments database: its prepared queries, and the platform's outbox and inbox.
type DB = txn.DB[*paymentsdb.Queries]

// Prepare prepares every payments query, and the outbox's, once on db.
func Prepare(ctx context.Context, db *sql.DB) (*DB, error) {
	prepare := func(ctx context.Context, db *sql.DB) (*paymentsdb.Queries, error) { return paymentsdb.Prepare(ctx, db) }
	return txn.Prepare(ctx, db, prepare)
}

// Service holds the payments use cases.
type Service struct {
	db  *DB
	cfg Config
}

// New returns a Service on db.
func New(db *DB, cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.LinkBase = strings.TrimRight(cfg.LinkBase, "/")
	return &Service{db: db, cfg: cfg}
}

// Payment is a payment as clients see it.
type Payment struct {
	ID          int64
	OrderID     int64
	UserID      int64
	TotalAmount string
	IsPaid      bool
	IsVoid      bool // its order was cancelled or deleted before it was paid
	// Refund is set once the payment, paid, was refunded because its order
	// was cancelled or deleted.
	Refund *Refund
}

// Refund is when a paid payment was given back, and how much.
type Refund struct {
	At     time.Time
	Amount string
}

// refundOf reads a payment row's refund columns.
func refundOf(at sql.NullTime, amount sql.NullString) *Refund {
	if !at.Valid {
		return nil
	}
	return &Refund{At: at.Time, Amount: amount.String}
}

// Link is the URL that processes payment id, through the gateway.
func (s *Service) Link(id int64) string {
	return s.cfg.LinkBase + "/payments/process/" + strconv.FormatInt(id, 10)
}

// checkAmount validates an amount against the format and the configured limit.
func (s *Service) checkAmount(total string) (money.Cents, error) {
	c, err := money.Parse(total)
	if err != nil {
		return 0, errs.Errorf(ErrInvalid, "total_amount: %v", err)
	}
	if c > s.cfg.MaxAmount {
		return 0, errs.Errorf(ErrInvalid, "total_amount %s is over the limit of %s per payment", c, s.cfg.MaxAmount)
	}
	return c, nil
}

// CreatePayment records the payment of an order that the payments service
// knows from the store's events, for that order's own total (the original's
// POST /payments, for trusted services). The user and amount a caller sends
// must be the order's; an unknown order is not found, and a cancelled or
// deleted order, or one that has its payment already, is a conflict. The
// store completes the order's saga only with the payment announced for its
// StockDecreased event, which the saga step announces for this payment.
func (s *Service) CreatePayment(ctx context.Context, userID, orderID int64, total string) (int64, error) {
	if userID < 1 || orderID < 1 {
		return 0, errs.Errorf(ErrInvalid, "user_id and order_id must be positive integers")
	}
	amount, err := s.checkAmount(total)
	if err != nil {
		return 0, err
	}
	var id int64
	err = s.db.Exec(ctx, func(q *paymentsdb.Queries) ([]outbox.Event, error) {
		o, err := q.GetOrderForUpdate(ctx, orderID)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, errs.Errorf(ErrNotFound, "order %d is not known to payments", orderID)
		}
		if err != nil {
			return nil, fmt.Errorf("lock order %d: %w", orderID, err)
		}
		switch {
		case o.IsVoid:
			return nil, errs.Errorf(ErrConflict, "order %d was cancelled or deleted", orderID)
		case o.UserID != userID:
			return nil, errs.Errorf(ErrInvalid, "user_id %d is not the user of order %d", userID, orderID)
		}
		if own, err := money.Parse(o.TotalAmount); err != nil || own != amount {
			return nil, errs.Errorf(ErrInvalid, "total_amount %s is not the total of order %d", amount, orderID)
		}
		id, err = q.CreatePayment(ctx, paymentsdb.CreatePaymentParams{OrderID: orderID, UserID: userID, TotalAmount: amount.String()})
		if txn.MySQLError(err, txn.DuplicateKey) {
			return nil, errs.Errorf(ErrConflict, "order %d already has a payment", orderID)
		}
		if err != nil {
			return nil, fmt.Errorf("create payment: %w", err)
		}
		return paymentEvent(events.PaymentCreated, events.PaymentEvent{
			OrderID: orderID, PaymentID: id, UserID: userID, TotalAmount: amount.String(), PaymentLink: s.Link(id),
		})
	})
	return id, err
}

// paymentEvent builds an event on the payments topic, keyed by order id so
// one order's saga events stay in order.
func paymentEvent(typ string, p events.PaymentEvent) ([]outbox.Event, error) {
	e, err := outbox.New(events.TopicPayments, strconv.FormatInt(p.OrderID, 10), typ, p)
	if err != nil {
		return nil, err
	}
	return []outbox.Event{e}, nil
}

// Payment returns one payment.
func (s *Service) Payment(ctx context.Context, id int64) (Payment, error) {
	p, err := s.db.Queries().GetPayment(ctx, id)
	if errors.Is(err, sql.ErrNoRows) {
		return Payment{}, errs.Errorf(ErrNotFound, "payment %d not found", id)
	}
	if err != nil {
		return Payment{}, fmt.Errorf("get payment %d: %w", id, err)
	}
	return Payment{ID: p.ID, OrderID: p.OrderID, UserID: p.UserID, TotalAmount: p.TotalAmount, IsPaid: p.IsPaid,
		IsVoid: p.VoidedAt.Valid, Refund: refundOf(p.RefundedAt, p.RefundedAmount)}, nil
}

// Card is the card data of a payment. It is checked, never stored or logged.
type Card struct {
	Number     string
	Code       string
	Expiration string // MM/YY or MM/YYYY
}

// String hides the card data from any log or trace.
func (Card) String() string { return "Card{redacted}" }

// GoString hides the card data from %#v.
func (c Card) GoString() string { return c.String() }

// Process pays payment id with card and announces PaymentProcessed. Paying
// a paid or refunded payment, or the void payment of a cancelled or deleted
// order, is a conflict.
func (s *Service) Process(ctx context.Context, id int64, card Card) (Payment, error) {
	if err := s.checkCard(card); err != nil {
		return Payment{}, err
	}
	var out Payment
	err := s.db.Exec(ctx, func(q *paymentsdb.Queries) ([]outbox.Event, error) {
		p, err := q.GetPaymentForUpdate(ctx, id)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, errs.Errorf(ErrNotFound, "payment %d not found", id)
		}
		if err != nil {
			return nil, fmt.Errorf("lock payment %d: %w", id, err)
		}
		switch {
		case p.VoidedAt.Valid:
			return nil, errs.Errorf(ErrConflict, "payment %d is void: its order was cancelled or deleted", id)
		case p.RefundedAt.Valid:
			return nil, errs.Errorf(ErrConflict, "payment %d was refunded: its order was cancelled or deleted", id)
		case p.IsPaid:
			return nil, errs.Errorf(ErrConflict, "payment %d is already paid", id)
		}
		if _, err := q.MarkPaymentPaid(ctx, id); err != nil {
			return nil, fmt.Errorf("pay payment %d: %w", id, err)
		}
		out = Payment{ID: p.ID, OrderID: p.OrderID, UserID: p.UserID, TotalAmount: p.TotalAmount, IsPaid: true}
		return paymentEvent(events.PaymentProcessed, events.PaymentEvent{
			OrderID: p.OrderID, PaymentID: p.ID, UserID: p.UserID, TotalAmount: p.TotalAmount,
		})
	})
	return out, err
}

// maxCardYears is how far ahead a card's expiry may be.
const maxCardYears = 20

// checkCard accepts a card number written one way only (its 12 to 19
// digits, no spaces or dashes) with a valid checksum, a 3- or 4-digit code,
// and an expiry from this month to maxCardYears ahead.
func (s *Service) checkCard(c Card) error {
	switch {
	case len(c.Number) < 12 || len(c.Number) > 19 || !digits(c.Number):
		return errs.Errorf(ErrInvalid, "cardNumber must be 12 to 19 digits, written without spaces or dashes")
	case !luhn(c.Number) || strings.Trim(c.Number, "0") == "":
		return errs.Errorf(ErrInvalid, "cardNumber is not a valid card number")
	}
	if n := len(c.Code); (n != 3 && n != 4) || !digits(c.Code) {
		return errs.Errorf(ErrInvalid, "cardCode must be 3 or 4 digits")
	}
	month, year, ok := parseExpiry(c.Expiration)
	if !ok {
		return errs.Errorf(ErrInvalid, "expirationDate must be MM/YY or MM/YYYY")
	}
	now := s.cfg.Now()
	// A card is valid through the last day of its expiry month.
	if !time.Date(year, time.Month(month)+1, 1, 0, 0, 0, 0, time.UTC).After(now) {
		return errs.Errorf(ErrInvalid, "the card has expired")
	}
	if year > now.Year()+maxCardYears {
		return errs.Errorf(ErrInvalid, "expirationDate is more than %d years ahead", maxCardYears)
	}
	return nil
}

func digits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

// luhn checks the checksum of a number of digits.
func luhn(number string) bool {
	sum := 0
	for i := range number {
		d := int(number[len(number)-1-i] - '0')
		if i%2 == 1 {
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return sum%10 == 0
}

func parseExpiry(s string) (month, year int, ok bool) {
	m, y, found := strings.Cut(s, "/")
	if !found || len(m) != 2 || (len(y) != 2 && len(y) != 4) || !digits(m) || !digits(y) {
		return 0, 0, false
	}
	month, _ = strconv.Atoi(m)
	year, _ = strconv.Atoi(y)
	if len(y) == 2 {
		year += 2000
	}
	return month, year, month >= 1 && month <= 12
}
