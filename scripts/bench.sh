#!/usr/bin/env bash
# Read-path load test of Trove beside nginx serving the same bytes as static
# files (docs/benchmarks.md tells how to add Verdaccio), with the shared anchor
# workload in ../shared/bench. Every server listens on 127.0.0.1 and every
# wrk run is bounded by DUR; the whole run takes about 15 minutes, most of it
# publishing the corpus with the real npm client.
#
# Usage: WORK=/tmp/trove-bench scripts/bench.sh
#        ROUNDS=3 DUR=10s CONNS="16 64"   (the anchor settings, the default)
# Results: $WORK/results/*.tsv and a markdown summary on stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH=${BENCH:-$(cd ../shared/bench && pwd)}
WORK=${WORK:?set WORK to a scratch folder}
export WORK ROUNDS=${ROUNDS:-3} DUR=${DUR:-10s} CONNS=${CONNS:-16 64}
TPORT=${TPORT:-18080}; NPORT=${NPORT:-18081}
for tool in wrk nginx jq node npm; do command -v $tool >/dev/null || { echo "bench.sh: needs $tool (apt-get install wrk nginx jq)" >&2; exit 1; }; done
mkdir -p "$WORK"
export GOTOOLCHAIN=local GOFLAGS=-buildvcs=false
go build -o "$WORK/trove" ./cmd/trove

DATA="$WORK/trove-data"
fresh=0; [ -d "$DATA" ] || fresh=1
"$WORK/trove" serve --data "$DATA" --listen 127.0.0.1:$TPORT > "$WORK/trove.log" 2>&1 &
TPID=$!
trap 'kill $TPID 2>/dev/null; [ -f "$WORK/nginx/nginx.pid" ] && kill $(cat "$WORK/nginx/nginx.pid") 2>/dev/null; true' EXIT
for i in $(seq 1 100); do curl -sf http://127.0.0.1:$TPORT/readyz >/dev/null && break; sleep 0.1; done
REG=http://127.0.0.1:$TPORT/npm/
if [ $fresh = 1 ]; then
	printf 'bench-password-123456\n' | "$WORK/trove" admin user add bench --email bench@example.invalid --password-stdin --verified --data "$DATA"
	TOKEN=$("$WORK/trove" token create --user bench --scope '*' --action read,publish,yank --data "$DATA")
	echo "$TOKEN" > "$WORK/token"
	printf 'registry=%s\n//127.0.0.1:%s/npm/:_authToken=%s\naudit=false\nfund=false\nupdate-notifier=false\n' "$REG" $TPORT "$TOKEN" > "$WORK/npmrc"
	[ -d "$WORK/corpus" ] || sh "$BENCH/gen-corpus.sh"
	echo "publishing the corpus with npm (about 1200 publishes)"
	REG=$REG NPMRC="$WORK/npmrc" sh "$BENCH/publish-corpus.sh"
fi
TOKEN=$(cat "$WORK/token")

# nginx gets the same bytes: Trove's packuments with its tarball URLs
# pointed at nginx (the URLs differ by the /npm prefix only).
SRC=$REG DST=http://127.0.0.1:$NPORT/ sh "$BENCH/render-static.sh"
PORT=$NPORT sh "$BENCH/start-nginx.sh"
NPIDS=$(pgrep -P "$(cat "$WORK/nginx/nginx.pid")" | tr '\n' ' ')

TOKEN=$TOKEN A=http://127.0.0.1:$TPORT/npm A_NAME=trove A_PIDS="$TPID" B=http://127.0.0.1:$NPORT B_NAME=nginx B_PIDS="$NPIDS" \
	CASES="${CASES:-full-small abbr-small full-500 abbr-500 tarball full-500-gzip auth-small}" bash "$BENCH/bench-http.sh" | tee "$WORK/bench-http.out"
res=$(grep '^results:' "$WORK/bench-http.out" | awk '{print $2}')
sh "$BENCH/summarize-http.sh" "$res" trove nginx
