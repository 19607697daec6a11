package storeapi

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/julienschmidt/httprouter"

	"github.com/store-manager/store-manager/api/httpkit"
	"github.com/store-manager/store-manager/services/platform/errs"
	"github.com/store-manager/store-manager/services/platform/events"
	"github.com/store-manager/store-manager/services/store"
)

// storeHandlers serve the store-manager routes of the original.
type storeHandlers struct{ svc *store.Service }

// wholeNumber reads a JSON number field that must be an integer; its range
// is the service's rule.
func wholeNumber(field string, n *httpkit.Number) (int64, error) {
	if n == nil {
		return 0, httpkit.Required(field)
	}
	v, err := strconv.ParseInt(n.String(), 10, 64)
	if err != nil {
		return 0, errs.Errorf(errs.Invalid, "%s must be a whole number, written without a fraction or an exponent", field)
	}
	return v, nil
}

type newUser struct {
	Name  *string `json:"name" required:"true"`
	Email *string `json:"email" required:"true"`
}

func (h storeHandlers) createUser(ctx context.Context, req newUser) (int64, error) {
	return h.svc.CreateUser(ctx, *req.Name, *req.Email)
}

type userResponse struct {
	ID    int64  `json:"id"`
	Name  string `json:"name"`
	Email string `json:"email"`
}

func newUserResponse(u store.User) any { return userResponse{ID: u.ID, Name: u.Name, Email: u.Email} }

// deleteByID serves a DELETE route with the original's {"deleted": bool}
// answer: del removes the entity whose id is the path parameter param.
func deleteByID(param string, del func(ctx context.Context, id int64) error) httpkit.Handler {
	return func(w http.ResponseWriter, r *http.Request, ps httprouter.Params) error {
		id, err := httpkit.PathID(ps, param)
		if err == nil {
			err = del(r.Context(), id)
		}
		if err != nil {
			return httpkit.WithFields(err, map[string]any{"deleted": false})
		}
		httpkit.WriteJSON(w, http.StatusOK, map[string]bool{"deleted": true})
		return nil
	}
}

type newProduct struct {
	Name  *string         `json:"name" required:"true"`
	SKU   *string         `json:"sku" required:"true"`
	Price *httpkit.Number `json:"price" required:"true"`
}

func (h storeHandlers) createProduct(ctx context.Context, req newProduct) (int64, error) {
	return h.svc.CreateProduct(ctx, *req.Name, *req.SKU, req.Price.String())
}

type productResponse struct {
	ID    int64       `json:"id"`
	Name  string      `json:"name"`
	SKU   string      `json:"sku"`
	Price json.Number `json:"price"`
}

func newProductResponse(p store.Product) any {
	return productResponse{ID: p.ID, Name: p.Name, SKU: p.SKU, Price: json.Number(p.Price)}
}

type stockResponse struct {
	ProductID int64 `json:"product_id"`
	Quantity  int32 `json:"quantity"`
}

func (h storeHandlers) setStock(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	var req struct {
		ProductID *int64          `json:"product_id" required:"true"`
		Quantity  *httpkit.Number `json:"quantity"`
	}
	if err := httpkit.Decode(w, r, &req); err != nil {
		return err
	}
	qty, err := wholeNumber("quantity", req.Quantity)
	if err != nil {
		return err
	}
	st, err := h.svc.SetStock(r.Context(), *req.ProductID, qty)
	if err != nil {
		return err
	}
	httpkit.WriteJSON(w, http.StatusOK, struct {
		Result string `json:"result"`
		stockResponse
	}{"Stock updated", stockResponse{ProductID: st.ProductID, Quantity: st.Quantity}})
	return nil
}

func newStockResponse(p store.Product) any {
	return stockResponse{ProductID: p.ID, Quantity: p.Quantity}
}

// overviewLine keeps the original report's French keys.
type overviewLine struct {
	Article  string      `json:"Article"`
	SKU      string      `json:"Numéro SKU"`
	Price    json.Number `json:"Prix unitaire"`
	Quantity int64       `json:"Unités en stock"`
}

func (h storeHandlers) stockOverview(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	lines, err := h.svc.StockOverview(r.Context())
	if err != nil {
		return err
	}
	out := make([]overviewLine, len(lines))
	for i, l := range lines {
		out[i] = overviewLine{Article: l.Name, SKU: l.SKU, Price: json.Number(l.Price), Quantity: l.Quantity}
	}
	httpkit.WriteJSON(w, http.StatusOK, out)
	return nil
}

type newOrder struct {
	UserID *int64 `json:"user_id" required:"true"`
	Items  *[]struct {
		ProductID *int64          `json:"product_id"`
		Quantity  *httpkit.Number `json:"quantity"`
	} `json:"items" required:"true"`
}

func (h storeHandlers) createOrder(ctx context.Context, req newOrder) (int64, error) {
	items := make([]store.Item, len(*req.Items))
	for i, it := range *req.Items {
		if it.ProductID == nil {
			return 0, httpkit.Required("items[" + strconv.Itoa(i) + "].product_id")
		}
		qty, err := wholeNumber("items["+strconv.Itoa(i)+"].quantity", it.Quantity)
		if err != nil {
			return 0, err
		}
		items[i] = store.Item{ProductID: *it.ProductID, Quantity: qty}
	}
	return h.svc.CreateOrder(ctx, *req.UserID, items)
}

