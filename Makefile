# Store Manager: build, generate, run the native stack, test.
#
#   make run        start the whole system natively, with demo data, and print its URLs
#   make test       start the stack if needed, check generated code, run every test
#   make generate   regenerate sqlc (and gqlgen) code with the pinned tool versions
#   make stop | status | clean

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

SQLC_VERSION := v1.31.1
SCHEMATHESIS_VERSION := 4.32.5
TOOLS        := $(CURDIR)/.tools/bin
BIN          := $(CURDIR)/.state/bin
SQLC         := $(TOOLS)/sqlc-$(SQLC_VERSION)
STACK        := stack/stack.sh
GO_TEST_FLAGS ?= -count=1 -p 2 -timeout 20m
VENV         := $(CURDIR)/.tools/venv
SCHEMATHESIS := $(VENV)/.schemathesis-$(SCHEMATHESIS_VERSION)

# Local development defaults of the API keys, as the services use them.
EMPLOYEE_API_KEY     ?= local-employee-key
SUPPLIER_API_KEY     ?= local-supplier-key
PAYMENTS_SERVICE_KEY ?= local-service-key

export CGO_ENABLED := 1

.PHONY: run test test-unit api-conformance generate check-generated tools stack apps gateway stop status clean build migrate connectors seed

run: stack build migrate connectors seed apps gateway
	@echo
	@echo "Store Manager is running; every client goes through the gateway:"
	@echo "  gateway        http://127.0.0.1:8080 (routes and limits from krakend/krakend.json)"
	@echo "  MariaDB        127.0.0.1:3306 (databases store, payments)"
	@echo "  Redis          127.0.0.1:6379"
	@echo "  Kafka          127.0.0.1:9092"
	@echo "  Kafka Connect  http://127.0.0.1:8083/connectors"
	@echo "  store-manager  http://127.0.0.1:5000 (REST; GraphQL at /graphql; OpenAPI at /openapi.json)"
	@echo "  payments       http://127.0.0.1:5009"
	@echo "API keys (LOCAL DEVELOPMENT DEFAULTS; set the variables to real secrets anywhere else):"
	@echo "  X-Employee-Key: $(EMPLOYEE_API_KEY)     (EMPLOYEE_API_KEY: PUT /orders, payment state)"
	@echo "  X-Supplier-Key: $(SUPPLIER_API_KEY)     (SUPPLIER_API_KEY: the GraphQL restock mutation)"
	@echo "  X-Service-Key:  $(PAYMENTS_SERVICE_KEY)      (PAYMENTS_SERVICE_KEY: POST /payments, trusted services only)"
	@echo "Stop it with: make stop"

# The end-to-end suite stops and restarts services, so it runs after the rest.
test: tools check-generated stack build migrate connectors apps gateway
	go vet ./...
	go test $(GO_TEST_FLAGS) $$(go list ./... | grep -v /api/e2e)
	$(MAKE) --no-print-directory api-conformance
	go test $(GO_TEST_FLAGS) ./api/e2e

# Schemathesis (pinned, in a git-ignored virtual environment) against both
# OpenAPI documents, directly and through the gateway: every check, every
# phase, a bounded number of examples (api/schemathesis.toml).
ST := $(VENV)/bin/schemathesis --config-file api/schemathesis.toml run --checks all --no-color
api-conformance: $(SCHEMATHESIS)
	$(ST) http://127.0.0.1:5000/openapi.json --url http://127.0.0.1:5000 \
	  -H "X-Employee-Key: $(EMPLOYEE_API_KEY)" -H "X-Supplier-Key: $(SUPPLIER_API_KEY)"
	$(ST) http://127.0.0.1:5009/openapi.json --url http://127.0.0.1:5009 -H "X-Service-Key: $(PAYMENTS_SERVICE_KEY)"
	$(ST) http://127.0.0.1:8080/openapi.json --url http://127.0.0.1:8080 --exclude-path /ready \
	  -H "X-Employee-Key: $(EMPLOYEE_API_KEY)" -H "X-Supplier-Key: $(SUPPLIER_API_KEY)"
	$(ST) http://127.0.0.1:8080/payments/openapi.json --url http://127.0.0.1:8080 -H "X-Service-Key: $(PAYMENTS_SERVICE_KEY)" \
	  --exclude-path / --exclude-path /health-check --exclude-path /ready --exclude-path /openapi.json

$(SCHEMATHESIS):
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check schemathesis==$(SCHEMATHESIS_VERSION)
	touch $@

# Unit tests only: no stack needed.
test-unit:
	go test -short -count=1 ./...

tools: $(SQLC)

$(SQLC):
	@mkdir -p $(TOOLS)
	GOBIN=$(TOOLS)/.sqlc go install github.com/sqlc-dev/sqlc/cmd/sqlc@$(SQLC_VERSION)
	mv $(TOOLS)/.sqlc/sqlc $@ && rmdir $(TOOLS)/.sqlc

generate: tools
	$(SQLC) generate
	cd api/graphql && go tool gqlgen generate

# Fails when db/ no longer matches sql/ and queries/, or api/graphql its schema
# (gqlgen regenerates in place; a difference from what git holds is stale code).
check-generated: tools
	@$(SQLC) diff || { echo "sqlc code is stale: run 'make generate' and commit the result" >&2; exit 1; }
	@cd api/graphql && go tool gqlgen generate
	@git diff --quiet -- api/graphql && [ -z "$$(git status --porcelain -- api/graphql)" ] \
	  || { echo "gqlgen code is stale or uncommitted: run 'make generate' and commit the result" >&2; git status --short -- api/graphql >&2; exit 1; }

build:
	@mkdir -p $(BIN)
	go build -o $(BIN)/ ./cmd/...

stack:
	$(STACK) start

migrate: build
	$(BIN)/storectl migrate up

connectors: build
	$(BIN)/storectl connectors register

seed: build
	$(BIN)/storectl seed

apps: build
	$(STACK) apps

gateway: build
	$(STACK) gateway

stop:
	$(STACK) stop

status:
	@$(STACK) status

clean:
	$(STACK) clean
