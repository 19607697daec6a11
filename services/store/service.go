package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/mail"
	"time"

	storedb "github.com/store-manager/store-manager/db/store"
	"github.com/store-manager/store-manager/services/platform/errs"
	"github.com/store-manager/store-manager/services/platform/events"
	"github.com/store-manager/store-manager/services/platform/money"
	"github.com/store-manager/store-manager/services/platform/outbox"
	"github.com/store-manager/store-manager/services/platform/txn"
)

// ReadModel is the read side the store's queries are served from.
type ReadModel interface {
	Product(ctx context.Context, id int64) (Product, Presence, error)
	Order(ctx context.Context, id int64) (events.Order, Presence, error)
	Products(ctx context.Context, afterID int64, limit int) ([]Product, error)
	LowStock(ctx context.Context, threshold int32, limit int) ([]Product, error)
}

// Limits on input values.
const (
	MaxNameLen     = 100
	MaxEmailLen    = 255
	MaxSKULen      = 64
	MaxStock       = 1_000_000_000
	MaxItemQty     = 1_000_000
	MaxOrderItems  = 100
	MaxReportLimit = 100
)

// Queries are the store database's generated queries, bound to a transaction or not.
type Queries = *storedb.Queries

// DB is the store database: its prepared queries, and the platform's outbox and inbox.
type DB = txn.DB[Queries]

// Prepare prepares every store query, and the outbox's, once on db.
func Prepare(ctx context.Context, db *sql.DB) (*DB, error) {
	return txn.Prepare(ctx, db, func(ctx context.Context, db *sql.DB) (Queries, error) { return storedb.Prepare(ctx, db) })
}

// Service holds the store's use cases.
type Service struct {
	db    *DB
	reads ReadModel
}

// New returns a Service writing to db and reading from reads.
func New(db *DB, reads ReadModel) *Service {
	return &Service{db: db, reads: reads}
}

// exec runs fn in one transaction that also writes the events fn returns.
func (s *Service) exec(ctx context.Context, fn func(q Queries) ([]outbox.Event, error)) error {
	return s.db.Exec(ctx, fn)
}

func event(topic string, key int64, typ string, payload any) ([]outbox.Event, error) {
	e, err := outbox.New(topic, fmt.Sprint(key), typ, payload)
	if err != nil {
		return nil, err
	}
	return []outbox.Event{e}, nil
}

// User is a store user.
type User struct {
	ID    int64
	Name  string
	Email string
}

// CreateUser adds a user; the email must be unused.
func (s *Service) CreateUser(ctx context.Context, name, email string) (int64, error) {
	if err := checkName("name", name, MaxNameLen); err != nil {
		return 0, err
	}
	if addr, perr := mail.ParseAddress(email); perr != nil || addr.Address != email || len(email) > MaxEmailLen {
		return 0, errs.Errorf(ErrInvalid, "email is not a valid address of at most %d characters", MaxEmailLen)
	}
	var id int64
	err := s.exec(ctx, func(q Queries) ([]outbox.Event, error) {
		var err error
		id, err = q.CreateUser(ctx, storedb.CreateUserParams{Name: name, Email: email})
		if txn.MySQLError(err, txn.DuplicateKey) {
			return nil, errs.Errorf(ErrConflict, "email %s is already used", email)
		}
		if err != nil {
			return nil, fmt.Errorf("create user: %w", err)
		}
		return event(events.TopicUsers, id, events.UserCreated, events.User{ID: id, Name: name, Email: email})
	})
	return id, err
}

// User returns one user.
func (s *Service) User(ctx context.Context, id int64) (User, error) {
	u, err := s.db.Queries().GetUser(ctx, id)
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, errs.Errorf(ErrNotFound, "user %d not found", id)
	}
	if err != nil {
		return User{}, fmt.Errorf("get user %d: %w", id, err)
	}
	return User{ID: u.ID, Name: u.Name, Email: u.Email}, nil
}

// DeleteUser removes a user who has no orders.
func (s *Service) DeleteUser(ctx context.Context, id int64) error {
	return s.exec(ctx, func(q Queries) ([]outbox.Event, error) {
		n, err := q.DeleteUser(ctx, id)
		if txn.MySQLError(err, txn.RowReferenced, txn.RowReferenced2) {
			return nil, errs.Errorf(ErrConflict, "user %d has orders and cannot be deleted", id)
		}
		if err != nil {
			return nil, fmt.Errorf("delete user %d: %w", id, err)
		}
		if n == 0 {
			return nil, errs.Errorf(ErrNotFound, "user %d not found", id)
		}
		return event(events.TopicUsers, id, events.UserDeleted, events.User{ID: id})
	})
}

