#!/usr/bin/env bash
# Scale figures (docs/benchmarks.md, "Scale"): generates a data set of
# PACKAGES npm packages and VERSIONS versions into a new data directory
# (test/scale), starts trove serve on it on 127.0.0.1 and measures start-up,
# uncached and cached reads, tarballs, publishes under contention, memory,
# database and log size, and trove verify --audit over the whole log. Every
# load phase is bounded in time. Prints a Markdown summary; raw output is in
# $WORK.
#
# Usage: WORK=/tmp/trove-scale scripts/scale.sh
#        PACKAGES=100000 VERSIONS=1000000 MAX_VERSIONS=5000   (the default)
#        DB=postgres                    (starts Debian's PostgreSQL from initdb
#                                        in $WORK/pg on 127.0.0.1:$PG_PORT)
#        DB=postgres PG_URL_FILE=FILE   (or a file holding the postgres:// URL
#                                        of an empty database to use instead)
#        DUR=20s CONNS=8 PUBLISHERS=8   (load phases)
# The data directory is kept ($WORK/data-$DB-$PACKAGES-$VERSIONS) and reused
# by the next run with the same settings; generation takes about 10 to 20
# minutes for the default size on 2 vCPUs.
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${WORK:?set WORK to a scratch folder}
PACKAGES=${PACKAGES:-100000}; VERSIONS=${VERSIONS:-1000000}; MAX_VERSIONS=${MAX_VERSIONS:-5000}
DB=${DB:-sqlite}; PORT=${PORT:-18090}; DUR=${DUR:-20s}; CONNS=${CONNS:-8}; PUBLISHERS=${PUBLISHERS:-8}
for tool in wrk curl jq /usr/bin/time; do
	command -v $tool >/dev/null || { echo "scale.sh: needs $tool (apt-get install wrk curl jq time)" >&2; exit 1; }
done
case $DB in
sqlite) command -v sqlite3 >/dev/null || { echo "scale.sh: needs sqlite3 for the size figures (apt-get install sqlite3)" >&2; exit 1; } ;;
postgres) command -v psql >/dev/null || { echo "scale.sh: DB=postgres needs psql and, unless PG_URL_FILE is given, the server (apt-get install postgresql)" >&2; exit 1; } ;;
*) echo "scale.sh: DB must be sqlite or postgres, not $DB" >&2; exit 1 ;;
esac
mkdir -p "$WORK"
export GOTOOLCHAIN=local GOFLAGS=-buildvcs=false
go build -o "$WORK/trove" ./cmd/trove
go build -o "$WORK/scale" ./test/scale

