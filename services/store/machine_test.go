package store

import (
	"testing"

	"github.com/store-manager/store-manager/services/platform/events"
)

// Every state × every input: where the order goes and what announces it.
// Any pair not listed leaves the order as it is.
func TestSagaStateMachine(t *testing.T) {
	states := []string{StatusCreated, StatusStockDecreased, StatusStockDecreaseFailed, StatusPaymentCreationFailed,
		StatusStockIncreased, StatusCompleted, StatusCancelled, StatusNeedsAttention}
	inputs := []string{inputStockTaken, inputStockShort, events.StockDecreaseFailed, events.PaymentCreated,
		events.PaymentCreationFailed, events.StockIncreased, events.PaymentProcessed, events.OrderCreationFailed, inputDeadLetter,
		inputDeadline}
	want := map[[2]string]transition{
		{StatusCreated, inputStockTaken}:                        {StatusStockDecreased, events.StockDecreased},
		{StatusCreated, inputStockShort}:                        {StatusStockDecreaseFailed, events.StockDecreaseFailed},
		{StatusStockDecreaseFailed, events.StockDecreaseFailed}: {StatusCancelled, events.OrderCancelled},
		{StatusStockDecreased, events.PaymentCreated}:           {StatusCompleted, events.SagaCompleted},
		{StatusStockDecreased, events.PaymentCreationFailed}:    {StatusStockIncreased, events.StockIncreased},
		{StatusStockIncreased, events.StockIncreased}:           {StatusCancelled, events.OrderCancelled},
		{StatusCompleted, events.PaymentProcessed}:              {StatusCompleted, events.OrderPaid},
	}
	for _, s := range states {
		want[[2]string{s, events.OrderCreationFailed}] = transition{s, events.SagaCompleted}
		want[[2]string{s, inputDeadLetter}] = transition{StatusNeedsAttention, events.OrderNeedsAttention}
		if s != StatusCompleted && s != StatusCancelled && s != StatusNeedsAttention {
			want[[2]string{s, inputDeadline}] = transition{StatusCancelled, events.OrderCancelled}
		}
	}
	for _, state := range states {
		for _, input := range inputs {
			got, ok := move(state, input)
			w, wantOK := want[[2]string{state, input}]
			if ok != wantOK || got != w {
				t.Errorf("%s on %s = %+v %t; want %+v %t", state, input, got, ok, w, wantOK)
			}
		}
	}
}
