#!/usr/bin/env bash
# Reproduces every figure of BENCHMARKS.md in one run (ratios are taken inside this run):
#
#   bench/run.sh                  # everything, ~10 minutes on 2 cores
#   ONLY="sqlite pg" bench/run.sh # a subset: criterion sqlite power pg million day100k notify
#                                 # console perf
#
# `pg` also runs pgbench (the database's own limit) in a scratch database, interleaved with
# snapqris's PostgreSQL runs: the naive transaction per request that a node must beat.
#
# Release build, loopback only, server and load generator on the same machine. Each figure is
# the median of RUNS (default 3) runs of `snapqris bench`. Every server listens on 127.0.0.1
# (port chosen by the OS) on a throw-away SQLite file, or on a fresh PostgreSQL database
# (PG_BASE, default postgres://postgres@127.0.0.1:5432) dropped at the end. Every run is
# bounded: --requests N or --duration S (the tool stops by itself).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target-bench}
RUNS=${RUNS:-3}
DURATION=${DURATION:-5}
CONC=${CONC:-64}
PG_BASE=${PG_BASE:-postgres://postgres@127.0.0.1:5432}
ONLY=${ONLY:-"criterion sqlite power pg million day100k notify console perf"}
BACKLOG=${BACKLOG:-100000} # notifications in the drain of `notify`
DAY=2024-06-03 # the seeded business day (fixed, so a midnight during the run changes nothing)
BIN=$CARGO_TARGET_DIR/release/snapqris
WORK=$(mktemp -d /tmp/snapqris-bench.XXXXXX)
RESULTS=$WORK/results
mkdir -p "$RESULTS"
SERVER_PID=""
RECEIVER_PID=""
PG_DB=""

cleanup() {
    stop_server
    if [[ -n $RECEIVER_PID ]]; then kill "$RECEIVER_PID" 2>/dev/null || true; fi
    if [[ -n $PG_DB ]]; then
        psql -q "$PG_BASE/postgres" -c "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" || true
        psql -q "$PG_BASE/postgres" -c "DROP DATABASE IF EXISTS ${PG_DB}_pgbench WITH (FORCE)" ||
            true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

wants() { [[ " $ONLY " == *" $1 "* ]]; }
log() { echo "== $*" >&2; }

log "building (release) in $CARGO_TARGET_DIR"
(cd "$ROOT" && cargo build --release --bin snapqris)
if wants criterion; then
    (cd "$ROOT" && cargo bench -p snapqris-protocol -p snapqris-qris --no-run)
fi
log "load before measuring: $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15-min), $(nproc) cores"
cut -d' ' -f1-3 /proc/loadavg >"$RESULTS/load.before"

# --- servers -------------------------------------------------------------------------------

# start_server DATABASE_URL [serve flags…]: sets SERVER_PID and URL.
start_server() {
    local db=$1
    shift
    # Seeding leaves up to hundreds of MB of dirty pages; without this the kernel writes them
    # back during the first measured run (a c=1 p99 of 1.2-1.6 ms instead of ~0.6 ms).
    sync
    "$BIN" --database "$db" serve --listen 127.0.0.1:0 "$@" >"$WORK/serve.out" 2>"$WORK/serve.err" &
    SERVER_PID=$!
    for _ in $(seq 100); do
        if [[ -s $WORK/serve.out ]]; then break; fi
        sleep 0.1
    done
    URL=$(sed -n 's/^listening on //p' "$WORK/serve.out")
    [[ -n $URL ]] || { cat "$WORK/serve.err" >&2; exit 1; }
}

stop_server() {
    if [[ -n $SERVER_PID ]]; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
        SERVER_PID=""
    fi
}

# setup DATABASE_URL: partner `bench` (hmac, fixed secret, fresh key pair) and merchants M1, M2.
SECRET=bench-secret-0123456789abcdef0123456789abcdef
setup() {
    local db=$1
    [[ -f $WORK/keys/private.pem ]] || "$BIN" keygen --out "$WORK/keys" >/dev/null
    "$BIN" --database "$db" admin partner add --client-id bench --services 47,50,51,77,78,90,93 \
        --public-key "$WORK/keys/public.pem" --client-secret "$SECRET" >/dev/null
    for m in "${@:2}"; do
        "$BIN" --database "$db" admin merchant add --merchant-id "$m" --client-id bench \
            --name "Warung $m" --city Jakarta >/dev/null
    done
}

# bench NAME ENDPOINT [flags…]: one run, its JSON summary appended to results/NAME.
bench() {
    local name=$1 endpoint=$2
    shift 2
    local creds=()
    if [[ $endpoint != health ]]; then
        creds=(--client-id bench --private-key "$WORK/keys/private.pem" --client-secret "$SECRET")
    fi
    "$BIN" bench --base-url "$URL" --endpoint "$endpoint" "${creds[@]}" --json "$@" \
        >>"$RESULTS/$name"
    tail -n1 "$RESULTS/$name" | python3 -c '
import json, sys
s = json.load(sys.stdin)
l = s["latency_ms"]
print("   %-8s %9.1f req/s  p50 %.2f  p99 %.2f  max %.1f ms  %s"
      % (s["endpoint"], s["requests_per_second"], l["p50"], l["p99"], l["max"], s["codes"]))' >&2
}

rss_kb() { sed -n "s/^$1:[[:space:]]*\([0-9]*\) kB/\1/p" "/proc/$SERVER_PID/status"; }

# The three throughput figures on whatever server is running: health, list (M1, 20 QRs on
# DAY), generate (dynamic, M2), interleaved so that background load hits all three alike.
throughput() {
    local tag=$1
    for run in $(seq "$RUNS"); do
        log "$tag run $run/$RUNS"
        bench "$tag.health" health --concurrency "$CONC" --duration "$DURATION"
        bench "$tag.list" list --concurrency "$CONC" --duration "$DURATION" \
            --merchant-id M1 --date "$DAY"
        bench "$tag.generate" generate --concurrency "$CONC" --duration "$DURATION" --merchant-id M2
        bench "$tag.payment" payment --concurrency "$CONC" --duration "$DURATION" --merchant-id M2
        bench "$tag.refund" refund --concurrency "$CONC" --duration "$DURATION" --merchant-id M2
    done
}

# --- (6) criterion micro-benchmarks (before any server: nothing else runs) ------------------
if wants criterion; then
    log "criterion"
    (cd "$ROOT" && cargo bench -p snapqris-protocol --bench signatures -- \
        --warm-up-time 1 --measurement-time 3) 2>&1 | tee "$RESULTS/criterion.protocol" |
        grep -E '^[a-z0-9_]+/|time:' >&2
    (cd "$ROOT" && cargo bench -p snapqris-qris --bench build -- \
        --warm-up-time 1 --measurement-time 3) 2>&1 | tee "$RESULTS/criterion.qris" |
        grep -E '^[a-z0-9_]+/|time:' >&2
fi

# --- (1) (2) (5) SQLite, durability=process --------------------------------------------------
if wants sqlite; then
    DB=sqlite://$WORK/sqlite.db
    setup "$DB" M1 M2
    python3 "$ROOT/bench/seed.py" sqlite "$WORK/sqlite.db" --merchant M1 --date "$DAY" --count 20
    start_server "$DB"
    bench warmup list --concurrency 4 --requests 200 --merchant-id M1 --date "$DAY"
    throughput sqlite
    for run in $(seq "$RUNS"); do
        log "token run $run/$RUNS"
        bench sqlite.token token --concurrency "$CONC" --requests 10000
    done
    stop_server
fi

# power_runs DATABASE_URL TAG: /health and generate (M2) on a server with durability=power.
power_runs() {
    start_server "$1" --durability power
    for run in $(seq "$RUNS"); do
        log "$2 run $run/$RUNS"
        bench "$2.health" health --concurrency "$CONC" --duration "$DURATION"
        bench "$2.generate" generate --concurrency "$CONC" --duration "$DURATION" --merchant-id M2
    done
    stop_server
}

# --- (2) SQLite, durability=power ------------------------------------------------------------
if wants power; then
    DB=sqlite://$WORK/power.db
    setup "$DB" M2
    power_runs "$DB" sqlite-power
fi

# pgbench_setup DATABASE_URL: the reference tables of issue 12 (claims; QRs with the covering
# merchant-day index), 20 QRs of M1 today and 100,000 of other merchants, and two scripts.
pgbench_setup() {
    psql -q "$1" <<'SQL'
CREATE TABLE claims (partner text, day date, external_id text, claimed_at bigint,
    PRIMARY KEY (partner, day, external_id));
CREATE TABLE qrs (id bigint PRIMARY KEY, merchant_id text, partner_ref text, day date,
    generated_at bigint, kind text, expires_at bigint, amount_sen bigint, qr_content text,
    UNIQUE (merchant_id, partner_ref));
CREATE INDEX qrs_by_merchant_day ON qrs (merchant_id, day, generated_at DESC, id DESC)
    INCLUDE (kind, expires_at, amount_sen);
INSERT INTO qrs SELECT g, 'M1', 'r' || g, current_date, g, 'static', NULL, NULL, repeat('x', 150)
    FROM generate_series(1, 20) g;
INSERT INTO qrs SELECT g, 'O' || (g % 1000), 'r' || g, current_date, g, 'static', NULL, NULL,
    repeat('x', 150) FROM generate_series(21, 100020) g;
VACUUM ANALYZE;
SQL
    cat >"$WORK/pgbench.list.sql" <<'SQL'
BEGIN;
INSERT INTO claims VALUES ('bench', current_date, md5(random()::text), 0);
SELECT id, kind, generated_at, expires_at, amount_sen FROM qrs WHERE merchant_id = 'M1'
    AND day = current_date ORDER BY generated_at DESC, id DESC LIMIT 65;
COMMIT;
SQL
    cat >"$WORK/pgbench.generate.sql" <<'SQL'
\set id random(1000000, 9000000000000000)
BEGIN;
INSERT INTO claims VALUES ('bench', current_date, md5(random()::text), 0);
INSERT INTO qrs VALUES (:id, 'M2', md5(random()::text), current_date, 0, 'dynamic', 0, 900000,
    repeat('x', 150)) ON CONFLICT DO NOTHING;
COMMIT;
SQL
}

# pgbench_run NAME SCRIPT DATABASE_URL: one pgbench run, as a summary line like bench's.
pgbench_run() {
    local tps
    tps=$(pgbench -n -M prepared -c 32 -j 2 -T "$DURATION" -f "$WORK/pgbench.$2.sql" "$3" 2>&1 |
        sed -n 's/^tps = \([0-9.]*\) (without initial connection time)/\1/p')
    [[ -n $tps ]] || { echo "pgbench $2 failed" >&2; exit 1; }
    echo "{\"endpoint\":\"pgbench-$2\",\"requests_per_second\":$tps}" >>"$RESULTS/$1"
    printf '   %-8s %9.1f tx/s (pgbench -c 32 -j 2)\n' "pgb-$2" "$tps" >&2
}

# --- (2) PostgreSQL, process then power ------------------------------------------------------
if wants pg; then
    PG_DB=snapqris_bench_$$
    psql -q "$PG_BASE/postgres" -c "CREATE DATABASE $PG_DB"
    psql -q "$PG_BASE/postgres" -c "CREATE DATABASE ${PG_DB}_pgbench"
    pgbench_setup "$PG_BASE/${PG_DB}_pgbench"
    DB=$PG_BASE/$PG_DB
    setup "$DB" M1 M2
    python3 "$ROOT/bench/seed.py" csv --merchant M1 --date "$DAY" --count 20 |
        psql -q "$DB" -c '\copy qr_codes FROM STDIN WITH (FORMAT csv)'
    start_server "$DB"
    bench warmup list --concurrency 4 --requests 200 --merchant-id M1 --date "$DAY"
    for run in $(seq "$RUNS"); do
        log "pg run $run/$RUNS (with pgbench)"
        bench pg.health health --concurrency "$CONC" --duration "$DURATION"
        pgbench_run pgbench.list list "$PG_BASE/${PG_DB}_pgbench"
        bench pg.list list --concurrency "$CONC" --duration "$DURATION" \
            --merchant-id M1 --date "$DAY"
        pgbench_run pgbench.generate generate "$PG_BASE/${PG_DB}_pgbench"
        bench pg.generate generate --concurrency "$CONC" --duration "$DURATION" --merchant-id M2
    done
    stop_server
    psql -q "$PG_BASE/postgres" -c "DROP DATABASE ${PG_DB}_pgbench WITH (FORCE)"
    power_runs "$DB" pg-power
    psql -q "$PG_BASE/postgres" -c "DROP DATABASE $PG_DB WITH (FORCE)"
    PG_DB=""
fi

# --- (3) list latency with 1,000,000 QRs stored vs only the 20 -------------------------------
if wants million; then
    for size in twenty million; do
        DB=sqlite://$WORK/$size.db
        setup "$DB" M0000
        if [[ $size == million ]]; then
            python3 "$ROOT/bench/seed.py" sqlite "$WORK/$size.db" --million --date "$DAY"
        else
            python3 "$ROOT/bench/seed.py" sqlite "$WORK/$size.db" --merchant M0000 --date "$DAY"
        fi
        start_server "$DB"
        bench warmup list --concurrency 1 --requests 200 --merchant-id M0000 --date "$DAY"
        for run in $(seq "$RUNS"); do
            log "$size run $run/$RUNS"
            bench "$size.list" list --concurrency 1 --requests 2000 --merchant-id M0000 --date "$DAY"
        done
        stop_server
        rm -f "$WORK/$size.db"*
    done
fi

# --- (4) one day of 100,000 QRs: time to the last byte, and peak RSS growth -------------------
if wants day100k; then
    DB=sqlite://$WORK/day100k.db
    setup "$DB" M1 M3
    python3 "$ROOT/bench/seed.py" sqlite "$WORK/day100k.db" --merchant M1 --date "$DAY" --count 100000
    python3 "$ROOT/bench/seed.py" sqlite "$WORK/day100k.db" --merchant M3 --date "$DAY" --count 20 --offset-ms 1
    start_server "$DB"
    # Warm the server's paths on a small day first, so the baseline includes them.
    bench warmup list --concurrency 2 --requests 200 --merchant-id M3 --date "$DAY"
    hwm_before=$(rss_kb VmHWM)
    echo "$hwm_before" >"$RESULTS/day100k.hwm_before"
    for run in $(seq "$RUNS"); do
        log "day100k run $run/$RUNS"
        bench day100k.list list --concurrency 1 --requests 1 --merchant-id M1 --date "$DAY"
        rss_kb VmHWM >>"$RESULTS/day100k.hwm_after"
    done
    stop_server
fi

# --- (16) notification delivery (SQLite): a backlog's drain against one core's signing rate,
# the RSS it costs, and the payment p99 with deliveries running --------------------------------
# delivered: notifications the receiver verified so far (its first line announces it).
delivered() { echo $(($(wc -l <"$WORK/receiver.out") - 1)); }
# payments_made: every 2005000 answered in this section so far (each one is a notification).
payments_made() {
    cat "$RESULTS"/notify.payment* 2>/dev/null | python3 -c '
import json, sys
print(sum(json.loads(l)["codes"].get("2005000", 0) for l in sys.stdin if l.strip()))'
}
# wait_delivered N: until the receiver has N notifications (at most 600 s).
wait_delivered() {
    for _ in $(seq 6000); do
        (($(delivered) >= $1)) && return 0
        sleep 0.1
    done
    log "only $(delivered) of $1 notifications arrived"
    return 1
}
callback() { "$BIN" --database "$db" admin partner set-callback bench --url "$1" >/dev/null; }
if wants notify; then
    log "notify: delivery to a loopback receiver that acknowledges at once (notify listen)"
    db="sqlite://$WORK/notify.db"
    setup "$db" M1 M2
    "$BIN" --database "$db" admin notify key >"$WORK/notify-public.pem"
    # The receiver stands in for the partner's server, another machine: at the idle scheduling
    # policy it takes only CPU the server under test leaves (at normal priority it takes ~15 %
    # of a core from it at 3,000 deliveries/s, BENCHMARKS.md).
    idle=()
    command -v chrt >/dev/null && idle=(chrt --idle 0)
    "${idle[@]}" "$BIN" notify listen --listen 127.0.0.1:0 --public-key "$WORK/notify-public.pem" \
        >"$WORK/receiver.out" 2>"$WORK/receiver.err" &
    RECEIVER_PID=$!
    for _ in $(seq 100); do [[ -s $WORK/receiver.out ]] && break; sleep 0.1; done
    RECEIVER_URL=$(sed -n '1s/^listening on //p' "$WORK/receiver.out")
    [[ -n $RECEIVER_URL ]] || { cat "$WORK/receiver.err" >&2; exit 1; }
    start_server "$db" --notify-allow-private-networks true
    for run in $(seq "$RUNS"); do
        "$BIN" bench --endpoint sign --duration 3 --json >>"$RESULTS/notify.sign"
    done
    log "one core signs $(tail -n1 "$RESULTS/notify.sign")"
    # The payment p99 at half the payment throughput, deliveries held (no callback URL) and
    # running, interleaved; each run starts with nothing left to deliver.
    callback ""
    bench notify.payment_max payment --concurrency "$CONC" --duration "$DURATION" --merchant-id M2
    rate=$(tail -n1 "$RESULTS/notify.payment_max" |
        python3 -c 'import json,sys; print(round(json.load(sys.stdin)["requests_per_second"] / 2))')
    for run in $(seq "$RUNS"); do
        log "notify p99 run $run/$RUNS at $rate payments/s"
        callback "$RECEIVER_URL"
        wait_delivered "$(payments_made)"
        callback ""
        bench notify.payment_held payment --rate "$rate" --concurrency "$CONC" \
            --duration "$DURATION" --merchant-id M2
        callback "$RECEIVER_URL"
        wait_delivered "$(payments_made)"
        bench notify.payment_delivering payment --rate "$rate" --concurrency "$CONC" \
            --duration "$DURATION" --merchant-id M2
    done
    wait_delivered "$(payments_made)"
    # The backlog: BACKLOG payments made with deliveries held, then released at once.
    callback ""
    bench notify.payment_backlog payment --concurrency "$CONC" --requests "$BACKLOG" \
        --merchant-id M2
    target=$(payments_made)
    rss_before=$(rss_kb VmRSS)
    from=$(delivered)
    log "notify: draining $((target - from)) notifications (RSS $((rss_before / 1024)) MB)"
    start=$(date +%s%N)
    callback "$RECEIVER_URL"
    (
        # list and generate keep answering while the backlog drains
        sleep 1
        bench notify.drain_list list --concurrency 8 --duration 3 --merchant-id M1 --date "$DAY"
        bench notify.drain_generate generate --concurrency 8 --duration 3 --merchant-id M2
    ) &
    load_pid=$!
    peak=$rss_before
    while (($(delivered) < target)); do
        now_rss=$(rss_kb VmRSS)
        ((now_rss > peak)) && peak=$now_rss
        if (($(date +%s%N) - start > 600000000000)); then
            log "the drain did not finish in 600 s"
            break
        fi
        sleep 0.2
    done
    end=$(date +%s%N)
    wait "$load_pid" || true
    echo "{\"notifications\": $((target - from)), \"seconds\": $(((end - start) / 1000000))e-3, \"rss_before_kb\": $rss_before, \"rss_peak_kb\": $peak, \"delivered\": $(($(delivered) - from))}" \
        >"$RESULTS/notify.drain"
    log "notify: $(cat "$RESULTS/notify.drain")"
    stop_server
    kill "$RECEIVER_PID" 2>/dev/null || true
    RECEIVER_PID=""
fi

# --- (17) the idle console's cost on the partner API: generate served without and with
# --console-listen, interleaved. Each server starts on its own copy of one set-up store (a
# store generate has grown is slower), and the order alternates, so neither side is always
# second on a warmer machine. ----------------------------------------------------------------
if wants console; then
    setup "sqlite://$WORK/console-template.db" M1 M2
    # console_run NAME [serve flags…]: one generate run on a fresh copy of the template.
    console_run() {
        local name=$1
        shift
        rm -f "$WORK"/console-run.db*
        for file in "$WORK"/console-template.db*; do cp "$file" "${file/template/run}"; done
        start_server "sqlite://$WORK/console-run.db" "$@"
        bench "$name" generate --concurrency "$CONC" --duration "$DURATION" --merchant-id M2
        stop_server
    }
    for run in $(seq "$RUNS"); do
        log "console run $run/$RUNS"
        if ((run % 2)); then
            console_run console.without
            console_run console.with --console-listen 127.0.0.1:0
        else
            console_run console.with --console-listen 127.0.0.1:0
            console_run console.without
        fi
    done
fi

# --- (7) where the server spends its time at top load (perf, software clock) -----------------
if wants perf && command -v perf >/dev/null; then
    DB=sqlite://$WORK/perf.db
    setup "$DB" M1 M2
    python3 "$ROOT/bench/seed.py" sqlite "$WORK/perf.db" --merchant M1 --date "$DAY" --count 20
    start_server "$DB"
    bench warmup list --concurrency 4 --requests 200 --merchant-id M1 --date "$DAY"
    for endpoint in list generate; do
        log "perf record: $endpoint"
        perf record -F 999 -e cpu-clock -g -p "$SERVER_PID" -o "$WORK/perf.$endpoint" -- \
            sleep "$((DURATION + 1))" 2>/dev/null &
        perf_pid=$!
        sleep 0.2
        bench "perf.$endpoint" "$endpoint" --concurrency "$CONC" --duration "$DURATION" \
            --merchant-id "$([[ $endpoint == list ]] && echo M1 || echo M2)" --date "$DAY"
        wait "$perf_pid" || true
        # `|| true`: with pipefail, an empty report (no samples) must not end the whole run.
        { perf report -i "$WORK/perf.$endpoint" --no-children --sort symbol --stdio 2>/dev/null |
            grep -E '^ +[0-9]' | head -25 || true; } >"$RESULTS/perf.$endpoint.symbols"
        { perf report -i "$WORK/perf.$endpoint" --no-children --sort dso --stdio 2>/dev/null |
            grep -E '^ +[0-9]' | head -10 || true; } >"$RESULTS/perf.$endpoint.dso"
    done
    stop_server
fi

cut -d' ' -f1-3 /proc/loadavg >"$RESULTS/load.after"

# --- the table -------------------------------------------------------------------------------
python3 - "$RESULTS" <<'EOF'
import json, os, re, statistics, sys

results = sys.argv[1]

def runs(name):
    path = os.path.join(results, name)
    if not os.path.exists(path):
        return []
    return [json.loads(line) for line in open(path) if line.strip()]

def med(name, key):
    values = [key(s) for s in runs(name)]
    return statistics.median(values) if values else None

rps = lambda s: s["requests_per_second"]
p99 = lambda s: s["latency_ms"]["p99"]
mx = lambda s: s["latency_ms"]["max"]

def fmt(x, unit=""):
    return "—" if x is None else f"{x:,.1f}{unit}"

def ratio(a, b):
    return None if a is None or b is None or b == 0 else a / b

def run_ratio(name, base):
    """The ratio inside each run (runs interleave, so run i of both saw the same load), then
    the median of those."""
    pairs = [ratio(rps(a), rps(b)) for a, b in zip(runs(name), runs(base))]
    return statistics.median(pairs) if pairs else None

def fmt_ratio(x):
    return "—" if x is None else f"{x:.3f}"

def verdict(value, op, target):
    if value is None:
        return "not run"
    ok = value >= target if op == ">=" else value <= target if op == "<=" else value < target
    return "met" if ok else "MISSED"

def codes(name):
    total = {}
    for s in runs(name):
        for code, n in s["codes"].items():
            total[code] = total.get(code, 0) + n
    return ",".join(f"{c}×{n}" for c, n in sorted(total.items())) or "—"

rows = []
def row(figure, what, value, target="", result=""):
    rows.append((figure, what, value, target, result))

for store in ["sqlite", "pg"]:
    h = med(f"{store}.health", rps)
    l = med(f"{store}.list", rps)
    g = med(f"{store}.generate", rps)
    if h is None:
        continue
    row("1/2", f"{store}: /health req/s (c={os.environ.get('CONC', '64')})", fmt(h), "", codes(f"{store}.health"))
    r = run_ratio(f"{store}.list", f"{store}.health")
    row("1", f"{store}: list 20 QRs req/s; ratio to /health", f"{fmt(l)}; {fmt_ratio(r)}", "≥ 0.5" if store == "sqlite" else "(reported)",
        (verdict(r, ">=", 0.5) if store == "sqlite" else "") + " " + codes(f"{store}.list"))
    r = run_ratio(f"{store}.generate", f"{store}.health")
    row("2", f"{store}: generate dynamic req/s; ratio to /health", f"{fmt(g)}; {fmt_ratio(r)}", "≥ 0.25" if store == "sqlite" else "(reported)",
        (verdict(r, ">=", 0.25) if store == "sqlite" else "") + " " + codes(f"{store}.generate"))
    row("2", f"{store}: list p99 / generate p99 (ms)", f"{fmt(med(f'{store}.list', p99))} / {fmt(med(f'{store}.generate', p99))}")
    pay = med(f"{store}.payment", rps)
    if pay is not None:
        r = run_ratio(f"{store}.payment", f"{store}.generate")
        row("14", f"{store}: payment (service 50, a static QR) req/s; ratio to generate", f"{fmt(pay)}; {fmt_ratio(r)}",
            "≥ 0.5" if store == "sqlite" else "(reported)", (verdict(r, ">=", 0.5) if store == "sqlite" else "") + " " + codes(f"{store}.payment"))
    refund = med(f"{store}.refund", rps)
    if refund is not None:
        r = run_ratio(f"{store}.refund", f"{store}.generate")
        row("15", f"{store}: refund (service 78, 0.01 at a time of one payment) req/s; ratio to generate", f"{fmt(refund)}; {fmt_ratio(r)}",
            "≥ 0.5" if store == "sqlite" else "(reported)", (verdict(r, ">=", 0.5) if store == "sqlite" else "") + " " + codes(f"{store}.refund"))
for what in ["list", "generate"]:
    p, b = med(f"pg.{what}", rps), med(f"pgbench.{what}", rps)
    if p is not None and b is not None:
        r = run_ratio(f"pg.{what}", f"pgbench.{what}")
        row("12", f"pg: {what} req/s vs pgbench's naive transaction per request (tx/s)",
            f"{fmt(p)} / {fmt(b)} = {fmt_ratio(r)}", "≥ 1.0", verdict(r, ">=", 1.0))
for store in ["sqlite-power", "pg-power"]:
    g = med(f"{store}.generate", rps)
    if g is not None:
        r = run_ratio(f"{store}.generate", f"{store}.health")
        row("2", f"{store}: generate req/s; ratio to its /health", f"{fmt(g)}; {fmt_ratio(r)}", "(reported)", codes(f"{store}.generate"))

a, b = med("million.list", p99), med("twenty.list", p99)
if a is not None:
    row("3", "list p99 c=1: 1,000,000 stored / 20 stored (ms)", f"{a:.3f} / {b:.3f} = {ratio(a, b):.2f}×", "≤ 1.5×", verdict(ratio(a, b), "<=", 1.5))

t = med("day100k.list", mx)
if t is not None:
    row("4", "list of a 100,000-QR day, time to last byte", fmt(t / 1000, " s") if t else "—", "< 2 s", verdict(t / 1000, "<", 2) + " " + codes("day100k.list"))
    before = int(open(os.path.join(results, "day100k.hwm_before")).read())
    after = [int(x) for x in open(os.path.join(results, "day100k.hwm_after")).read().split()]
    growth = (max(after) - before) / 1024
    row("4", f"server peak RSS (VmHWM) growth while streaming: {before/1024:.1f} → {max(after)/1024:.1f} MB", f"{growth:.1f} MB", "< 64 MB", verdict(growth, "<", 64))

token = med("sqlite.token", rps)
crit = None
path = os.path.join(results, "criterion.protocol")
if os.path.exists(path):
    text = open(path).read()
    m = re.search(r"rsa2048/RsaPublicKey::verify_raw[^\n]*\n?\s*time:\s*\[\S+ \S+ (\S+) (\S+)", text)
    if m:
        value, unit = float(m.group(1)), m.group(2)
        scale = {"ns": 1e-9, "µs": 1e-6, "us": 1e-6, "ms": 1e-3, "s": 1}[unit]
        crit = 1 / (value * scale)
if token is not None:
    r = ratio(token, crit)
    row("5", f"token req/s; single-core RSA-2048 verify/s (criterion) {fmt(crit)}", f"{fmt(token)}; ratio {fmt_ratio(r)}", "≥ 0.5", verdict(r, ">=", 0.5) + " " + codes("sqlite.token"))

sign = med("notify.sign", lambda s: s["per_second"])
drain = runs("notify.drain")
if drain:
    d = drain[-1]
    rate = d["delivered"] / d["seconds"] if d["seconds"] else None
    r = ratio(rate, sign)
    row("16", f"delivery /s draining {d['notifications']:,} (loopback, acks at once); one core's RSA-2048 signs/s {fmt(sign)}",
        f"{fmt(rate)}; ratio {fmt_ratio(r)}", "≥ 0.7", verdict(r, ">=", 0.7) + f" {d['delivered']:,} delivered in {d['seconds']:.1f} s")
    growth = (d["rss_peak_kb"] - d["rss_before_kb"]) / 1024
    row("16", f"server RSS during the drain: {d['rss_before_kb']/1024:.1f} → peak {d['rss_peak_kb']/1024:.1f} MB", f"+{growth:.1f} MB", "≤ +64 MB", verdict(growth, "<=", 64))
    row("16", "list / generate answering during the drain (req/s, p99 ms)",
        f"{fmt(med('notify.drain_list', rps))}, {fmt(med('notify.drain_list', p99))} / {fmt(med('notify.drain_generate', rps))}, {fmt(med('notify.drain_generate', p99))}",
        "answering", codes("notify.drain_list") + " " + codes("notify.drain_generate"))
without, with_console = med("console.without", rps), med("console.with", rps)
if without is not None and with_console is not None:
    r = run_ratio("console.with", "console.without")
    row("17", "generate req/s with an idle --console-listen / without", f"{fmt(with_console)} / {fmt(without)} = {fmt_ratio(r)}", "≥ 0.97",
        verdict(r, ">=", 0.97) + " " + codes("console.with"))
held, delivering = med("notify.payment_held", p99), med("notify.payment_delivering", p99)
if held is not None and delivering is not None:
    pairs = [ratio(p99(a), p99(b)) for a, b in zip(runs("notify.payment_delivering"), runs("notify.payment_held"))]
    r = statistics.median(pairs)
    row("16", f"payment p99 at half its throughput, deliveries running / held (ms)", f"{delivering:.2f} / {held:.2f} = {r:.2f}×", "≤ 1.2×",
        verdict(r, "<=", 1.2) + " " + codes("notify.payment_delivering"))

widths = [max(len(str(r[i])) for r in rows + [("fig", "what", "median of runs", "target", "result")]) for i in range(5)]
line = lambda r: " | ".join(str(c).ljust(w) for c, w in zip(r, widths))
print(line(("fig", "what", "median of runs", "target", "result")))
print("-+-".join("-" * w for w in widths))
for r in rows:
    print(line(r))
print()
print("load average (1/5/15 min) before:", open(os.path.join(results, "load.before")).read().strip(),
      " after:", open(os.path.join(results, "load.after")).read().strip())
for endpoint in ["list", "generate"]:
    path = os.path.join(results, f"perf.{endpoint}.symbols")
    if os.path.exists(path):
        print(f"\nperf, server at top load ({endpoint}): top symbols (self %)")
        print(open(path).read().rstrip())
        print(f"  by shared object:")
        print(open(os.path.join(results, f"perf.{endpoint}.dso")).read().rstrip())
EOF
if [[ -n ${KEEP_RESULTS:-} ]]; then
    mkdir -p "$KEEP_RESULTS" && cp -r "$RESULTS"/. "$KEEP_RESULTS"/
fi