type orderItemResponse struct {
	ProductID int64       `json:"product_id"`
	Quantity  int32       `json:"quantity"`
	UnitPrice json.Number `json:"unit_price"`
}

type orderStepResponse struct {
	Event  string    `json:"event"`
	Status string    `json:"status"`
	Detail string    `json:"detail,omitempty"`
	At     time.Time `json:"at"`
}

type orderResponse struct {
	ID            int64               `json:"id"`
	UserID        int64               `json:"user_id"`
	TotalAmount   json.Number         `json:"total_amount"`
	Items         []orderItemResponse `json:"items"`
	Status        string              `json:"status"`
	PaymentID     *int64              `json:"payment_id"`
	PaymentLink   *string             `json:"payment_link"`
	IsPaid        bool                `json:"is_paid"`
	FailureReason *string             `json:"failure_reason"`
	TraceID       string              `json:"trace_id,omitempty"`
	Steps         []orderStepResponse `json:"steps"`
	CreatedAt     time.Time           `json:"created_at"`
	UpdatedAt     time.Time           `json:"updated_at"`
}

func newOrderResponse(o events.Order) any {
	out := orderResponse{
		ID: o.ID, UserID: o.UserID, TotalAmount: json.Number(o.TotalAmount), Status: o.Status,
		PaymentID: o.PaymentID, PaymentLink: o.PaymentLink, IsPaid: o.IsPaid, FailureReason: o.FailureReason,
		TraceID: o.TraceID, CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt,
		Items: make([]orderItemResponse, len(o.Items)), Steps: make([]orderStepResponse, len(o.Steps)),
	}
	for i, it := range o.Items {
		out.Items[i] = orderItemResponse{ProductID: it.ProductID, Quantity: it.Quantity, UnitPrice: json.Number(it.UnitPrice)}
	}
	for i, st := range o.Steps {
		out.Steps[i] = orderStepResponse{Event: st.Event, Status: st.Status, Detail: st.Detail, At: st.At}
	}
	return out
}

// deleteOrder answers the original's {"deleted": true} when the order is
// gone, and 202 with the order as it now is (Deleting) when its removal
// waits for the payments service to void or refund its payment.
func (h storeHandlers) deleteOrder(w http.ResponseWriter, r *http.Request, ps httprouter.Params) error {
	id, err := httpkit.PathID(ps, "order_id")
	var pending events.Order
	done := false
	if err == nil {
		pending, done, err = h.svc.DeleteOrder(r.Context(), id)
	}
	switch {
	case err != nil:
		return httpkit.WithFields(err, map[string]any{"deleted": false})
	case done:
		httpkit.WriteJSON(w, http.StatusOK, map[string]bool{"deleted": true})
	default:
		httpkit.WriteJSON(w, http.StatusAccepted, newOrderResponse(pending))
	}
	return nil
}

func (h storeHandlers) updateOrder(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	var req struct {
		OrderID     *int64         `json:"order_id" required:"true"`
		IsPaid      *bool          `json:"is_paid" required:"true"`
		PaymentLink jsontext.Value `json:"payment_link"` // absent, or a string: null is refused
	}
	if err := httpkit.Decode(w, r, &req); err != nil {
		return err
	}
	var link *string
	switch {
	case req.PaymentLink == nil:
	case req.PaymentLink.Kind() == '"':
		s := ""
		if err := jsonv2.Unmarshal(req.PaymentLink, &s); err != nil {
			return errs.Errorf(errs.BadRequest, "field payment_link must be a string")
		}
		link = &s
	case req.PaymentLink.Kind() == 'n':
		return errs.Errorf(errs.Invalid, "payment_link cannot be null: leave it out to keep the order's link")
	default:
		return errs.Errorf(errs.BadRequest, "field payment_link must be a string")
	}
	if err := h.svc.UpdateOrder(r.Context(), *req.OrderID, *req.IsPaid, link); err != nil {
		return httpkit.WithFields(err, map[string]any{"updated": false})
	}
	httpkit.WriteJSON(w, http.StatusOK, map[string]bool{"updated": true})
	return nil
}

func (h storeHandlers) highestSpenders(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	rows, err := h.svc.HighestSpenders(r.Context(), 10)
	if err != nil {
		return err
	}
	type line struct {
		UserID       int64       `json:"user_id"`
		Name         string      `json:"name"`
		TotalExpense json.Number `json:"total_expense"`
	}
	out := make([]line, len(rows))
	for i, s := range rows {
		out[i] = line{UserID: s.UserID, Name: s.Name, TotalExpense: json.Number(s.TotalExpense)}
	}
	httpkit.WriteJSON(w, http.StatusOK, out)
	return nil
}

func (h storeHandlers) bestSellers(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	rows, err := h.svc.BestSellers(r.Context(), 10)
	if err != nil {
		return err
	}
	type line struct {
		ProductID    int64  `json:"product_id"`
		Name         string `json:"name"`
		QuantitySold int64  `json:"quantity_sold"`
	}
	out := make([]line, len(rows))
	for i, s := range rows {
		out[i] = line{ProductID: s.ProductID, Name: s.Name, QuantitySold: s.QuantitySold}
	}
	httpkit.WriteJSON(w, http.StatusOK, out)
	return nil
}
