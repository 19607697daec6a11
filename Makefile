# Store Manager: build, generate, run the native stack, test.
#
#   make run        start the whole system natively, with demo data, and print its URLs
#                   (REPLICAS=N runs N replicas of each service behind the gateway)
#   make test       start the stack if needed, check generated code, run every test
#   make bench      measure the running system against its ceilings on this machine (make run
#                   first); the table lands in .state/bench.md and .state/bench.json
#   make soak       30 minutes of orders at 50/s against the running system (make run first);
#                   reports each service's memory, goroutines, connections and descriptors
#   make generate   regenerate sqlc (and gqlgen) code with the pinned tool versions
#   make graphql-persist QUERY=file.graphql   register a GraphQL query in the allowlist
#   make stop | status | clean

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

SQLC_VERSION := v1.31.1
SCHEMATHESIS_VERSION := 4.32.5
TOOLS        := $(CURDIR)/.tools/bin
STATE        ?= $(CURDIR)/.state
BIN          := $(STATE)/bin
SQLC         := $(TOOLS)/sqlc-$(SQLC_VERSION)
STACK        := stack/stack.sh
GO_TEST_FLAGS ?= -count=1 -p 2 -timeout 20m
VENV         := $(CURDIR)/.tools/venv
SCHEMATHESIS := $(VENV)/.schemathesis-$(SCHEMATHESIS_VERSION)
NEWMAN_VERSION := 6.2.2
NEWMAN       := $(CURDIR)/.tools/newman/.newman-$(NEWMAN_VERSION)

# Local development defaults of the API keys, as the services use them.
EMPLOYEE_API_KEY     ?= local-employee-key
SUPPLIER_API_KEY     ?= local-supplier-key
PAYMENTS_SERVICE_KEY ?= local-service-key
OPERATOR_API_KEY     ?= local-operator-key

export CGO_ENABLED := 1
export STATE

.PHONY: graphql-persist migration sql-vet run test test-instance test-clean test-cluster test-cluster-clean bench soak test-unit newman api-conformance api-conformance-run alerts-check generate check-generated tools stack apps gateway supervisor stop status clean build migrate connectors seed

run: build stack migrate connectors seed apps gateway supervisor
	@echo
	@echo "Store Manager is running; every client goes through the gateway:"
	@$(BIN)/storectl instance urls
	@echo "  replicas       $$(cat $(STATE)/run/replicas) of each service (make run REPLICAS=N; storectl instance addr SERVICE K says where replica K listens)"
	@echo "  Kafka          $$(cut -d" " -f1 $(STATE)/run/cluster) node(s), $$(cut -d" " -f2 $(STATE)/run/cluster) Connect worker(s) (make run KAFKA_NODES=3 CONNECT_WORKERS=2: a replicated cluster; change the node count after make clean)"
	@echo "API keys (LOCAL DEVELOPMENT DEFAULTS; set the variables to real secrets anywhere else):"
	@echo "  X-Employee-Key: $(EMPLOYEE_API_KEY)     (EMPLOYEE_API_KEY: employees' routes: every write, users, orders, reports)"
	@echo "  X-Supplier-Key: $(SUPPLIER_API_KEY)     (SUPPLIER_API_KEY: GraphQL restocks, their history and stock streams)"
	@echo "  X-Service-Key:  $(PAYMENTS_SERVICE_KEY)      (PAYMENTS_SERVICE_KEY: POST /payments, trusted services only)"
	@echo "  operator key:   $(OPERATOR_API_KEY)     (OPERATOR_API_KEY: the console at /ops, as X-Operator-Key or the password)"
	@echo "Stop it with: make stop"

# make test runs its own instance of the whole system beside the one make run
# serves: MariaDB, Redis, Kafka, Kafka Connect, Prometheus, the services, the
# gateway and the supervisor on ports of their own, with their state in
# .state/test; databases, topics, consumer groups, connectors and read-model keys
# in the "test" namespace. Its tests kill and rewrite its own infrastructure only.
# Where an instance listens is written once, in Go (config.Instance):
# INSTANCE_ENV sets STACK_NAMESPACE's from storectl, TEST_ENV make test's.
INSTANCE_ENV = instance_env=$$($(BIN)/storectl instance env) && eval "$$instance_env" &&
TEST_ENV = export STACK_NAMESPACE=test && $(INSTANCE_ENV)

