#!/usr/bin/env bash
# Replica benchmark: one `trove serve` against two on one PostgreSQL database
# and one S3 bucket (versitygw), all on this machine (test/e2e
# BenchmarkReplicas). Cached packument reads with wrk, directly at each
# replica and through the test's Go front; publishes from 1 and 16
# concurrent publishers. Each measurement runs for DUR (default 10s); the
# whole run takes about two minutes. Figures: docs/benchmarks.md, Replicas.
#
# Usage: DUR=10s scripts/replicas-bench.sh
# Needs: wrk, PostgreSQL's binaries, versitygw, node/npm, twine, pip (what
# scripts/test.sh installs).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { echo "replicas-bench.sh: needs wrk (apt-get install wrk)" >&2; exit 1; }
export GOTOOLCHAIN=local GOFLAGS=-buildvcs=false TROVE_BENCH_DUR=${DUR:-10s}
echo "# $(date -u +%FT%TZ) $(nproc) cores; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
go test -tags e2e -run '^$' -bench '^BenchmarkReplicas$' -benchtime 1x -timeout 30m ./test/e2e/ 2>&1 |
	grep -E '^(Benchmark|    replicas_bench_test|ok|FAIL|---)' 
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)"
