#!/usr/bin/env bash
# The native stack: MariaDB, Redis, a Kafka broker (KRaft) and a Kafka Connect
# worker with Debezium, Prometheus and the exporters, Zipkin (traces), the services, the gateway and
# the connector supervisor, all on loopback, with data and logs under one state folder.
#
#   stack/stack.sh install   install what is missing (Debian packages, Maven jars)
#   stack/stack.sh start     install, then start every component and wait for it; Kafka's own
#                            tools (kafka-topics, kafka-consumer-groups, ...) land in the instance's bin/
#   stack/stack.sh apps      (re)start store-manager and payments from the state folder's bin/
#   stack/stack.sh app NAME  start the replicas of one service (store-manager or payments) that do not run
#   stack/stack.sh gateway   render nginx from krakend/krakend.json and (re)start it where the instance's gateway listens
#   stack/stack.sh supervisor  (re)start the connector supervisor (storectl supervise)
#   stack/stack.sh restart NAME  stop, then start again, one component (the supervisor restarts connect;
#                            a worker started in the last RESTART_GRACE seconds, 60, is left alone)
#   stack/stack.sh stop [NAME...]  stop every component of the instance, or the named ones
#   stack/stack.sh status    show what runs
#   stack/stack.sh clean     stop, then remove the instance's data
#   stack/stack.sh conf FILE print one of stack/conf's files as the instance uses it
#
# Environment: STATE (default: .state beside this folder), START_TIMEOUT seconds (default 120).
# STACK_NAMESPACE names an instance of the whole system beside the default one (make test
# runs "test"): its infrastructure, services, gateway and supervisor run on ports of their
# own, with their data, logs and pid files in a state folder of their own (STATE/test), so
# nothing one instance does disturbs the other. Where an instance listens and what its
# processes are called is written once, in Go (config.Instance), and read here through
# `storectl instance`: every command but install needs `make build` first.
# REPLICAS (1 to 5) is how many replicas of each service `apps` runs; later commands keep
# the instance's last choice. KAFKA_NODES (1, 3 or 5) and CONNECT_WORKERS (1 to 3) size the
# instance's Kafka and Kafka Connect clusters the same way: `start` remembers them (run/cluster);
# changing the number of Kafka nodes needs the instance's data cleaned first. Each replica listens on its own port (`storectl instance addr`)
# and its pid and log files end in -K; the gateway balances between them.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export STATE=${STATE:-$ROOT/.state} # the stack's folder: binaries, jars, and each instance's state
START_TIMEOUT=${START_TIMEOUT:-120}
CONF=$ROOT/stack/conf
LIB=$STATE/lib
BIN=$STATE/bin
JAVA_OPTS_COMMON="-XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true"

log() { printf '[stack] %s\n' "$*" >&2; }
die() { printf '[stack] error: %s\n' "$*" >&2; exit 1; }

# fail NAME LOGFILE: names the component that did not come up and shows its log's end.
fail() {
  printf '[stack] error: %s did not become ready within %ss\n' "$1" "$START_TIMEOUT" >&2
  if [ -f "$2" ]; then printf '[stack] last lines of %s:\n' "$2" >&2; tail -n 40 "$2" >&2; fi
  exit 1
}

# conf FILE: stack/conf/FILE for this instance: its state folder, the jars, its ports and its
# cluster's settings filled in (a node's own, when the caller sets them).
conf() {
  local script="s|@STATE@|$ISTATE|g; s|@ROOT@|$ROOT|g; s|@LIB@|$LIB|g;" v
  for v in $(compgen -v | grep -E '_PORT$|^KAFKA_(NODE_ID|DATA|VOTERS|BROKERS|REPLICATION|MIN_INSYNC|HEARTBEAT_MS|SESSION_MS)$|^CONNECT_REBALANCE_DELAY_MS$'); do
    script+="s|@$v@|${!v}|g;"
  done
  sed "$script" "$CONF/$1"
}
# render FILE [AS]: conf FILE written to the instance's conf/ folder (as AS).
render() { mkdir -p "$ISTATE/conf"; conf "$1" >"$ISTATE/conf/${2:-$1}"; }

