package rest

import (
	_ "embed"
	"encoding/json"
	"net/http"

	"github.com/julienschmidt/httprouter"

	"github.com/store-manager/store-manager/services/payments"
)

//go:embed openapi/payments.json
var paymentsOpenAPI []byte

// PaymentsOpenAPI is the OpenAPI document of the payments REST API.
func PaymentsOpenAPI() []byte { return paymentsOpenAPI }

// NewPayments returns the payments REST API: the original's routes, health,
// readiness and the OpenAPI document. Creating a payment needs the service
// key: the saga creates every order's payment, the route is for trusted services.
func NewPayments(svc *payments.Service, checks map[string]Check, service Key) *API {
	h := paymentHandlers{svc: svc}
	return newAPI([]Route{
		{"GET", "/", h.root},
		{"GET", "/health-check", healthCheck},
		{"GET", "/ready", readiness(checks)},
		{"GET", "/openapi.json", serveDocument(paymentsOpenAPI)},
		{"POST", "/payments", service.Guard(h.create)},
		{"GET", "/payments/{payment_id}", h.get},
		{"POST", "/payments/process/{payment_id}", h.process},
	})
}

type paymentHandlers struct{ svc *payments.Service }

func (paymentHandlers) root(w http.ResponseWriter, _ *http.Request, _ httprouter.Params) {
	writeJSON(w, http.StatusOK, map[string]string{"service": "PaymentMicroservice", "status": "running"})
}

func (h paymentHandlers) create(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	var req struct {
		UserID      *int64       `json:"user_id"`
		OrderID     *int64       `json:"order_id"`
		TotalAmount *json.Number `json:"total_amount"`
	}
	if err := decode(w, r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	if err := requireAll(field{"user_id", req.UserID != nil}, field{"order_id", req.OrderID != nil},
		field{"total_amount", req.TotalAmount != nil}); err != nil {
		writeError(w, r, err)
		return
	}
	id, err := h.svc.CreatePayment(r.Context(), *req.UserID, *req.OrderID, req.TotalAmount.String())
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]int64{"payment_id": id})
}

type paymentResponse struct {
	ID          int64       `json:"id"`
	OrderID     int64       `json:"order_id"`
	UserID      int64       `json:"user_id"`
	TotalAmount json.Number `json:"total_amount"`
	IsPaid      bool        `json:"is_paid"`
	IsVoid      bool        `json:"is_void"`
}

func (h paymentHandlers) get(w http.ResponseWriter, r *http.Request, ps httprouter.Params) {
	id, err := pathID(ps, "payment_id")
	if err != nil {
		writeError(w, r, err)
		return
	}
	p, err := h.svc.Payment(r.Context(), id)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, paymentResponse{ID: p.ID, OrderID: p.OrderID, UserID: p.UserID, TotalAmount: json.Number(p.TotalAmount), IsPaid: p.IsPaid, IsVoid: p.IsVoid})
}

func (h paymentHandlers) process(w http.ResponseWriter, r *http.Request, ps httprouter.Params) {
	id, err := pathID(ps, "payment_id")
	if err != nil {
		writeError(w, r, err)
		return
	}
	var req struct {
		CardNumber     *string `json:"cardNumber"`
		CardCode       *string `json:"cardCode"`
		ExpirationDate *string `json:"expirationDate"`
	}
	if err := decode(w, r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	if err := requireAll(field{"cardNumber", req.CardNumber != nil}, field{"cardCode", req.CardCode != nil},
		field{"expirationDate", req.ExpirationDate != nil}); err != nil {
		writeError(w, r, err)
		return
	}
	p, err := h.svc.Process(r.Context(), id, payments.Card{Number: *req.CardNumber, Code: *req.CardCode, Expiration: *req.ExpirationDate})
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"order_id": p.OrderID, "payment_id": p.ID, "is_paid": p.IsPaid})
}