// CreateProduct adds a product with no stock; the SKU must be unused. price
// is a decimal with at most two places.
func (s *Service) CreateProduct(ctx context.Context, name, sku, price string) (int64, error) {
	if err := checkName("name", name, MaxNameLen); err != nil {
		return 0, err
	}
	if err := checkName("sku", sku, MaxSKULen); err != nil {
		return 0, err
	}
	cents, err := money.Parse(price)
	if err != nil {
		return 0, errs.Errorf(ErrInvalid, "price: %v", err)
	}
	var id int64
	err = s.exec(ctx, func(q Queries) ([]outbox.Event, error) {
		id, err = q.CreateProduct(ctx, storedb.CreateProductParams{Name: name, Sku: sku, Price: cents.String()})
		if txn.MySQLError(err, txn.DuplicateKey) {
			return nil, errs.Errorf(ErrConflict, "SKU %s is already used", sku)
		}
		if err != nil {
			return nil, fmt.Errorf("create product: %w", err)
		}
		if err := q.SetStock(ctx, storedb.SetStockParams{ProductID: id, Quantity: 0}); err != nil {
			return nil, fmt.Errorf("create stock of product %d: %w", id, err)
		}
		created, err := outbox.New(events.TopicProducts, fmt.Sprint(id), events.ProductCreated,
			events.Product{ID: id, Name: name, SKU: sku, Price: cents.String()})
		if err != nil {
			return nil, err
		}
		stock, err := stockChanged(ctx, q, id)
		return []outbox.Event{created, stock.event}, err
	})
	return id, err
}

// Product returns a product with its stock, from the read model.
func (s *Service) Product(ctx context.Context, id int64) (Product, error) {
	p, presence, err := s.reads.Product(ctx, id)
	if err != nil {
		return Product{}, err
	}
	switch presence {
	case Deleted:
		return Product{}, errs.Errorf(ErrNotFound, "product %d not found", id)
	case Missing:
		return s.productFromDB(ctx, id) // not projected yet: read your own write
	}
	return p, nil
}

func (s *Service) productFromDB(ctx context.Context, id int64) (Product, error) {
	q := s.db.Queries()
	p, err := q.GetProduct(ctx, id)
	if errors.Is(err, sql.ErrNoRows) {
		return Product{}, errs.Errorf(ErrNotFound, "product %d not found", id)
	}
	if err != nil {
		return Product{}, fmt.Errorf("get product %d: %w", id, err)
	}
	out := Product{Product: events.Product{ID: p.ID, Name: p.Name, SKU: p.Sku, Price: p.Price}}
	st, err := q.GetStock(ctx, id)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return Product{}, fmt.Errorf("get stock %d: %w", id, err)
	}
	out.Quantity, out.StockVersion = st.Quantity, st.Version
	return out, nil
}

// DeleteProduct removes a product that no order uses, with its stock. It
// returns once the read side no longer shows the product (or after a bound).
func (s *Service) DeleteProduct(ctx context.Context, id int64) error {
	err := s.exec(ctx, func(q Queries) ([]outbox.Event, error) {
		n, err := q.DeleteProduct(ctx, id)
		if txn.MySQLError(err, txn.RowReferenced, txn.RowReferenced2) {
			return nil, errs.Errorf(ErrConflict, "product %d is used by orders and cannot be deleted", id)
		}
		if err != nil {
			return nil, fmt.Errorf("delete product %d: %w", id, err)
		}
		if n == 0 {
			return nil, errs.Errorf(ErrNotFound, "product %d not found", id)
		}
		return event(events.TopicProducts, id, events.ProductDeleted, events.Product{ID: id})
	})
	if err == nil {
		s.awaitGone(ctx, func(ctx context.Context) (Presence, error) {
			_, p, err := s.reads.Product(ctx, id)
			return p, err
		})
	}
	return err
}

// maxProjectionWait bounds how long a delete waits for the read side.
const maxProjectionWait = 2 * time.Second

