package e2e

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	paymentsdb "github.com/store-manager/store-manager/db/payments"
	storedb "github.com/store-manager/store-manager/db/store"
	"github.com/store-manager/store-manager/operations/reconcile"
	"github.com/store-manager/store-manager/testkit/stacktest"
	"github.com/store-manager/store-manager/testkit/systemkit"
)

// The race of the original report, through the gateway: pay an order's
// payment and delete the order at once, one after the other or both at the
// same time. Either the delete finds the order paid (409) and it stays
// paid, or the order is deleted and its payment voided, or refunded if it
// was paid meanwhile; a voided or refunded payment cannot be paid. At rest
// the two databases agree on every one of these orders.
func TestPayAndDeleteAtOnce(t *testing.T) {
	s := systemkit.New(t)
	var ids []int64
	for round := range 6 {
		_, id, o := completedOrder(t, s)
		ids = append(ids, id)
		path := o.PaymentLink[strings.Index(o.PaymentLink, "/payments/"):]
		var payStatus, delStatus int
		pay := func() { payStatus = s.Payments.Do(t, "POST", path, card).Status }
		del := func() { delStatus = s.Store.Do(t, "DELETE", fmt.Sprintf("/orders/%d", id), nil).Status }
		if round%2 == 0 {
			pay()
			del()
		} else {
			var wg sync.WaitGroup
			wg.Add(2)
			go func() { defer wg.Done(); pay() }()
			go func() { defer wg.Done(); del() }()
			wg.Wait()
		}
		if (payStatus != 200 && payStatus != 409) || (delStatus != 202 && delStatus != 409) {
			t.Fatalf("round %d: pay %d, delete %d", round, payStatus, delStatus)
		}
		payment := fmt.Sprintf("/payments/%d", o.PaymentID)
		stacktest.Eventually(t, 20*time.Second, "the order settled", func() bool {
			got, status := s.GetOrder(t, id)
			p := s.Payments.Do(t, "GET", payment, nil)
			switch {
			case status == 404: // deleted: its payment voided, or refunded if it was paid
				return p.Field("is_void") == true || (p.Field("is_refunded") == true && fmt.Sprint(p.Field("refunded_amount")) == "50")
			case status == 200 && delStatus == 409:
				return got.IsPaid && p.Field("is_paid") == true && p.Field("is_refunded") == false
			}
			return false
		})
		if delStatus == 202 {
			if r := s.Payments.Do(t, "POST", path, card); r.Status != 409 {
				t.Fatalf("round %d: paying the deleted order's payment = %d %s, want 409", round, r.Status, r.Raw)
			}
		}
	}
	st := stacktest.Stack(t)
	found, err := reconcile.Reconcile(context.Background(), paymentsdb.New(stacktest.Open(t, st.PaymentsDSN)), storedb.New(stacktest.Open(t, st.StoreDSN)), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range found {
		for _, id := range ids {
			if d.OrderID == id {
				t.Errorf("payments and orders disagree: %s", d)
			}
		}
	}
}