# nth LIST K: the Kth word of a space-separated list.
nth() { local a; read -ra a <<<"$1"; echo "${a[$(($2 - 1))]}"; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# alive NAME: its pid file names a live process (a killed one not yet reaped is a zombie, not alive).
alive() {
  [ -f "$RUN/$1.pid" ] || return 1
  local pid; pid=$(cat "$RUN/$1.pid")
  kill -0 "$pid" 2>/dev/null || return 1
  [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ]
}

# all_gone PID...: whether none of the processes runs any more.
all_gone() {
  local pid
  for pid in "$@"; do kill -0 "$pid" 2>/dev/null && return 1; done
  return 0
}

# wait_for NAME LOGFILE CMD...: polls CMD until it succeeds or the timeout passes.
wait_for() {
  local name=$1 logfile=$2; shift 2
  local deadline=$((SECONDS + START_TIMEOUT))
  until "$@"; do
    [ $SECONDS -lt $deadline ] || fail "$name" "$logfile"
    if [ -f "$RUN/$name.pid" ] && ! alive "$name"; then
      printf '[stack] error: %s exited while starting\n' "$name" >&2
      tail -n 40 "$logfile" >&2 || true
      exit 1
    fi
    sleep 0.5
  done
}

install() {
  local missing=()
  command -v mariadbd >/dev/null || missing+=(mariadb-server mariadb-client)
  command -v redis-server >/dev/null || missing+=(redis-server)
  command -v nginx >/dev/null || missing+=(nginx)
  command -v java >/dev/null || missing+=(openjdk-17-jre-headless)
  command -v mvn >/dev/null || missing+=(maven)
  command -v curl >/dev/null || missing+=(curl)
  command -v prometheus >/dev/null || missing+=(prometheus)
  command -v prometheus-mysqld-exporter >/dev/null || missing+=(prometheus-mysqld-exporter)
  command -v prometheus-redis-exporter >/dev/null || missing+=(prometheus-redis-exporter)
  command -v chromium >/dev/null || missing+=(chromium fonts-liberation) # the operations console's browser test
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    # The packages' own services are not used: the stack runs its own instances.
    for svc in mariadb redis-server nginx prometheus prometheus-mysqld-exporter prometheus-redis-exporter prometheus-node-exporter; do
      { service "$svc" stop || true; } >/dev/null 2>&1
    done
  fi

  local stamp
  stamp="$LIB/.installed-$(sha256sum "$ROOT/stack/pom.xml" | cut -c1-12)"
  if [ ! -f "$stamp" ]; then
    log "resolving Kafka, Kafka Connect and Debezium from Maven Central"
    rm -rf "$LIB"
    mkdir -p "$LIB"
    mvn -B -q -Dstyle.color=never -f "$ROOT/stack/pom.xml" -Dstack.lib="$LIB" \
      dependency:copy-dependencies@kafka dependency:unpack@debezium dependency:copy@jmx dependency:copy@otel dependency:copy@zipkin
    ls "$LIB"/plugins/debezium-connector-mariadb/*.jar >/dev/null || die "Debezium plugin missing after install"
    touch "$stamp"
  fi
}

start_mariadb() {
  if alive mariadb; then return; fi
  render my.cnf
  if [ ! -d "$ISTATE/mariadb/data/mysql" ]; then
    log "initialising MariaDB data folder"
    mkdir -p "$ISTATE/mariadb/data"
    mariadb-install-db --defaults-file="$ISTATE/conf/my.cnf" --auth-root-authentication-method=socket \
      --skip-test-db >"$LOGS/mariadb-install.log" 2>&1 || { tail -n 40 "$LOGS/mariadb-install.log" >&2; die "MariaDB initialisation failed"; }
  fi
  log "starting MariaDB on 127.0.0.1:$MARIADB_PORT"
  nohup mariadbd --defaults-file="$ISTATE/conf/my.cnf" >>"$LOGS/mariadb.log" 2>&1 9>&- &
  echo $! >"$RUN/mariadb.pid"
  wait_for mariadb "$LOGS/mariadb.log" mariadb_ready
}

mariadb_ready() { mariadb-admin --defaults-file="$ISTATE/conf/my.cnf" -uroot ping >/dev/null 2>&1; }

start_redis() {
  if alive redis; then return; fi
  mkdir -p "$ISTATE/redis"
  # Redis writes its own pid file once daemonized: a crashed one's file must not be read as the new one's.
  rm -f "$RUN/redis.pid"
  log "starting Redis on 127.0.0.1:$REDIS_PORT"
  redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --dir "$ISTATE/redis" --daemonize yes 9>&- \
    --pidfile "$RUN/redis.pid" --logfile "$LOGS/redis.log" --appendonly yes --appendfsync everysec --save "" \
    --protected-mode yes
  wait_for redis "$LOGS/redis.log" redis_ready
}
redis_ready() { [ "$(redis-cli -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ]; }

java_cp() { echo "$LIB/kafka/*"; }

# check_cluster: refuses to start a number of Kafka nodes other than the one the instance's
# data was formatted for (KRaft's voters are fixed when the storage is formatted).
check_cluster() {
  local had
  [ -f "$ISTATE/kafka/data/meta.properties" ] || return 0
  had=$(cut -d' ' -f1 "$RUN/cluster" 2>/dev/null || echo 1)
  [ "$had" = "$KAFKA_NODES" ] || die "this instance's Kafka data is for $had node(s), not KAFKA_NODES=$KAFKA_NODES: stop it and remove its data first (make clean, or ${STACK_NAMESPACE:+STACK_NAMESPACE=$STACK_NAMESPACE }stack/stack.sh clean)"
}

# start_kafka: every node of the instance's Kafka at once (a KRaft quorum elects its leader
# only once most of its voters run), then waits until each serves.
start_kafka() {
  local k
  check_cluster
  for k in $(seq 1 "$KAFKA_NODES"); do start_kafka_node "$k"; done
  for k in $(seq 1 "$KAFKA_NODES"); do
    local name; name=$(replica kafka "$k")
    wait_for "$name" "$LOGS/$name.log" kafka_ready "$name" "$(nth "$KAFKA_NODE_PORTS" "$k")"
  done
}

# cluster_id: the one id every node of the instance's Kafka is formatted with.
cluster_id() {
  local f=$ISTATE/kafka/cluster-id
  if [ ! -s "$f" ]; then
    mkdir -p "$ISTATE/kafka"
    if [ -f "$ISTATE/kafka/data/meta.properties" ]; then
      sed -n 's/^cluster.id=//p' "$ISTATE/kafka/data/meta.properties" >"$f"
    else
      java -cp "$(java_cp)" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n1 >"$f"
    fi
  fi
  cat "$f"
}

# start_kafka_node K: node K, with its own ports, data and logs; node 1 keeps the single
# node's names (kafka, .state/kafka/data).
start_kafka_node() {
  local k=$1 name KAFKA_NODE_ID=$1 KAFKA_PORT KAFKA_CONTROLLER_PORT KAFKA_METRICS_PORT KAFKA_DATA
  # A node of a cluster heartbeats often, so a dead one is fenced fast; a lone node has no
  # one to hand its partitions to, and heartbeats at Kafka's default pace (fewer wake-ups).
  local KAFKA_HEARTBEAT_MS=2000 KAFKA_SESSION_MS=9000
  if [ "$KAFKA_NODES" -gt 1 ]; then KAFKA_HEARTBEAT_MS=500 KAFKA_SESSION_MS=3000; fi
  name=$(replica kafka "$k")
  if alive "$name"; then return; fi
  KAFKA_PORT=$(nth "$KAFKA_NODE_PORTS" "$k")
  KAFKA_CONTROLLER_PORT=$(nth "$KAFKA_CONTROLLER_PORTS" "$k")
  KAFKA_METRICS_PORT=$(nth "$KAFKA_METRICS_PORTS" "$k")
  KAFKA_DATA=$ISTATE/$name/data
  render kafka.properties "$name.properties"
  mkdir -p "$KAFKA_DATA"
  if [ ! -f "$KAFKA_DATA/meta.properties" ]; then
    log "formatting the KRaft storage of $name"
    java -cp "$(java_cp)" -Dlog4j.configuration="file:$CONF/log4j.properties" -Dstack.log="$LOGS/kafka-storage.log" \
      kafka.tools.StorageTool format -t "$(cluster_id)" -c "$ISTATE/conf/$name.properties" >>"$LOGS/kafka-storage.log" 2>&1 \
      || { tail -n 40 "$LOGS/kafka-storage.log" >&2; die "Kafka storage format failed"; }
  fi
  log "starting $name on 127.0.0.1:$KAFKA_PORT (metrics on 127.0.0.1:$KAFKA_METRICS_PORT)"
  nohup java -Xms256m "-Xmx$(kafka_heap)" $JAVA_OPTS_COMMON -cp "$(java_cp)" \
    -javaagent:"$LIB/jmx/jmx_prometheus_javaagent.jar=127.0.0.1:$KAFKA_METRICS_PORT:$CONF/jmx-kafka.yml" \
    -Dlog4j.configuration="file:$CONF/log4j.properties" -Dstack.log="$LOGS/$name.log" \
    kafka.Kafka "$ISTATE/conf/$name.properties" >>"$LOGS/$name.out" 2>&1 9>&- &
  echo $! >"$RUN/$name.pid"
}
# kafka_ready NAME PORT: the node serves clients.
kafka_ready() { port_open "$2" && grep -q "Kafka Server started" "$LOGS/$1.log" 2>/dev/null; }

# kafka_heap, connect_heap: a node's and a worker's largest heap: less each when there are more.
kafka_heap() { if [ "$KAFKA_NODES" -gt 1 ]; then echo 384m; else echo 768m; fi; }
connect_heap() { if [ "$CONNECT_WORKERS" -gt 1 ]; then echo 512m; else echo 768m; fi; }

# start_connect: every Connect worker of the instance, one after the other.
start_connect() {
  local k CONNECT_REBALANCE_DELAY_MS=0
  [ "$CONNECT_WORKERS" -gt 1 ] && CONNECT_REBALANCE_DELAY_MS=10000
  for k in $(seq 1 "$CONNECT_WORKERS"); do start_connect_worker "$k"; done
}

# start_connect_worker K: worker K, on its own REST and metrics ports.
start_connect_worker() {
  local k=$1 name CONNECT_PORT CONNECT_METRICS_PORT
  name=$(replica connect "$k")
  if alive "$name"; then return; fi
  CONNECT_PORT=$(nth "$CONNECT_PORTS" "$k")
  CONNECT_METRICS_PORT=$(nth "$CONNECT_METRICS_PORTS" "$k")
  render connect.properties "$name.properties"
  log "starting $name on 127.0.0.1:$CONNECT_PORT (metrics on 127.0.0.1:$CONNECT_METRICS_PORT)"
  nohup java -Xms256m "-Xmx$(connect_heap)" $JAVA_OPTS_COMMON -cp "$(java_cp)" \
    -javaagent:"$LIB/jmx/jmx_prometheus_javaagent.jar=127.0.0.1:$CONNECT_METRICS_PORT:$CONF/jmx-connect.yml" \
    $(connect_tracing) \
    -Dlog4j.configuration="file:$CONF/log4j.properties" -Dstack.log="$LOGS/$name.log" \
    org.apache.kafka.connect.cli.ConnectDistributed "$ISTATE/conf/$name.properties" >>"$LOGS/$name.out" 2>&1 9>&- &
  echo $! >"$RUN/$name.pid"
  wait_for "$name" "$LOGS/$name.log" connect_ready "$CONNECT_PORT"
}
# connect_tracing: the OpenTelemetry agent's settings for a Connect worker. Only the bridge to
# the OpenTelemetry API is on, so Debezium's outbox router writes its spans (a child of the
# span an outbox row stored) and the traceparent header of each message; every automatic
# instrumentation is off (Kafka's would start a new trace on each send). Spans go to the
# instance's Zipkin, and a span whose parent was sampled is sampled.
connect_tracing() {
  printf '%s ' -javaagent:"$LIB/otel/opentelemetry-javaagent.jar" \
    -Dotel.service.name=kafka-connect \
    -Dotel.instrumentation.common.default-enabled=false -Dotel.instrumentation.opentelemetry-api.enabled=true \
    -Dotel.propagators=tracecontext -Dotel.traces.sampler=parentbased_always_off \
    -Dotel.traces.exporter=zipkin -Dotel.exporter.zipkin.endpoint="http://127.0.0.1:$ZIPKIN_PORT/api/v2/spans" \
    -Dotel.metrics.exporter=none -Dotel.logs.exporter=none -Dotel.javaagent.logging=application
}

# connect_ready PORT: the worker answers and has the Debezium plugin.
connect_ready() {
  curl -fsS "http://127.0.0.1:$1/connector-plugins" 2>/dev/null | grep -q MariaDbConnector
}

# cluster_targets: Prometheus's lists of the Kafka nodes and Connect workers.
cluster_targets() {
  local k addrs=()
  for k in $(seq 1 "$KAFKA_NODES"); do addrs+=("127.0.0.1:$(nth "$KAFKA_METRICS_PORTS" "$k")"); done
  target_file kafka "${addrs[@]}"
  addrs=()
  for k in $(seq 1 "$CONNECT_WORKERS"); do addrs+=("127.0.0.1:$(nth "$CONNECT_METRICS_PORTS" "$k")"); done
  target_file connect "${addrs[@]}"
}

# start_daemon NAME PORT CMD...: run CMD in the background as NAME unless it runs, and wait for its port.
start_daemon() {
  local name=$1 port=$2; shift 2
  if alive "$name"; then return; fi
  log "starting $name on 127.0.0.1:$port"
  nohup "$@" >>"$LOGS/$name.log" 2>&1 </dev/null 9>&- &
  echo $! >"$RUN/$name.pid"
  wait_for "$name" "$LOGS/$name.log" port_open "$port"
}

# Prometheus and the exporters of MariaDB and Redis, on loopback.
start_monitoring() {
  render mysqld-exporter.cnf
  chmod 600 "$ISTATE/conf/mysqld-exporter.cnf"
  start_daemon mysqld-exporter "$MYSQLD_EXPORTER_PORT" prometheus-mysqld-exporter \
    --config.my-cnf="$ISTATE/conf/mysqld-exporter.cnf" --web.listen-address="127.0.0.1:$MYSQLD_EXPORTER_PORT"
  start_daemon redis-exporter "$REDIS_EXPORTER_PORT" prometheus-redis-exporter -redis.addr "redis://127.0.0.1:$REDIS_PORT" \
    -web.listen-address "127.0.0.1:$REDIS_EXPORTER_PORT"
  render prometheus.yml
  mkdir -p "$ISTATE/prometheus" "$RUN/targets" # the services' replicas are listed there as they start
  start_daemon prometheus "$PROMETHEUS_PORT" prometheus --config.file="$ISTATE/conf/prometheus.yml" \
    --storage.tsdb.path="$ISTATE/prometheus" --storage.tsdb.retention.time=2d --web.listen-address="127.0.0.1:$PROMETHEUS_PORT"
}

# start_zipkin: the trace backend, Zipkin, on loopback, its spans in memory (the newest
# ZIPKIN_MAX_SPANS, 40000 by default, some 600 orders): traces are for looking at what just
# happened. The heap holds that many with room to spare: a heap full of spans would keep the
# collector busy for nothing.
start_zipkin() {
  if alive zipkin; then return; fi
  log "starting zipkin on 127.0.0.1:$ZIPKIN_PORT"
  STORAGE_TYPE=mem MEM_MAX_SPANS=${ZIPKIN_MAX_SPANS:-40000} QUERY_PORT=$ZIPKIN_PORT \
    nohup java -Xms128m -Xmx384m $JAVA_OPTS_COMMON -jar "$LIB/zipkin/zipkin.jar" \
    --armeria.ports[0].ip=127.0.0.1 --armeria.ports[0].port="$ZIPKIN_PORT" --armeria.ports[0].protocols=http \
    >>"$LOGS/zipkin.log" 2>&1 </dev/null 9>&- &
  echo $! >"$RUN/zipkin.pid"
  wait_for zipkin "$LOGS/zipkin.log" curl -fs -o /dev/null "http://127.0.0.1:$ZIPKIN_PORT/health"
}

# kafka_tools: Kafka's own command-line tools (from the jars install resolved) as commands in
# the instance's bin/, each pointed at the instance's brokers: what every Kafka runbook uses.
kafka_tools() {
  local bin=$ISTATE/bin name class
  mkdir -p "$bin"
  while read -r name class; do
    {
      echo '#!/usr/bin/env bash'
      echo "# $name for ${STACK_NAMESPACE:-the default} instance of the stack: Kafka's own tool, at its brokers."
      echo "exec java -cp \"$LIB/kafka/*\" -Dlog4j.configuration=\"file:$CONF/log4j.properties\" -Dstack.log=\"$LOGS/kafka-tools.log\" \\"
      echo "  $class --bootstrap-server \"$KAFKA_BROKERS\" \"\$@\""
    } >"$bin/$name.tmp"
    chmod +x "$bin/$name.tmp" && mv "$bin/$name.tmp" "$bin/$name"
  done <<'TOOLS'
kafka-topics org.apache.kafka.tools.TopicCommand
kafka-consumer-groups org.apache.kafka.tools.consumer.group.ConsumerGroupCommand
kafka-metadata-quorum org.apache.kafka.tools.MetadataQuorumCommand
kafka-get-offsets org.apache.kafka.tools.GetOffsetShell
kafka-console-consumer org.apache.kafka.tools.consumer.ConsoleConsumer
kafka-console-producer kafka.tools.ConsoleProducer
TOOLS
}

start() {
  install
  mkdir -p "$LOGS" "$RUN" "$ISTATE/conf"
  kafka_tools
  start_mariadb
  # Databases and accounts, every start: an older state folder gets what was added since.
  mariadb --defaults-file="$ISTATE/conf/my.cnf" -uroot <"$CONF/bootstrap.sql"
  # MariaDB names the right to read replica status apart (MySQL, for compose, has no such grant).
  mariadb --defaults-file="$ISTATE/conf/my.cnf" -uroot -e "GRANT SLAVE MONITOR ON *.* TO 'exporter'@'%'"
  start_redis
  start_zipkin # before Connect and the services, which send it their spans
  start_kafka
  start_connect
  echo "$KAFKA_NODES $CONNECT_WORKERS" >"$RUN/cluster"
  start_monitoring
  cluster_targets
  log "ready${STACK_NAMESPACE:+ ($STACK_NAMESPACE)}: MariaDB 127.0.0.1:$MARIADB_PORT, Redis 127.0.0.1:$REDIS_PORT, Kafka $KAFKA_BROKERS ($KAFKA_NODES node(s), $KAFKA_REPLICATION cop(ies) of each topic), Kafka Connect $KAFKA_CONNECT_URL, Prometheus http://127.0.0.1:$PROMETHEUS_PORT, Zipkin http://127.0.0.1:$ZIPKIN_PORT"
}

# storectl: the instance's names and addresses (see config.Instance).
storectl() {
  [ -x "$BIN/storectl" ] || die "$BIN/storectl is missing: run 'make build' first"
  "$BIN/storectl" "$@"
}

# instance NAME: the pid and log name of a component in STACK_NAMESPACE.
instance() { storectl instance process "$1"; }

# instance_env: sets where this instance's parts listen (MARIADB_PORT, STORE_HTTP_ADDR, ...)
# and its state folder, ISTATE, with its logs and pid files.
instance_env() {
  local env; env=$(storectl instance env) && eval "$env"
  ISTATE=$INSTANCE_STATE LOGS=$INSTANCE_STATE/logs RUN=$INSTANCE_STATE/run
}

# replicas: how many replicas of each service this instance runs: REPLICAS, else the
# number its last `apps` started, else one.
replicas_file() { echo "$RUN/replicas${STACK_NAMESPACE:+-$STACK_NAMESPACE}"; }
replicas() {
  local n=${REPLICAS:-}
  [ -n "$n" ] || n=$(cat "$(replicas_file)" 2>/dev/null || echo 1)
  [[ $n =~ ^[1-5]$ ]] || die "REPLICAS must be a number from 1 to 5, not '$n'"
  echo "$n"
}

# replica NAME K: the pid and log name of replica K of a service, or of Kafka node or Connect
# worker K (kafka, kafka-2, ...).
replica() { storectl instance process "$1" "$2"; }

# replica_addr NAME K: where replica K of a service listens.
replica_addr() { storectl instance addr "$1" "$2"; }

# stop_replicas NAME: stops every replica of a service that has a pid file.
stop_replicas() {
  local inst f; inst=$(instance "$1")
  for f in "$RUN/$inst.pid" "$RUN/$inst"-[0-9].pid; do [ -f "$f" ] && stop_one "$(basename "$f" .pid)"; done
  return 0
}

# start_app NAME K: runs $BIN/NAME as replica K in the background and waits for its health check.
start_app() {
  local name=$1 k=$2 inst addr var
  inst=$(replica "$name" "$k") addr=$(replica_addr "$name" "$k")
  [ -x "$BIN/$name" ] || die "$BIN/$name is missing: run 'make build' first"
  case $name in store-manager) var=STORE_HTTP_ADDR ;; payments) var=PAYMENTS_HTTP_ADDR ;; *) die "unknown service $name" ;; esac
  log "starting $inst on $addr"
  env "$var=$addr" nohup "$BIN/$name" >>"$LOGS/$inst.log" 2>&1 </dev/null 9>&- &
  echo $! >"$RUN/$inst.pid"
  wait_for "$inst" "$LOGS/$inst.log" curl -fs -o /dev/null "http://$addr/health-check"
}

# target_file NAME TARGET...: lists TARGETs of the instance's NAME for Prometheus (file service discovery).
target_file() { storectl instance targets "$RUN/targets" "$@"; }

# untarget NAME: takes the instance's NAME off Prometheus's list, when it is stopped on purpose.
untarget() { rm -f "$RUN/targets/$(instance "$1").json"; }

# targets N: Prometheus's list of the N replicas of each service in this instance.
targets() {
  local n=$1 name k addrs
  for name in store-manager payments; do
    addrs=()
    for k in $(seq 1 "$n"); do addrs+=("$(replica_addr "$name" "$k")"); done
    target_file "$name" "${addrs[@]}"
  done
}

# apps: (re)starts every replica of both services, and stops replicas beyond REPLICAS.
apps() {
  mkdir -p "$LOGS" "$RUN"
  local n name k; n=$(replicas)
  for name in store-manager payments; do
    stop_replicas "$name"
    for k in $(seq 1 "$n"); do start_app "$name" "$k"; done
  done
  echo "$n" >"$(replicas_file)"
  targets "$n"
}

# app NAME: starts the replicas of one service that do not run.
app() {
  mkdir -p "$LOGS" "$RUN"
  local k
  for k in $(seq 1 "$(replicas)"); do alive "$(replica "$1" "$k")" || start_app "$1" "$k"; done
  targets "$(replicas)"
}

# supervisor: storectl supervise, which keeps the connectors of this instance relaying and
# restarts the Connect worker through this script when restarting connectors does not help.
supervisor() {
  local inst; inst=$(instance supervisor)
  mkdir -p "$LOGS" "$RUN"
  stop_one "$inst"
  log "starting $inst"
  STACK_SCRIPT="$ROOT/stack/stack.sh" nohup "$BIN/storectl" supervise >>"$LOGS/$inst.log" 2>&1 </dev/null 9>&- &
  echo $! >"$RUN/$inst.pid"
  sleep 0.5
  alive "$inst" || { tail -n 20 "$LOGS/$inst.log" >&2; die "$inst exited at start"; }
  target_file supervisor "$SUPERVISOR_METRICS_ADDR"
}

# restart NAME: stop one component, then start what is missing.
restart() {
  case $1 in
    store-manager|payments) stop_replicas "$1"; app "$1" ;;
    gateway) stop_one "$(instance gateway)"; gateway ;;
    supervisor) stop_one "$(instance supervisor)"; supervisor ;;
    connect|connect-[0-9])
      # A worker started in the last minute is still coming up (make may have just
      # started it): restarting it again would only delay it.
      if alive "$1" && [ $(($(date +%s) - $(stat -c %Y "$RUN/$1.pid"))) -lt "${RESTART_GRACE:-60}" ]; then
        log "$1 started less than ${RESTART_GRACE:-60}s ago: not restarting it"
        return 0
      fi
      stop_one "$1"; start ;;
    *) stop_one "$1"; start ;;
  esac
}

# gateway: the native stand-in for KrakenD, nginx configured from krakend/krakend.json.
gateway() {
  [ -x "$BIN/gatewayconf" ] || die "$BIN/gatewayconf is missing: run 'make build' first"
  local inst addr conf k backends=()
  inst=$(instance gateway) addr=$GATEWAY_ADDR
  for k in $(seq 1 "$(replicas)"); do
    backends+=(-backend "http://store-manager:5000=$(replica_addr store-manager "$k")")
    backends+=(-backend "http://payments:5009=$(replica_addr payments "$k")")
  done
  conf="$ISTATE/conf/nginx.conf"
  mkdir -p "$LOGS" "$RUN" "$ISTATE/conf" "$ISTATE/nginx/$inst"
  "$BIN/gatewayconf" -name "$inst" -listen "$addr" -state "$ISTATE" \
    "${backends[@]}" >"$conf.new" || die "gatewayconf refused to render the gateway"
  mv "$conf.new" "$conf"
  nginx -t -q -c "$conf" -p "$ISTATE/nginx" 2>>"$LOGS/$inst-error.log" \
    || { tail -n 20 "$LOGS/$inst-error.log" >&2; die "the generated gateway config is invalid"; }
  if alive "$inst"; then
    log "reloading $inst"
    # nginx -s reload only signals the master: the old workers go on serving, then close
    # their kept-alive connections, after the command returns. A client that sends a
    # request on one as it closes gets no answer, so the reload ends when they are gone
    # (worker_shutdown_timeout in the config bounds how long they stay).
    local old
    old=$(pgrep -P "$(cat "$RUN/$inst.pid")" || true)
    nginx -c "$conf" -p "$ISTATE/nginx" -s reload 2>>"$LOGS/$inst-error.log"
    # shellcheck disable=SC2086 # one pid per word
    wait_for "$inst" "$LOGS/$inst-error.log" all_gone $old
  else
    log "starting $inst on $addr"
    nginx -c "$conf" -p "$ISTATE/nginx" 9>&-
  fi
  wait_for "$inst" "$LOGS/$inst-error.log" curl -fs -o /dev/null "http://$addr/health-check"
}

# stop_one NAME...: TERM to each at once, wait up to 30 s for all, then KILL what is left.
# The nodes of a Kafka cluster stop together: the last of them, stopped alone, would wait
# for a controller quorum that is gone.
stop_one() {
  local name pid pids=() names=()
  for name in "$@"; do
    alive "$name" || { rm -f "$RUN/$name.pid"; continue; }
    pid=$(cat "$RUN/$name.pid")
    log "stopping $name (pid $pid)"
    kill "$pid" 2>/dev/null || true
    pids+=("$pid") names+=("$name")
  done
  [ ${#pids[@]} -gt 0 ] || return 0
  for _ in $(seq 1 60); do kill -0 "${pids[@]}" 2>/dev/null || break; sleep 0.5; done
  for i in "${!pids[@]}"; do
    if kill -0 "${pids[$i]}" 2>/dev/null; then log "${names[$i]} did not stop in 30s; killing"; kill -9 "${pids[$i]}" 2>/dev/null || true; fi
    rm -f "$RUN/${names[$i]}.pid"
  done
}

stop() {
  if [ $# -gt 0 ]; then
    for name in "$@"; do
      case $name in
        store-manager|payments) stop_replicas "$name"; untarget "$name" ;;
        supervisor) stop_one "$(instance "$name")"; untarget "$name" ;;
        *) stop_one "$(instance "$name")" ;;
      esac
    done
    return
  fi
  rm -f "$RUN"/targets/*.json
  # Reverse order of start: the supervisor, the gateway and the services (every
  # replica), then the CDC relay, and the database last.
  local kind f
  for kind in supervisor gateway payments store-manager; do
    for f in "$RUN/$kind".pid "$RUN/$kind"-*.pid; do [ -f "$f" ] && stop_one "$(basename "$f" .pid)"; done
  done
  for name in prometheus redis-exporter mysqld-exporter; do stop_one "$name"; done
  for kind in connect kafka; do
    local members=()
    for f in "$RUN/$kind".pid "$RUN/$kind"-[0-9].pid; do [ -f "$f" ] && members+=("$(basename "$f" .pid)"); done
    [ ${#members[@]} -eq 0 ] || stop_one "${members[@]}"
  done
  for name in zipkin redis mariadb; do stop_one "$name"; done
}

status() {
  local rc=0 name f
  for name in mariadb redis zipkin kafka connect prometheus mysqld-exporter redis-exporter \
    "$(instance store-manager)" "$(instance payments)" "$(instance gateway)" "$(instance supervisor)" \
    $(cd "$RUN" 2>/dev/null && for f in store-manager*-[0-9].pid payments*-[0-9].pid kafka-[0-9].pid connect-[0-9].pid; do [ -f "$f" ] && echo "${f%.pid}"; done); do
    if alive "$name"; then printf '%-18s running (pid %s)\n' "$name" "$(cat "$RUN/$name.pid")"
    else printf '%-18s stopped\n' "$name"; [[ $name =~ ^(mariadb|redis|kafka|connect|prometheus)(-[0-9])?$ ]] && rc=3; fi
  done
  return $rc
}

# clean: stop the instance, then remove its data (the binaries and jars stay).
clean() {
  stop
  log "removing the data of ${STACK_NAMESPACE:-the default instance} in $ISTATE"
  rm -rf "${ISTATE:?}"/{mariadb,redis,kafka,prometheus,nginx,logs,run,conf} "${ISTATE:?}"/kafka-[0-9]
}

# Every command but install works on one instance: where it listens and its state folder first.
case "${1:-}" in
  install|'') ;;
  stop|status)
    # Nothing was built, so nothing of this checkout runs.
    if [ ! -x "$BIN/storectl" ]; then log "$BIN/storectl is missing: nothing of this stack was started"; exit 0; fi
    instance_env ;;
  *) instance_env ;;
esac

# One stack command at a time changes what runs in an instance (the supervisor may restart
# the Connect worker while make starts the stack); the processes it starts do not keep the lock.
case "${1:-}" in
  start|apps|app|gateway|supervisor|restart|stop|clean)
    mkdir -p "$RUN"; exec 9>"$RUN/.stack.lock"; flock 9 ;;
esac

case "${1:-}" in
  install) install ;;
  start) start ;;
  apps) apps ;;
  app) app "${2:?usage: $0 app NAME}" ;;
  gateway) gateway ;;
  supervisor) supervisor ;;
  restart) restart "${2:?usage: $0 restart NAME}" ;;
  stop) shift; stop "$@" ;;
  status) status ;;
  clean) clean ;;
  conf) conf "${2:?usage: $0 conf FILE}" ;;
  *) echo "usage: $0 install|start|apps|app NAME|gateway|supervisor|restart NAME|stop [NAME...]|status|clean|conf FILE" >&2; exit 2 ;;
esac
