#!/usr/bin/env bash
# The scanners' figures on real packages (issue 13, docs/benchmarks.md "Upload
# scanning"): fetches the popular npm packages of scripts/scan/popular-npm.txt
# with `npm pack` (the npm registry the machine's npm is configured with; not
# run by the tests), scans each with `trove scan` (every scanner, the slow
# ones too), then publishes them all to a fresh `trove serve` on 127.0.0.1
# and times each publish with every inline scanner on.
#
# Usage: WORK=/tmp/trove-scan scripts/scan-corpus.sh
#        LIMIT=350 (packages fetched)  PORT=18090
# Results: $WORK/scan.jsonl, $WORK/publish.tsv and a summary on stdout:
# verdicts (every hold and reject with its findings), scan throughput,
# publish p50/p90 and the publishes refused.
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${WORK:?set WORK to a scratch folder}
LIMIT=${LIMIT:-350}; PORT=${PORT:-18090}
for tool in npm node jq curl; do command -v $tool >/dev/null || { echo "scan-corpus.sh: needs $tool" >&2; exit 1; }; done
export GOTOOLCHAIN=local GOFLAGS=-buildvcs=false
mkdir -p "$WORK/corpus"
go build -o "$WORK/trove" ./cmd/trove

# 1. The corpus: npm pack each package once (kept between runs).
grep -v '^#' scripts/scan/popular-npm.txt | grep . | head -n "$LIMIT" > "$WORK/names"
pack() { # name: npm pack it into the corpus unless it is there
	stem=$(printf %s "$1" | sed 's/^@//; s#/#-#')
	ls "$stem"-[0-9]*.tgz >/dev/null 2>&1 && return 0
	timeout 120 npm pack "$1" --silent >/dev/null 2>&1 || echo "npm pack $1 failed" >&2
}
export -f pack
(cd "$WORK/corpus" && xargs -P "${JOBS:-8}" -I{} bash -c 'pack "$1"' _ {} < "$WORK/names") 2>"$WORK/pack-errors.log"
n=$(ls "$WORK/corpus"/*.tgz | wc -l)
echo "corpus: $n tarballs, $(du -sh "$WORK/corpus" | cut -f1)"

# 2. Every scanner on every tarball.
DATA="$WORK/data"; rm -rf "$DATA"
CFG="$WORK/trove.toml"
# A bench account publishes hundreds of packages with a password-level token:
# no worm guard, no publish rate limit, no second factor.
printf '[policy]\nburst_packages = 0\n\n[rates]\npublishes = "0"\n\n[accounts]\npublish_auth = "password"\n' > "$CFG"
"$WORK/trove" scan --config "$CFG" --data "$DATA" --json "$WORK"/corpus/*.tgz > "$WORK/scan.jsonl"
jq -s '{files: length, publish: map(select(.verdict=="publish"))|length, hold: map(select(.verdict=="hold"))|length,
	reject: map(select(.verdict=="reject"))|length, errors: map(select(.error))|length,
	mb: (map(.bytes)|add/1e6), unpacked_mb: (map(.unpacked)|add/1e6), seconds: (map(.seconds)|add)}
	| . + {mb_per_s_unpacked: (.unpacked_mb/.seconds), mb_per_s_files: (.mb/.seconds)}' "$WORK/scan.jsonl"
echo "holds and rejections, with why:"
jq -r 'select(.verdict=="hold" or .verdict=="reject") | "\(.verdict) \(.name)@\(.version): " +
	([.findings[] | select(.verdict!="publish") | "\(.scanner)/\(.rule) \(.file)\(if .line then ":\(.line)" else "" end): \(.message)"] | join("; "))' "$WORK/scan.jsonl"
echo "slowest scans (seconds, unpacked MB):"
jq -r '"\(.seconds*1000|floor) ms \(.unpacked/1e6*10|floor/10) MB \(.name)@\(.version)"' "$WORK/scan.jsonl" | sort -rn | head -5

# 3. Publish them all to a fresh server, timing each PUT.
"$WORK/trove" serve --config "$CFG" --data "$DATA" --listen 127.0.0.1:$PORT > "$WORK/trove.log" 2>&1 &
TPID=$!
trap 'kill $TPID 2>/dev/null; true' EXIT
for i in $(seq 1 100); do curl -sf http://127.0.0.1:$PORT/readyz >/dev/null && break; sleep 0.1; done
printf 'scan-bench-password-123\n' | "$WORK/trove" admin user add bench --email bench@example.invalid --password-stdin --verified --config "$CFG" --data "$DATA" >/dev/null
TOKEN=$("$WORK/trove" token create --user bench --scope '*' --action read,publish --config "$CFG" --data "$DATA")
timeout 1800 node scripts/scan/publish.mjs "http://127.0.0.1:$PORT/npm/" "$TOKEN" "$WORK"/corpus/*.tgz > "$WORK/publish.tsv"
echo "publishes: $(wc -l < "$WORK/publish.tsv"), by status:"
cut -f2 "$WORK/publish.tsv" | sort | uniq -c
awk -F'\t' '$2==200 || $2==201 {print $3}' "$WORK/publish.tsv" | sort -n | awk '{a[NR]=$1}
	END {if (NR) {p50 = int((NR+1)/2); p90 = int(NR*0.9); if (p90 < 1) p90 = 1
		printf "publish ms (accepted, n=%d): p50 %.1f  p90 %.1f  max %.1f\n", NR, a[p50], a[p90], a[NR]}}'
echo "refused publishes:"
awk -F'\t' '$2!=200 && $2!=201 {print $2, $1": "$4}' "$WORK/publish.tsv"