# The unit tests first (they need nothing running), then the stack. Package tests
# own their data (scratch databases); the API tests (api/e2e) run against the test
# instance through its gateway; the system tests (systemtest) stop, kill and
# restart its parts, so they run last.
# Pass or fail, the test instance is then taken down (test-clean): nothing of it
# keeps running, and its connectors no longer stream the binlog on the worker.
# Then the cluster tests run on an instance of their own (test-cluster), taken
# down the same way.
test: tools $(NEWMAN) check-generated
	$(MAKE) --no-print-directory test-unit
	$(MAKE) --no-print-directory build
	@status=0; $(MAKE) --no-print-directory test-instance || status=$$?; \
	  $(MAKE) --no-print-directory test-clean || true; \
	  $(MAKE) --no-print-directory test-cluster || status=$$?; \
	  $(MAKE) --no-print-directory test-cluster-clean || true; exit $$status

test-instance:
	$(TEST_ENV) $(STACK) start
	$(TEST_ENV) $(BIN)/storectl migrate up
	$(TEST_ENV) $(MAKE) --no-print-directory sql-vet
	$(TEST_ENV) $(BIN)/storectl connectors register
	$(TEST_ENV) $(STACK) apps
	$(TEST_ENV) $(STACK) gateway
	$(TEST_ENV) $(STACK) supervisor
	go vet ./...
	$(MAKE) --no-print-directory alerts-check
	$(TEST_ENV) go test $(GO_TEST_FLAGS) $$(go list ./... | grep -v -e /api/e2e -e /systemtest)
	$(TEST_ENV) $(MAKE) --no-print-directory api-conformance
	$(TEST_ENV) go test $(GO_TEST_FLAGS) ./api/e2e
	$(TEST_ENV) go test $(GO_TEST_FLAGS) ./systemtest

# The test instance's supervisor first (it would restart what is taken down), then
# its connectors, then everything else of it. Its data stays in .state/test for the
# next run; make run's instance is never touched.
test-clean:
	$(TEST_ENV) $(STACK) stop supervisor
	$(TEST_ENV) $(BIN)/storectl connectors delete
	$(TEST_ENV) $(STACK) stop

# The cluster tests (systemtest/cluster_test.go) on the "cluster" instance: three
# Kafka nodes and two Connect workers of its own, with the services, gateway and
# supervisor; they kill and restart its members under a stream of orders.
CLUSTER_ENV = export STACK_NAMESPACE=cluster KAFKA_NODES=3 CONNECT_WORKERS=2 && $(INSTANCE_ENV)
test-cluster: build
	$(CLUSTER_ENV) $(STACK) start
	$(CLUSTER_ENV) $(BIN)/storectl migrate up
	$(CLUSTER_ENV) $(BIN)/storectl connectors register
	$(CLUSTER_ENV) $(STACK) apps
	$(CLUSTER_ENV) $(STACK) gateway
	$(CLUSTER_ENV) $(STACK) supervisor
	$(CLUSTER_ENV) go test $(GO_TEST_FLAGS) -run '^TestCluster' ./systemtest

test-cluster-clean:
	$(CLUSTER_ENV) $(STACK) stop supervisor
	$(CLUSTER_ENV) $(BIN)/storectl connectors delete
	$(CLUSTER_ENV) $(STACK) stop

# Not part of make test: the default instance under load, figure by figure beside
# the ceilings measured in the same run (reads, writes, sagas at fixed rates, CPU and
# MariaDB work per saga, memory). Timing is reported, never asserted.
bench: build
	go test -tags bench -count=1 -v -timeout 1h -run TestBench ./systemtest

# Not part of make test: half an hour of load on the default instance. The
# table lands in .state/soak.md. SOAK_DURATION and SOAK_RATE change the run.
soak: build
	go test -tags soak -count=1 -v -timeout 2h -run TestSoak ./systemtest

# Prometheus's configuration and alert rules, with a unit test for every alert.
alerts-check: build
	$(STACK) conf prometheus.yml > $(STATE)/prometheus-check.yml
	promtool check config $(STATE)/prometheus-check.yml
	promtool test rules stack/prometheus/alerts_test.yml

