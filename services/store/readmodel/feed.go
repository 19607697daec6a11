package readmodel

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/store-manager/store-manager/services/platform/errs"
)

// StockChange is a product's stock as the projector recorded it.
type StockChange struct {
	ProductID int64
	Quantity  int32
	Previous  int32 // units before the change; -1 when not known
	Version   int64
}

// FeedLimits bound the stock feed's subscribers.
type FeedLimits struct {
	PerOwner int // subscriptions one owner (a supplier) may hold; default 10
	Total    int // subscriptions of this process; default 500
	Buffer   int // changes waiting for one subscriber before it is dropped; default 256
}

// ErrTooManySubscriptions refuses a subscription over FeedLimits.
var ErrTooManySubscriptions = errs.New(errs.TooMany, "readmodel: too many subscriptions")

// Feed delivers the stock changes the projector records (putStock publishes
// each one on a Redis channel, whichever process applied it) to this
// process's subscribers. It never slows the projector: a subscriber whose
// buffer is full is dropped (its channel closes), and so is every subscriber
// when the feed's connection to Redis was lost, since changes published
// meanwhile are gone: a client subscribes again and asks for current values.
type Feed struct {
	rdb     redis.UniversalClient
	channel string
	limits  FeedLimits
	log     *slog.Logger

	ready chan struct{} // closed once the feed listens

	mu       sync.Mutex
	subs     map[*subscriber]struct{}
	perOwner map[string]int
}

type subscriber struct {
	owner string
	want  func(StockChange) bool
	ch    chan StockChange
}

// NewFeed returns the feed of the read models s keeps.
func (s *Store) NewFeed(limits FeedLimits, log *slog.Logger) *Feed {
	if limits.PerOwner == 0 {
		limits.PerOwner = 10
	}
	if limits.Total == 0 {
		limits.Total = 500
	}
	if limits.Buffer == 0 {
		limits.Buffer = 256
	}
	return &Feed{rdb: s.rdb, channel: s.stockChannel(), limits: limits, log: log, ready: make(chan struct{}),
		subs: map[*subscriber]struct{}{}, perOwner: map[string]int{}}
}

// Subscribe returns the changes want accepts, from now until ctx ends or the
// subscriber is dropped; the channel is closed then. owner names who
// subscribes, for the per-owner bound.
func (f *Feed) Subscribe(ctx context.Context, owner string, want func(StockChange) bool) (<-chan StockChange, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.subs) >= f.limits.Total {
		return nil, errs.Errorf(ErrTooManySubscriptions, "the server holds %d subscriptions, its most: retry later", f.limits.Total)
	}
	if f.perOwner[owner] >= f.limits.PerOwner {
		return nil, errs.Errorf(ErrTooManySubscriptions, "this supplier holds %d subscriptions, its most", f.limits.PerOwner)
	}
	s := &subscriber{owner: owner, want: want, ch: make(chan StockChange, f.limits.Buffer)}
	f.subs[s] = struct{}{}
	f.perOwner[owner]++
	context.AfterFunc(ctx, func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.drop(s)
	})
	return s.ch, nil
}

// Ready is closed once the feed listens to the stock channel: changes
// recorded from then on reach its subscribers.
func (f *Feed) Ready() <-chan struct{} { return f.ready }

// Subscribers is how many subscriptions the feed holds.
func (f *Feed) Subscribers() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.subs)
}

// drop removes a subscriber and closes its channel, once; f.mu is held.
func (f *Feed) drop(s *subscriber) {
	if _, ok := f.subs[s]; !ok {
		return
	}
	delete(f.subs, s)
	if f.perOwner[s.owner]--; f.perOwner[s.owner] == 0 {
		delete(f.perOwner, s.owner)
	}
	close(s.ch)
}

// publish hands a change to every subscriber that wants it, dropping those
// that cannot take it now.
func (f *Feed) publish(c StockChange) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for s := range f.subs {
		if !s.want(c) {
			continue
		}
		select {
		case s.ch <- c:
		default:
			f.log.Warn("stock feed: a subscriber fell behind and was dropped", "owner", s.owner, "buffer", f.limits.Buffer)
			f.drop(s)
		}
	}
}

// dropAll drops every subscriber: the changes they would have had are lost.
func (f *Feed) dropAll() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for s := range f.subs {
		f.drop(s)
	}
}

// Run listens to the stock channel until ctx ends.
func (f *Feed) Run(ctx context.Context) error {
	ps := f.rdb.Subscribe(ctx, f.channel)
	defer ps.Close()
	stop := context.AfterFunc(ctx, func() { _ = ps.Close() }) // a blocked Receive does not watch ctx
	defer stop()
	defer f.dropAll()
	for {
		msg, err := ps.Receive(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			// go-redis reconnects and subscribes again on the next Receive.
			f.log.Warn("stock feed: connection to Redis lost", "err", err)
			f.dropAll()
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(time.Second):
			}
			continue
		}
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind == "subscribe" {
				select {
				case <-f.ready: // subscribed again after a lost connection
					f.dropAll()
				default: // the first time
					close(f.ready)
				}
			}
		case *redis.Message:
			c, err := parseStockChange(m.Payload)
			if err != nil {
				f.log.Error("stock feed: unreadable change", "payload", m.Payload, "err", err)
				continue
			}
			f.publish(c)
		}
	}
}

// parseStockChange reads putStock's "id quantity previous version".
func parseStockChange(s string) (StockChange, error) {
	f := strings.Fields(s)
	if len(f) != 4 {
		return StockChange{}, errors.New("want 4 fields")
	}
	var n [4]int64
	for i, v := range f {
		x, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return StockChange{}, fmt.Errorf("field %d: %w", i+1, err)
		}
		n[i] = x
	}
	return StockChange{ProductID: n[0], Quantity: int32(n[1]), Previous: int32(n[2]), Version: n[3]}, nil
}