DATA="$WORK/data-$DB-$PACKAGES-$VERSIONS"
PG_PORT=${PG_PORT:-15433}
# startpg runs PostgreSQL from Debian's binaries, with initdb in $WORK/pg on
# the first run (as the postgres user when run as root: initdb refuses
# root), durable (fsync on) and with shared_buffers of 2 GB, and writes
# the URL of its database "trove" to PG_URL_FILE (mode 0600).
startpg() {
	local bin; bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
	[ -x "$bin/initdb" ] || { echo "scale.sh: no PostgreSQL server binaries: apt-get install postgresql" >&2; exit 1; }
	local as=(); [ "$(id -u)" = 0 ] && as=(runuser -u postgres --)
	PG_URL_FILE=$WORK/pg/url
	if [ ! -f "$PG_URL_FILE" ]; then
		mkdir -p "$WORK/pg"; chown "$([ "$(id -u)" = 0 ] && echo postgres || id -un)" "$WORK/pg"; chmod 700 "$WORK/pg"
		local pw; pw=$(head -c 18 /dev/urandom | base64 | tr '+/' 'ab')
		printf '%s\n' "$pw" > "$WORK/pg.pw.tmp"; chmod 644 "$WORK/pg.pw.tmp"
		"${as[@]}" "$bin/initdb" -D "$WORK/pg/data" -U trove --pwfile="$WORK/pg.pw.tmp" -A scram-sha-256 >/dev/null
		rm -f "$WORK/pg.pw.tmp"
		(umask 077; printf 'postgres://trove:%s@127.0.0.1:%s/trove?sslmode=disable\n' "$pw" "$PG_PORT" > "$PG_URL_FILE")
		NEWPG=1
	fi
	"${as[@]}" "$bin/pg_ctl" -D "$WORK/pg/data" -l "$WORK/pg/log" -w -o "-h 127.0.0.1 -p $PG_PORT -k $WORK/pg -c shared_buffers=2GB" start >/dev/null
	PGURL=$(cat "$PG_URL_FILE")
	if [ "${NEWPG:-}" = 1 ]; then psql "${PGURL%/trove*}/postgres?sslmode=disable" -qc "CREATE DATABASE trove" >/dev/null; fi
	PGSTOP=("${as[@]}" "$bin/pg_ctl" -D "$WORK/pg/data" -m fast stop)
}
if [ "$DB" = postgres ] && [ -z "${PG_URL_FILE:-}" ]; then startpg; fi
CONF="$WORK/trove-$DB.toml"
BASE=http://127.0.0.1:$PORT
{
	printf 'data_dir = "%s"\nlisten = "127.0.0.1:%s"\nbase_url = "%s"\n' "$DATA" "$PORT" "$BASE"
	# The publish phase publishes as fast as it can, from several clients.
	printf '[rates]\npublishes = "0"\n'
	if [ "$DB" = postgres ]; then printf '[database]\ndriver = "postgres"\nurl_file = "%s"\n' "$PG_URL_FILE"; fi
} > "$CONF"
PLAN=(-packages "$PACKAGES" -versions "$VERSIONS" -max-versions "$MAX_VERSIONS")

if [ ! -f "$DATA/scale-tokens" ]; then
	echo "generating $PACKAGES packages, $VERSIONS versions into $DB ($DATA)" >&2
	/usr/bin/time -v -o "$WORK/generate-$DB.time" "$WORK/scale" generate -config "$CONF" "${PLAN[@]}" -tokens "$DATA/scale-tokens.new" \
		> "$WORK/generate-$DB.out"
	mv "$DATA/scale-tokens.new" "$DATA/scale-tokens"
fi

rss() { awk '/^VmRSS/ {printf "%.0f", $2/1024}' /proc/$1/status; }
hwm() { awk '/^VmHWM/ {printf "%.0f", $2/1024}' /proc/$1/status; }
# start launches trove serve (TPID) and sets STARTUP to the seconds until
# /readyz answers.
start() {
	local t0; t0=$(date +%s.%N)
	"$WORK/trove" serve --config "$CONF" >> "$WORK/serve-$DB.log" 2>&1 &
	TPID=$!
	for _ in $(seq 1 1200); do
		curl -sf "$BASE/readyz" >/dev/null && break
		kill -0 $TPID 2>/dev/null || { echo "scale.sh: trove serve exited; see $WORK/serve-$DB.log" >&2; exit 1; }
		sleep 0.05
	done
	STARTUP=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {printf "%.2f", b - a}')
}
stop() { kill $TPID; wait $TPID 2>/dev/null || true; }
trap 'if [ -n "${TPID:-}" ]; then kill $TPID 2>/dev/null; fi; if [ -n "${PGSTOP:-}" ]; then "${PGSTOP[@]}" >/dev/null; fi' EXIT

start; startup=$STARTUP; stop       # the first start after generation
start; startup2=$STARTUP             # a second start: the one the figures are taken on
rss_start=$(rss $TPID)
LOAD=("$WORK/scale" load -url "$BASE" "${PLAN[@]}" -duration "$DUR" -conns "$CONNS" -publishers "$PUBLISHERS" -tokens "$DATA/scale-tokens")
"${LOAD[@]}" -phases uncached,uncached-large > "$WORK/load-read-$DB.md"
rss_reads=$(rss $TPID)

