// Package storetest builds store-manager's and the payments service's use
// cases in a test process, on data of the test's own: scratch store and
// payments databases, a Redis key prefix, and the projector and both saga
// handlers fed by an in-process relay of the outboxes. Nothing it does
// touches the databases or read models the running system serves. Only
// tests import it.
package storetest

import (
	"context"
	"database/sql"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/store-manager/store-manager/services/payments"
	"github.com/store-manager/store-manager/services/platform/consumer"
	"github.com/store-manager/store-manager/services/platform/events"
	"github.com/store-manager/store-manager/services/platform/money"
	"github.com/store-manager/store-manager/services/store"
	"github.com/store-manager/store-manager/services/store/readmodel"
	"github.com/store-manager/store-manager/testkit/stacktest"
)

// System is the two services' use cases over the test's own data.
type System struct {
	Store      *store.Service
	Payments   *payments.Service
	StoreDB    *sql.DB
	PaymentsDB *sql.DB
	Redis      *redis.Client
	Reads      *readmodel.Store
	Prefix     string // every read-model key of the System starts with it
	// PaymentsStep holds the store's events back from the payments service
	// while closed, as if it were down; PaymentAnswers holds the payments
	// service's events back from the store, as if its saga lagged.
	PaymentsStep, PaymentAnswers *stacktest.Gate
	// SQLTrips and RedisTrips count the store service's round trips to its
	// database and read models (with CountRoundTrips): the relay, the
	// projector and the payments service use connections of their own.
	SQLTrips, RedisTrips *stacktest.RoundTrips
}

// MaxPayment is the payments limit of a System: an order over it fails at
// payment creation.
const MaxPayment = money.Cents(1000000) // 10000.00

// Option changes what a System runs.
type Option func(*options)

type options struct{ noPayments, count bool }

// CountRoundTrips counts the store service's round trips (System.SQLTrips, RedisTrips).
func CountRoundTrips() Option { return func(o *options) { o.count = true } }

// WithoutPayments starts with the PaymentsStep gate closed, as if the
// payments service were down: orders wait at StockDecreased until it opens.
func WithoutPayments() Option { return func(o *options) { o.noPayments = true } }

// New builds a System, with its saga and projector running, and removes
// its data when the test ends.
func New(t testing.TB, opts ...Option) System {
	t.Helper()
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	st := stacktest.Stack(t)
	ctx := context.Background()
	storeDSN := stacktest.MigratedDatabase(t, "store")
	s := System{
		StoreDB:      stacktest.Open(t, storeDSN),
		PaymentsDB:   stacktest.Open(t, stacktest.MigratedDatabase(t, "payments")),
		Redis:        redis.NewClient(&redis.Options{Addr: st.RedisAddr, Password: st.RedisPassword}),
		PaymentsStep: &stacktest.Gate{}, PaymentAnswers: &stacktest.Gate{},
	}
	if o.noPayments {
		s.PaymentsStep.Close()
	}
	t.Cleanup(func() { s.Redis.Close() })
	s.Prefix = "test:" + stacktest.Suffix() + ":"
	s.Reads = readmodel.New(s.Redis, s.Prefix)
	t.Cleanup(func() { _ = s.Reads.Reset(context.Background()) })

	serviceDB, serviceReads := s.StoreDB, s.Reads
	if o.count {
		serviceDB, s.SQLTrips = stacktest.OpenCounted(t, storeDSN)
		counted := redis.NewClient(&redis.Options{Addr: st.RedisAddr, Password: st.RedisPassword})
		t.Cleanup(func() { counted.Close() })
		s.RedisTrips = stacktest.CountRedis(counted)
		serviceReads = readmodel.New(counted, s.Prefix)
	}
	storeDB, err := store.Prepare(ctx, serviceDB)
	if err != nil {
		t.Fatalf("prepare store queries: %v", err)
	}
	t.Cleanup(func() { storeDB.Close() })
	paymentsDB, err := payments.Prepare(ctx, s.PaymentsDB)
	if err != nil {
		t.Fatalf("prepare payments queries: %v", err)
	}
	t.Cleanup(func() { paymentsDB.Close() })
	s.Store = store.New(storeDB, serviceReads)
	s.Payments = payments.New(paymentsDB, payments.Config{MaxAmount: MaxPayment, LinkBase: "http://gateway.test"})

	projector, storeSaga, paymentsSaga := consumer.NewRegistry(), consumer.NewRegistry(), consumer.NewRegistry()
	s.Reads.Register(projector)
	s.Store.RegisterSaga(storeSaga)
	s.Payments.RegisterSaga(paymentsSaga)
	stacktest.StartRelay(t, []*sql.DB{s.StoreDB, s.PaymentsDB},
		stacktest.Route{Registry: projector, Topics: readmodel.ProjectorTopics},
		stacktest.Route{Registry: storeSaga, Topics: []string{events.TopicOrders}},
		stacktest.Route{Registry: storeSaga, Topics: []string{events.TopicPayments}, Gate: s.PaymentAnswers},
		stacktest.Route{Registry: paymentsSaga, Topics: payments.SagaTopics, Gate: s.PaymentsStep})
	return s
}
