#!/usr/bin/env bash
# Console ingest under load: `rampart bench agents` plays AGENTS enrolled agents over real
# HTTPS against a real `rampart console` on loopback, each sending a snapshot and then a
# delta every INTERVAL seconds (PROCS processes per host, CHURN replaced per report), for
# DURATION seconds after the snapshots. It runs once on the embedded SQLite store and once
# on PostgreSQL (a throwaway cluster made with initdb/pg_ctl on a loopback port, removed
# afterwards), and prints the load generator's JSON for each: reports/s against the target
# (AGENTS / INTERVAL), latency percentiles, answers by status (429 = pushed back), resyncs,
# and the console's peak RSS.
#
# Usage: bench/run-agents-load.sh          (AGENTS=1000 INTERVAL=10 DURATION=60 PROCS=100)
#        BACKENDS=sqlite bench/run-agents-load.sh
#        KEEP_LOGS=DIR ...        (copies the consoles' logs to DIR)
#
# Needs: a release build ($RAMPART, default target/release/rampart under $CARGO_TARGET_DIR
# or ./target), curl, jq, and for PostgreSQL the postgresql package (initdb, pg_ctl).
# The load generator runs on the same 2 cores as the console: its own CPU is part of the
# cost measured.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
RAMPART=${RAMPART:-$TARGET_DIR/release/rampart}
AGENTS=${AGENTS:-1000}
INTERVAL=${INTERVAL:-10}
DURATION=${DURATION:-60}
PROCS=${PROCS:-100}
CHURN=${CHURN:-3}
BACKENDS=${BACKENDS:-sqlite postgres}
for tool in curl jq; do
    command -v "$tool" >/dev/null || { echo "missing: $tool" >&2; exit 2; }
done
[[ -x $RAMPART ]] || { echo "build first: cargo build --release -p rampart-cli ($RAMPART)" >&2; exit 2; }

WORK=$(mktemp -d /tmp/agents-load.XXXXXX)
chmod 755 "$WORK"
CONSOLE_PID=""
PGBIN=""
cleanup() {
    [[ -n $CONSOLE_PID ]] && kill "$CONSOLE_PID" 2>/dev/null || true
    wait 2>/dev/null || true
    if [[ -n ${KEEP_LOGS:-} ]]; then cp "$WORK"/console-*.log "$KEEP_LOGS"/ 2>/dev/null || true; fi
    if [[ -n $PGBIN && -d $WORK/pg ]]; then
        as_pg "$PGBIN/pg_ctl" -D "$WORK/pg" -m immediate stop >/dev/null 2>&1 || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

as_pg() {
    if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

wait_line() { # FILE NEEDLE
    for _ in $(seq 600); do
        grep -q -- "$2" "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "timed out waiting for '$2' in $1:" >&2
    cat "$1" >&2
    exit 2
}

# Enrollments come from one address: allow them all within the run.
cat >"$WORK/config.toml" <<EOF
[console]
login_attempts_per_minute = 100000
report_interval_secs = $INTERVAL
EOF

run_one() { # BACKEND DATABASE_URL
    local backend=$1 url=$2 data=$WORK/console-$1
    local PASSWORD=agents-load-bench-password
    env RAMPART_CONFIG="$WORK/config.toml" RAMPART_CONSOLE_DATA_DIR="$data" \
        RAMPART_ADMIN_PASSWORD=$PASSWORD RAMPART_DATABASE_URL="$url" \
        "$RAMPART" console --listen 127.0.0.1:0 2>"$WORK/console-$backend.log" &
    CONSOLE_PID=$!
    wait_line "$WORK/console-$backend.log" "console listening on https://"
    local console_url
    console_url=$(grep -o 'https://[^ ]*' "$WORK/console-$backend.log" | head -1)
    echo "== $backend: $AGENTS agents every ${INTERVAL}s, ${PROCS} processes each, ${DURATION}s window" >&2
    RAMPART_ADMIN_PASSWORD=$PASSWORD "$RAMPART" bench agents --console "$console_url" \
        --ca-cert "$data/tls/cert.pem" --count "$AGENTS" --interval "$INTERVAL" \
        --duration "$DURATION" --processes "$PROCS" --churn "$CHURN" \
        --console-pid "$CONSOLE_PID" --json | jq --arg b "$backend" '{backend: $b} + .'
    kill "$CONSOLE_PID"
    wait "$CONSOLE_PID" 2>/dev/null || true
    CONSOLE_PID=""
}

for backend in $BACKENDS; do
    case $backend in
    sqlite) run_one sqlite "" ;;
    postgres)
        PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
        [[ -n $PGBIN ]] || { echo "PostgreSQL not installed (apt-get install postgresql)" >&2; exit 2; }
        mkdir -p "$WORK/pg" && chown postgres "$WORK/pg" 2>/dev/null || true
        as_pg "$PGBIN/initdb" -D "$WORK/pg" -A trust -U rampart >/dev/null
        PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
        as_pg "$PGBIN/pg_ctl" -D "$WORK/pg" -l "$WORK/pg/server.log" -w \
            -o "-c listen_addresses=127.0.0.1 -p $PORT -k $WORK/pg -c max_connections=100" start >/dev/null
        as_pg "$PGBIN/createdb" -h 127.0.0.1 -p "$PORT" -U rampart rampart
        run_one postgres "postgres://rampart@127.0.0.1:$PORT/rampart?sslmode=disable"
        as_pg "$PGBIN/pg_ctl" -D "$WORK/pg" -m fast stop >/dev/null
        ;;
    *) echo "unknown backend $backend" >&2; exit 2 ;;
    esac
done
echo "date: $(date -u +%Y-%m-%dT%H:%MZ); machine: $(nproc) CPUs, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r); load before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
