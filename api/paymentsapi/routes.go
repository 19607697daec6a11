// Package paymentsapi is the payments service's REST API: the original's
// routes with thin handlers that return errors, health, readiness and the
// OpenAPI document.
package paymentsapi

import (
	"context"
	_ "embed"
	"encoding/json"
	"net/http"
	"time"

	"github.com/julienschmidt/httprouter"

	"github.com/store-manager/store-manager/api/httpkit"
	"github.com/store-manager/store-manager/services/payments"
)

// OpenAPI is the OpenAPI document of the payments REST API.
//
//go:embed openapi/payments.json
var OpenAPI []byte

// ServiceKeyHeader carries the trusted services' API key.
const ServiceKeyHeader = "X-Service-Key"

// LocalServiceKey is the service key when none is configured: a LOCAL
// DEVELOPMENT DEFAULT for a loopback-only stack, to be replaced by a secret
// anywhere else.
const LocalServiceKey = "local-service-key"

// ServiceKey is the trusted services' key: it guards creating a payment.
func ServiceKey(value string) httpkit.Key {
	return httpkit.Key{Header: ServiceKeyHeader, Value: value, Holder: "service"}
}

// New returns the payments REST API: the original's routes, health,
// readiness and the OpenAPI document. Creating a payment needs the service
// key: the saga creates every order's payment, the route is for trusted services.
func New(svc *payments.Service, checks map[string]httpkit.Check, service httpkit.Key) *httpkit.API {
	h := paymentHandlers{svc: svc}
	return httpkit.New([]httpkit.Route{
		{Method: "GET", Path: "/", Handler: h.root},
		{Method: "GET", Path: "/health-check", Handler: httpkit.Health},
		{Method: "GET", Path: "/ready", Handler: httpkit.Readiness(checks)},
		{Method: "GET", Path: "/openapi.json", Handler: httpkit.Document(OpenAPI)},
		{Method: "POST", Path: "/payments", Handler: service.Guard(httpkit.Create("payment_id", h.create))},
		{Method: "GET", Path: "/payments/{payment_id}", Handler: httpkit.GetByID("payment_id", svc.Payment, newPaymentResponse)},
		{Method: "POST", Path: "/payments/process/{payment_id}", Handler: h.process},
	})
}

type paymentHandlers struct{ svc *payments.Service }

func (paymentHandlers) root(w http.ResponseWriter, _ *http.Request, _ httprouter.Params) error {
	httpkit.WriteJSON(w, http.StatusOK, map[string]string{"service": "PaymentMicroservice", "status": "running"})
	return nil
}

type newPayment struct {
	UserID      *int64          `json:"user_id" required:"true"`
	OrderID     *int64          `json:"order_id" required:"true"`
	TotalAmount *httpkit.Number `json:"total_amount" required:"true"`
}

func (h paymentHandlers) create(ctx context.Context, req newPayment) (int64, error) {
	return h.svc.CreatePayment(ctx, *req.UserID, *req.OrderID, req.TotalAmount.String())
}

type paymentResponse struct {
	ID          int64        `json:"id"`
	OrderID     int64        `json:"order_id"`
	UserID      int64        `json:"user_id"`
	TotalAmount json.Number  `json:"total_amount"`
	IsPaid      bool         `json:"is_paid"`
	IsVoid      bool         `json:"is_void"`
	IsRefunded  bool         `json:"is_refunded"`
	RefundedAt  *time.Time   `json:"refunded_at"`
	Refunded    *json.Number `json:"refunded_amount"`
}

func newPaymentResponse(p payments.Payment) any {
	out := paymentResponse{ID: p.ID, OrderID: p.OrderID, UserID: p.UserID, TotalAmount: json.Number(p.TotalAmount), IsPaid: p.IsPaid, IsVoid: p.IsVoid}
	if p.Refund != nil {
		amount := json.Number(p.Refund.Amount)
		out.IsRefunded, out.RefundedAt, out.Refunded = true, &p.Refund.At, &amount
	}
	return out
}

func (h paymentHandlers) process(w http.ResponseWriter, r *http.Request, ps httprouter.Params) error {
	id, err := httpkit.PathID(ps, "payment_id")
	if err != nil {
		return err
	}
	var req struct {
		CardNumber     *string `json:"cardNumber" required:"true"`
		CardCode       *string `json:"cardCode" required:"true"`
		ExpirationDate *string `json:"expirationDate" required:"true"`
	}
	if err := httpkit.Decode(w, r, &req); err != nil {
		return err
	}
	p, err := h.svc.Process(r.Context(), id, payments.Card{Number: *req.CardNumber, Code: *req.CardCode, Expiration: *req.ExpirationDate})
	if err != nil {
		return err
	}
	httpkit.WriteJSON(w, http.StatusOK, map[string]any{"order_id": p.OrderID, "payment_id": p.ID, "is_paid": p.IsPaid})
	return nil
}
