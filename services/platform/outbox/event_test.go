package outbox_test

import (
	"encoding/json"
	"testing"

	"github.com/store-manager/store-manager/services/platform/outbox"
)

func TestNew(t *testing.T) {
	cases := []struct {
		name    string
		payload any
		want    string
		wantErr bool
	}{
		{"object", map[string]int{"quantity": 3}, `{"quantity":3}`, false},
		{"struct", struct {
			OrderID int64 `json:"order_id"`
		}{7}, `{"order_id":7}`, false},
		{"unmarshalable", make(chan int), "", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e, err := outbox.New("orders", "7", "OrderCreated", tc.payload)
			if tc.wantErr {
				if err == nil {
					t.Fatal("accepted")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(e.Payload) != tc.want || !json.Valid(e.Payload) {
				t.Errorf("payload = %s, want %s", e.Payload, tc.want)
			}
			if len(e.ID) != 36 || e.AggregateType != "orders" || e.AggregateID != "7" || e.Type != "OrderCreated" {
				t.Errorf("event = %+v", e)
			}
		})
	}
	a, _ := outbox.New("a", "1", "T", 1)
	b, _ := outbox.New("a", "1", "T", 1)
	if a.ID == b.ID {
		t.Error("two events share an id")
	}
}