// awaitGone waits until presence finds the tombstone of an entity a command
// has just deleted, so the client that deleted it reads its own write: only
// the projector writes the read side, from the deletion's event. It gives up
// after maxProjectionWait, or when ctx ends.
func (s *Service) awaitGone(ctx context.Context, presence func(context.Context) (Presence, error)) {
	ctx, cancel := context.WithTimeout(ctx, maxProjectionWait)
	defer cancel()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		if p, err := presence(ctx); err != nil || p == Deleted {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// SetStock sets a product's stock to an absolute quantity.
func (s *Service) SetStock(ctx context.Context, productID int64, quantity int64) (events.Stock, error) {
	if quantity < 0 || quantity > MaxStock {
		return events.Stock{}, errs.Errorf(ErrInvalid, "quantity must be between 0 and %d", MaxStock)
	}
	var st events.Stock
	err := s.exec(ctx, func(q Queries) ([]outbox.Event, error) {
		if _, err := q.GetProduct(ctx, productID); errors.Is(err, sql.ErrNoRows) {
			return nil, errs.Errorf(ErrNotFound, "product %d not found", productID)
		} else if err != nil {
			return nil, fmt.Errorf("get product %d: %w", productID, err)
		}
		err := q.SetStock(ctx, storedb.SetStockParams{ProductID: productID, Quantity: int32(quantity)})
		if txn.MySQLError(err, txn.NoReferencedRow) {
			return nil, errs.Errorf(ErrNotFound, "product %d not found", productID)
		}
		if err != nil {
			return nil, fmt.Errorf("set stock of product %d: %w", productID, err)
		}
		e, err := stockChanged(ctx, q, productID)
		if err != nil {
			return nil, err
		}
		st = e.stock
		return []outbox.Event{e.event}, nil
	})
	return st, err
}

// stockChange is a stock row as a command left it, and the event announcing it.
type stockChange struct {
	stock events.Stock
	event outbox.Event
}

// stockChanged reads a product's stock after a change, inside the command's
// transaction, and builds its StockUpdated event with the absolute quantity
// and version.
func stockChanged(ctx context.Context, q Queries, productID int64) (stockChange, error) {
	row, err := q.GetStock(ctx, productID)
	if err != nil {
		return stockChange{}, fmt.Errorf("read stock of product %d: %w", productID, err)
	}
	st := events.Stock{ProductID: productID, Quantity: row.Quantity, Version: row.Version}
	e, err := outbox.New(events.TopicStocks, fmt.Sprint(productID), events.StockUpdated, st)
	return stockChange{stock: st, event: e}, err
}

// Restock adds quantity units to a product's stock (the suppliers' mutation)
// and returns the product with its new stock.
func (s *Service) Restock(ctx context.Context, productID int64, quantity int64) (Product, error) {
	if quantity < 1 || quantity > MaxStock {
		return Product{}, errs.Errorf(ErrInvalid, "quantity must be between 1 and %d", MaxStock)
	}
	var out Product
	err := s.exec(ctx, func(q Queries) ([]outbox.Event, error) {
		n, err := q.IncreaseStock(ctx, storedb.IncreaseStockParams{Amount: int32(quantity), ProductID: productID})
		if txn.MySQLError(err, txn.OutOfRange, txn.CheckFailed, txn.CheckFailedMy) {
			return nil, errs.Errorf(ErrInvalid, "stock of product %d would exceed %d units", productID, MaxStock)
		}
		if err != nil {
			return nil, fmt.Errorf("restock product %d: %w", productID, err)
		}
		if n == 0 {
			return nil, errs.Errorf(ErrNotFound, "product %d not found", productID)
		}
		c, err := stockChanged(ctx, q, productID)
		if err != nil {
			return nil, err
		}
		if int64(c.stock.Quantity) > MaxStock {
			return nil, errs.Errorf(ErrInvalid, "stock of product %d would exceed %d units", productID, MaxStock)
		}
		p, err := q.GetProduct(ctx, productID)
		if err != nil {
			return nil, fmt.Errorf("get product %d: %w", productID, err)
		}
		out = Product{
			Product:  events.Product{ID: p.ID, Name: p.Name, SKU: p.Sku, Price: p.Price},
			Quantity: c.stock.Quantity, StockVersion: c.stock.Version,
		}
		return []outbox.Event{c.event}, nil
	})
	return out, err
}
