package paymentsapi_test

import (
	"testing"

	"github.com/store-manager/store-manager/api/paymentsapi"
	"github.com/store-manager/store-manager/testkit/apitest"
)

func TestOpenAPIMatchesRouter(t *testing.T) {
	apitest.DocumentMatchesRoutes(t, paymentsapi.New(nil, nil, paymentsapi.ServiceKey("")), paymentsapi.OpenAPI)
}
