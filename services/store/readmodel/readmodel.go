// Package readmodel keeps the Redis read models of the store (CQRS read side):
// products with their stock, stock levels and orders. The projector writes
// them from Kafka events, and Rebuild from the database (storectl
// rebuild-cache, after Reset); every write is an atomic Lua script that checks
// the event's version, so replays, duplicates and out-of-order events never
// move a value backwards, and a deleted product or order never comes back.
package readmodel

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/trace"

	"github.com/store-manager/store-manager/services/platform/events"
	"github.com/store-manager/store-manager/services/store"
)

func (s *Store) productKey(id int64) string { return s.prefix + "product:" + strconv.FormatInt(id, 10) }
func (s *Store) orderKey(id int64) string   { return s.prefix + "order:" + strconv.FormatInt(id, 10) }
func (s *Store) productsKey() string        { return s.prefix + "products" }      // zset of live product ids, scored by id
func (s *Store) levelsKey() string          { return s.prefix + "stock_levels" }  // zset of product ids scored by quantity
func (s *Store) stockChannel() string       { return s.prefix + "stock_changes" } // pub/sub channel of applied stock changes

var putProduct = redis.NewScript(`
if redis.call('HEXISTS', KEYS[1], 'deleted') == 1 then return 0 end
redis.call('HSET', KEYS[1], 'id', ARGV[1], 'name', ARGV[2], 'sku', ARGV[3], 'price', ARGV[4])
redis.call('ZADD', KEYS[2], ARGV[1], ARGV[1])
return 1`)

var deleteProduct = redis.NewScript(`
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'deleted', '1')
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
return 1`)

// putStock also publishes the change it records on the stock channel
// (KEYS[3]) as "id quantity previous version", previous -1 when unknown:
// the stock feed's subscribers learn of it as it is applied, once.
var putStock = redis.NewScript(`
if redis.call('HEXISTS', KEYS[1], 'deleted') == 1 then return 0 end
local cur = tonumber(redis.call('HGET', KEYS[1], 'stock_v') or '0')
if tonumber(ARGV[3]) <= cur then return 0 end
local prev = redis.call('HGET', KEYS[1], 'quantity') or '-1'
redis.call('HSET', KEYS[1], 'quantity', ARGV[2], 'stock_v', ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
redis.call('PUBLISH', KEYS[3], ARGV[1] .. ' ' .. ARGV[2] .. ' ' .. prev .. ' ' .. ARGV[3])
return 1`)

var putOrder = redis.NewScript(`
if redis.call('HGET', KEYS[1], 'deleted') == '1' then return 0 end
local cur = tonumber(redis.call('HGET', KEYS[1], 'v') or '0')
if tonumber(ARGV[1]) <= cur then return 0 end
if ARGV[3] == '1' then
  redis.call('DEL', KEYS[1])
  redis.call('HSET', KEYS[1], 'v', ARGV[1], 'deleted', '1')
else
  redis.call('HSET', KEYS[1], 'v', ARGV[1], 'json', ARGV[2])
end
return 1`)

// Store reads and writes the read models in one Redis database, under one key prefix.
type Store struct {
	rdb     redis.UniversalClient
	batched redis.Cmdable // single-key reads outside a traced span; nil: rdb
	prefix  string
}

// New returns a Store on rdb whose keys all start with prefix.
func New(rdb redis.UniversalClient, prefix string) *Store {
	return &Store{rdb: rdb, prefix: prefix}
}

// BatchReads sends the reads of one product or one order through ap (a
// client's AutoPipeline): concurrent requests then share one round trip to
// Redis, where each would take its own, which is most of a read's cost.
// A read inside a traced span still takes its own, so that its trace
// shows its command.
func (s *Store) BatchReads(ap redis.Cmdable) { s.batched = ap }

// reader is the client a single-key read in ctx goes through.
func (s *Store) reader(ctx context.Context) redis.Cmdable {
	if s.batched == nil || trace.SpanFromContext(ctx).IsRecording() {
		return s.rdb
	}
	return s.batched
}

// PutProduct records a product's details unless it was deleted.
func (s *Store) PutProduct(ctx context.Context, p events.Product) error {
	id := strconv.FormatInt(p.ID, 10)
	return putProduct.Run(ctx, s.rdb, []string{s.productKey(p.ID), s.productsKey()}, id, p.Name, p.SKU, p.Price).Err()
}

// DeleteProduct leaves a tombstone that later product and stock events cannot undo.
func (s *Store) DeleteProduct(ctx context.Context, id int64) error {
	return deleteProduct.Run(ctx, s.rdb, []string{s.productKey(id), s.productsKey(), s.levelsKey()}, strconv.FormatInt(id, 10)).Err()
}

// PutStock records a stock level if its version is newer than the one held.
func (s *Store) PutStock(ctx context.Context, st events.Stock) error {
	return putStock.Run(ctx, s.rdb, []string{s.productKey(st.ProductID), s.levelsKey(), s.stockChannel()},
		strconv.FormatInt(st.ProductID, 10), int64(st.Quantity), st.Version).Err()
}

// PutOrder records an order snapshot if its version is newer than the one
// held; a snapshot marked store.Deleted leaves a tombstone.
func (s *Store) PutOrder(ctx context.Context, o events.Order) error {
	body, err := json.Marshal(o)
	if err != nil {
		return fmt.Errorf("marshal order %d: %w", o.ID, err)
	}
	deleted := "0"
	if o.Deleted {
		deleted = "1"
	}
	return putOrder.Run(ctx, s.rdb, []string{s.orderKey(o.ID)}, o.Version, body, deleted).Err()
}

