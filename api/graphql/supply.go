package graphql

import (
	"context"
	"strconv"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vikstrous/dataloadgen"

	"github.com/store-manager/store-manager/services/store"
	"github.com/store-manager/store-manager/services/store/readmodel"
)

// IdempotencyKeyHeader may carry a restock's idempotency key.
const IdempotencyKeyHeader = "Idempotency-Key"

// defaultRestocksSince is how far back restocks lists without since.
const defaultRestocksSince = 30 * 24 * time.Hour

// restockKey is the restock's idempotency key: the argument, or the
// request's header; both may be sent only when they agree.
func restockKey(ctx context.Context, arg *string) (string, error) {
	var header string
	if a := requestFrom(ctx); a != nil {
		header = a.idempotencyKey
	}
	switch {
	case arg == nil:
		return header, nil
	case header != "" && header != *arg:
		return "", invalidArg("the idempotencyKey argument and the " + IdempotencyKeyHeader + " header differ: send one")
	case *arg == "":
		return "", invalidArg("idempotencyKey must not be empty: leave it out instead")
	}
	return *arg, nil
}

// loaders batch, per request, the reads a field of many objects needs: the
// sales of every product of a page are one query.
type loaders struct {
	sales *dataloadgen.Loader[int64, store.Sales]
}

type loadersKey struct{}

func withLoaders(ctx context.Context, s *store.Service) context.Context {
	sales := func(ctx context.Context, ids []int64) (map[int64]store.Sales, error) {
		found, err := s.SalesOf(ctx, ids)
		if err != nil {
			return nil, err
		}
		for _, id := range ids { // a product that sold nothing has sales all the same
			if _, ok := found[id]; !ok {
				found[id] = store.Sales{}
			}
		}
		return found, nil
	}
	return context.WithValue(ctx, loadersKey{}, &loaders{
		sales: dataloadgen.NewMappedLoader(sales, dataloadgen.WithBatchCapacity(store.MaxReportLimit), dataloadgen.WithWait(time.Millisecond)),
	})
}

func loadersFrom(ctx context.Context) *loaders { return ctx.Value(loadersKey{}).(*loaders) }

// newSales is a product's sales with its pace and the days its stock lasts.
func newSales(s store.Sales, quantity int) *Sales {
	out := &Sales{LastDay: int(s.Day), Last7Days: int(s.Week), Last30Days: int(s.Month), DailyPace: float64(s.Month) / store.SalesWindow}
	if d, ok := s.DaysLeft(int32(quantity)); ok {
		out.DaysOfStockLeft = &d
	}
	return out
}

func newRestock(r store.Restock) *Restock {
	out := &Restock{ID: strconv.FormatInt(r.ID, 10), ProductID: strconv.FormatInt(r.ProductID, 10), Quantity: int(r.Quantity),
		StockAfter: int(r.StockAfter), RestockedAt: r.At}
	if r.Key != "" {
		out.IdempotencyKey = &r.Key
	}
	return out
}

// stream subscribes owner to the changes want accepts and sends them on,
// after the products now returns (marked current) when now is not nil. A
// change no newer than the current value sent for its product is skipped.
// The stream ends when the subscription's context ends, or when the feed
// drops it (the client fell behind, or the feed lost changes): the client
// subscribes again, asking for current values.
func (r *Resolver) stream(ctx context.Context, owner string, want func(readmodel.StockChange) bool,
	now func(context.Context) ([]store.Product, error)) (<-chan *StockChange, error) {
	ctx, cancel := context.WithCancel(ctx)
	changes, err := r.Feed.Subscribe(ctx, owner, want) // before reading current values: nothing falls between
	if err != nil {
		cancel()
		return nil, err
	}
	var first []store.Product
	if now != nil {
		if first, err = now(ctx); err != nil {
			cancel()
			return nil, err
		}
	}
	out := make(chan *StockChange)
	go func() {
		defer cancel()
		defer close(out)
		send := func(c *StockChange) bool {
			select {
			case out <- c:
				return true
			case <-ctx.Done():
				return false
			}
		}
		sent := make(map[int64]int64, len(first))
		for _, p := range first {
			sent[p.ID] = p.StockVersion
			if !send(&StockChange{ProductID: strconv.FormatInt(p.ID, 10), Quantity: int(p.Quantity),
				Version: strconv.FormatInt(p.StockVersion, 10), Current: true}) {
				return
			}
		}
		for c := range changes {
			if c.Version <= sent[c.ProductID] {
				continue
			}
			if !send(newStockChange(c)) {
				return
			}
		}
	}()
	return out, nil
}

func newStockChange(c readmodel.StockChange) *StockChange {
	out := &StockChange{ProductID: strconv.FormatInt(c.ProductID, 10), Quantity: int(c.Quantity), Version: strconv.FormatInt(c.Version, 10)}
	if c.Previous >= 0 {
		prev := int(c.Previous)
		out.PreviousQuantity = &prev
	}
	return out
}

// withSales reads the sales of every product of a list in one query, when
// the request selects them (sales, below the fields of path).
func (r *Resolver) withSales(ctx context.Context, list []*Product, path ...string) error {
	if len(list) == 0 || !selects(ctx, append(path, "sales")...) {
		return nil
	}
	ids := make([]int64, len(list))
	for i, p := range list {
		ids[i], _ = strconv.ParseInt(p.ID, 10, 64) // a product's own id
	}
	sales, err := r.Store.SalesOf(ctx, ids)
	if err != nil {
		return err
	}
	for i, p := range list {
		p.Sales = newSales(sales[ids[i]], p.Quantity)
	}
	return nil
}

// selects reports whether the resolver's field selects the field path.
func selects(ctx context.Context, path ...string) bool {
	op := graphql.GetOperationContext(ctx)
	fields := graphql.CollectFieldsCtx(ctx, nil)
	for i, name := range path {
		var next *graphql.CollectedField
		for j := range fields {
			if fields[j].Name == name {
				next = &fields[j]
				break
			}
		}
		if next == nil {
			return false
		}
		if i == len(path)-1 {
			return true
		}
		fields = graphql.CollectFields(op, next.Selections, nil)
	}
	return false
}