mapfile -t sample < <("$WORK/scale" sample -url "$BASE" "${PLAN[@]}")
wrkrun() { # name, url, accept
	wrk -t2 -c64 -d"$DUR" --latency -H "Accept: $3" "$2" > "$WORK/wrk-$1-$DB.txt"
	local rps p50 p99
	rps=$(awk '/^Requests\/sec/ {printf "%.0f", $2}' "$WORK/wrk-$1-$DB.txt")
	p50=$(awk '$1 == "50%" {print $2}' "$WORK/wrk-$1-$DB.txt")
	p99=$(awk '$1 == "99%" {print $2}' "$WORK/wrk-$1-$DB.txt")
	echo "| $1 (wrk, 64 connections) | $rps | $p50 | $p99 |"
}
cached=$(wrkrun cached-packument "${sample[0]}" application/vnd.npm.install-v1+json)
tarball=$(wrkrun tarball "${sample[1]}" '*/*')
rss_wrk=$(rss $TPID)

"${LOAD[@]}" -phases publish > "$WORK/load-publish-$DB.md"
sleep 5
rss_steady=$(rss $TPID); rss_peak=$(hwm $TPID)

/usr/bin/time -v -o "$WORK/verify-$DB.time" "$WORK/trove" verify --audit --url "$BASE" --key-file "$DATA/log/verifier.key" \
	--state "$(mktemp -d)" > "$WORK/verify-$DB.out"
stop

audit_s=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$WORK/verify-$DB.time")
audit_mb=$(awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2/1024}' "$WORK/verify-$DB.time")
records=$(awk '/^audited/ {print $2}' "$WORK/verify-$DB.out")
if [ "$DB" = sqlite ]; then
	db_size=$(du -cb "$DATA"/trove.db* | awk 'END {printf "%.0f MiB", $1/1048576}')
	log_size=$(sqlite3 "$DATA/trove.db" "SELECT printf('%.0f MiB', SUM(pgsize)/1048576.0) FROM dbstat WHERE name LIKE 'log_%' OR name LIKE 'sqlite_autoindex_log_%'")
else
	PGURL=$(cat "$PG_URL_FILE")
	psql "$PGURL" -qc "VACUUM ANALYZE" >/dev/null
	db_size=$(psql "$PGURL" -Atc "SELECT pg_size_pretty(pg_database_size(current_database()))")
	log_size=$(psql "$PGURL" -Atc "SELECT pg_size_pretty(pg_total_relation_size('log_records') + pg_total_relation_size('log_hashes') + pg_total_relation_size('log_index'))")
fi
blob_size=$(du -sb "$DATA/blobs" | awk '{printf "%.0f MiB", $1/1048576}')
gen=$(grep '^generated' "$WORK/generate-$DB.out" || true)
gen_rss=$(awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2/1024}' "$WORK/generate-$DB.time" 2>/dev/null || true)

echo "## Scale run $(date -u +%Y-%m-%d), $DB, $PACKAGES packages, $VERSIONS versions"
echo
echo "Machine: $(nproc) vCPU, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(go env GOVERSION)."
echo "Generation: ${gen:-reused an existing data set} (generator peak RSS ${gen_rss:-?} MB)."
echo
echo "| read phase | requests | errors | req/s | p50 ms | p90 ms | p99 ms | max ms | mean KB/resp |"
tail -n +2 "$WORK/load-read-$DB.md"
tail -n +3 "$WORK/load-publish-$DB.md"
echo
echo "| cached reads | req/s | p50 | p99 |"
echo "|---|---|---|---|"
echo "$cached"
echo "$tarball"
echo
echo "| figure | value |"
echo "|---|---|"
echo "| start-up to ready (first after generation; second) | ${startup} s; ${startup2} s |"
echo "| server RSS: after start; after the uncached reads; after wrk; steady after publishing; peak (VmHWM) | ${rss_start}; ${rss_reads}; ${rss_wrk}; ${rss_steady}; ${rss_peak} MB |"
echo "| database size on disk | $db_size |"
echo "| transparency log (records; tables and indexes) | $records; $log_size |"
echo "| blobs on disk | $blob_size |"
echo "| trove verify --audit over the whole log: wall time; peak RSS | $audit_s; ${audit_mb} MB |"
echo
echo "Packages used: ${sample[0]} (cached packument), ${sample[1]} (tarball)."
if [ -n "${PGSTOP:-}" ]; then "${PGSTOP[@]}" >/dev/null; PGSTOP=; fi