# Schemathesis (pinned, in a git-ignored virtual environment) against both
# OpenAPI documents, directly and through the gateway: every check, every
# phase, a bounded number of examples (api/schemathesis.toml).
# STORE_URL, PAYMENTS_URL and GATEWAY_URL say which instance (make test sets its own).
ST := $(VENV)/bin/schemathesis --config-file api/schemathesis.toml run --no-color
api-conformance: $(SCHEMATHESIS) build
	$(INSTANCE_ENV) $(MAKE) --no-print-directory api-conformance-run
api-conformance-run:
	$(ST) $(STORE_URL)/openapi.json --url $(STORE_URL) \
	  -H "X-Employee-Key: $(EMPLOYEE_API_KEY)" -H "X-Supplier-Key: $(SUPPLIER_API_KEY)"
	$(ST) $(PAYMENTS_URL)/openapi.json --url $(PAYMENTS_URL) -H "X-Service-Key: $(PAYMENTS_SERVICE_KEY)"
	$(ST) $(GATEWAY_URL)/openapi.json --url $(GATEWAY_URL) --exclude-path /ready \
	  -H "X-Employee-Key: $(EMPLOYEE_API_KEY)" -H "X-Supplier-Key: $(SUPPLIER_API_KEY)"
	$(ST) $(GATEWAY_URL)/payments/openapi.json --url $(GATEWAY_URL) -H "X-Service-Key: $(PAYMENTS_SERVICE_KEY)" \
	  --exclude-path / --exclude-path /health-check --exclude-path /ready --exclude-path /openapi.json

$(SCHEMATHESIS):
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check schemathesis==$(SCHEMATHESIS_VERSION)
	touch $@

# newman (pinned, in a git-ignored folder) runs the original's Postman collection in the e2e suite.
newman: $(NEWMAN)
$(NEWMAN):
	npm install --silent --no-audit --no-fund --prefix $(CURDIR)/.tools/newman newman@$(NEWMAN_VERSION)
	touch $@

# Unit tests only: no stack needed.
test-unit:
	go test -short -count=1 ./...

tools: $(SQLC)

$(SQLC):
	@mkdir -p $(TOOLS)
	GOBIN=$(TOOLS)/.sqlc go install github.com/sqlc-dev/sqlc/cmd/sqlc@$(SQLC_VERSION)
	mv $(TOOLS)/.sqlc/sqlc $@ && rmdir $(TOOLS)/.sqlc

# sqlc vet against the instance's migrated databases (STORE_DB_DSN, PAYMENTS_DB_DSN;
# make test passes its own): every query prepares against the real schema (sqlc/db-prepare).
sql-vet: tools build
	$(INSTANCE_ENV) SQLC_STORE_DSN="$$STORE_DB_DSN" SQLC_PAYMENTS_DSN="$$PAYMENTS_DB_DSN" $(SQLC) vet

# Registers GraphQL queries in the allowlist committed with the schema (GRAPHQL_QUERIES=allowlist):
# make graphql-persist QUERY=path/to/Operation.graphql
graphql-persist:
	@test -n "$(QUERY)" || { echo "name the query's file: make graphql-persist QUERY=path/to/Operation.graphql" >&2; exit 2; }
	go run ./cmd/persistquery $(QUERY)

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

stack: build
	$(STACK) start

migrate: build
	$(BIN)/storectl migrate up

# Starts a schema change: make migration SERVICE=store NAME=add_order_note writes
# the next numbered up/down pair in sql/store (docs/schema-changes.md).
migration: build
	@[ -n "$(SERVICE)" ] && [ -n "$(NAME)" ] || { echo "usage: make migration SERVICE=store|payments NAME=add_order_note" >&2; exit 2; }
	$(BIN)/storectl migration new $(SERVICE) $(NAME)

connectors: build
	$(BIN)/storectl connectors register

seed: build
	$(BIN)/storectl seed

apps: build
	$(STACK) apps

gateway: build
	$(STACK) gateway

supervisor: build
	$(STACK) supervisor

# The instances the stack can run beside make run's (make test's), each on its own.
INSTANCES = $$([ -x $(BIN)/storectl ] && $(BIN)/storectl instance names)

stop:
	@$(STACK) stop; for ns in $(INSTANCES); do STACK_NAMESPACE=$$ns $(STACK) stop; done

status:
	@echo "== the default instance"; $(STACK) status || true
	@for ns in $(INSTANCES); do echo "== instance $$ns"; STACK_NAMESPACE=$$ns $(STACK) status || true; done

clean: stop
	rm -rf $(STATE)