// Product returns a product with its stock.
func (s *Store) Product(ctx context.Context, id int64) (store.Product, store.Presence, error) {
	h, err := s.reader(ctx).HGetAll(ctx, s.productKey(id)).Result()
	if err != nil {
		return store.Product{}, store.Missing, fmt.Errorf("read product %d: %w", id, err)
	}
	return decodeProduct(id, h)
}

func decodeProduct(id int64, h map[string]string) (store.Product, store.Presence, error) {
	if len(h) == 0 {
		return store.Product{}, store.Missing, nil
	}
	if h["deleted"] == "1" {
		return store.Product{}, store.Deleted, nil
	}
	// Details and stock come from two topics: until both arrived, the product is not known yet.
	if h["sku"] == "" || h["stock_v"] == "" {
		return store.Product{}, store.Missing, nil
	}
	q, err := strconv.ParseInt(h["quantity"], 10, 32)
	if err != nil {
		return store.Product{}, store.Missing, fmt.Errorf("product %d: bad quantity %q", id, h["quantity"])
	}
	v, err := strconv.ParseInt(h["stock_v"], 10, 64)
	if err != nil {
		return store.Product{}, store.Missing, fmt.Errorf("product %d: bad stock version %q", id, h["stock_v"])
	}
	p := store.Product{Product: events.Product{ID: id, Name: h["name"], SKU: h["sku"], Price: h["price"]}, Quantity: int32(q), StockVersion: v}
	return p, store.Present, nil
}

// Order returns an order snapshot.
func (s *Store) Order(ctx context.Context, id int64) (events.Order, store.Presence, error) {
	h, err := s.reader(ctx).HMGet(ctx, s.orderKey(id), "json", "deleted").Result()
	if err != nil {
		return events.Order{}, store.Missing, fmt.Errorf("read order %d: %w", id, err)
	}
	if d, _ := h[1].(string); d == "1" {
		return events.Order{}, store.Deleted, nil
	}
	body, _ := h[0].(string)
	if body == "" {
		return events.Order{}, store.Missing, nil
	}
	var o events.Order
	if err := json.Unmarshal([]byte(body), &o); err != nil {
		return events.Order{}, store.Missing, fmt.Errorf("decode order %d: %w", id, err)
	}
	return o, store.Present, nil
}

// Products returns up to limit live products with ids above afterID, in id order.
func (s *Store) Products(ctx context.Context, afterID int64, limit int) ([]store.Product, error) {
	ids, err := s.rdb.ZRangeArgs(ctx, redis.ZRangeArgs{
		Key: s.productsKey(), ByScore: true, Start: "(" + strconv.FormatInt(afterID, 10), Stop: "+inf", Count: int64(limit),
	}).Result()
	if err != nil {
		return nil, fmt.Errorf("list products: %w", err)
	}
	return s.products(ctx, ids)
}

// LowStock returns up to limit products whose stock is at most threshold,
// lowest first.
func (s *Store) LowStock(ctx context.Context, threshold int32, limit int) ([]store.Product, error) {
	ids, err := s.rdb.ZRangeArgs(ctx, redis.ZRangeArgs{
		Key: s.levelsKey(), ByScore: true, Start: "-inf", Stop: strconv.FormatInt(int64(threshold), 10), Count: int64(limit),
	}).Result()
	if err != nil {
		return nil, fmt.Errorf("list low stock: %w", err)
	}
	return s.products(ctx, ids)
}

// ProductsByID returns the live products among ids, in their order, in one round trip.
func (s *Store) ProductsByID(ctx context.Context, ids []int64) ([]store.Product, error) {
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = strconv.FormatInt(id, 10)
	}
	return s.products(ctx, keys)
}

// products reads many products in one round trip.
func (s *Store) products(ctx context.Context, ids []string) ([]store.Product, error) {
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.MapStringStringCmd, len(ids))
	for i, id := range ids {
		cmds[i] = pipe.HGetAll(ctx, s.prefix+"product:"+id)
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("read products: %w", err)
	}
	out := make([]store.Product, 0, len(ids))
	for i, id := range ids {
		n, _ := strconv.ParseInt(id, 10, 64)
		p, presence, err := decodeProduct(n, cmds[i].Val())
		if err != nil {
			return nil, err
		}
		if presence == store.Present {
			out = append(out, p)
		}
	}
	return out, nil
}

// Reset removes every key under the prefix, before a rebuild from the database.
func (s *Store) Reset(ctx context.Context) error {
	iter := s.rdb.Scan(ctx, 0, s.prefix+"*", 1000).Iterator()
	var batch []string
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := s.rdb.Unlink(ctx, batch...).Err()
		batch = batch[:0]
		return err
	}
	for iter.Next(ctx) {
		batch = append(batch, iter.Val())
		if len(batch) == 1000 {
			if err := flush(); err != nil {
				return fmt.Errorf("reset read models: %w", err)
			}
		}
	}
	if err := iter.Err(); err != nil {
		return fmt.Errorf("reset read models: %w", err)
	}
	if err := flush(); err != nil {
		return fmt.Errorf("reset read models: %w", err)
	}
	return nil
}
