#!/usr/bin/env bash
# The whole test suite, as CI runs it (.ci/run calls this script).
#
# It installs what the tests need on a fresh Debian machine of the project's
# kind (twine, python3-build and postgresql from Debian; npm, node, pip and
# Go are on the machine; versitygw, an S3 server, with a pinned go install),
# then runs formatting and vet checks, the unit tests with the race
# detector, the fuzz targets' seed corpora plus a short fuzzing budget, and
# the end-to-end tests with the real npm, pip, twine and go clients against
# a real `trove serve`.
#
# Usage: scripts/test.sh            everything
#        FUZZTIME=0 scripts/test.sh skip the extra fuzzing (seeds still run)
#
# The fuzzing budget is a count of executions, not a duration: with a
# duration, Go 1.26's fuzz coordinator can fail a target with a bare
# "context deadline exceeded" when the time runs out on a busy machine
# (golang/go#75804, fixed in Go 1.27), which is no finding at all.
set -euo pipefail
cd "$(dirname "$0")/.."
export GOTOOLCHAIN=local GOFLAGS=-buildvcs=false
FUZZTIME=${FUZZTIME:-5000x}

step() { printf '\n=== %s (%s)\n' "$*" "$(date -u +%T)"; }

step "installing test dependencies"
need=()
command -v twine >/dev/null || need+=(twine)
/usr/bin/python3 -c 'import build, wheel, setuptools' 2>/dev/null || need+=(python3-build python3-wheel python3-setuptools)
# Debian's setuptools and wheel wheels: the PyPI upstream test (test/e2e/pypi_upstream_test.go)
# serves them from an upstream Trove so that pip's isolated builds find them.
compgen -G '/usr/share/python-wheels/setuptools-*.whl' >/dev/null || need+=(python3-setuptools-whl)
compgen -G '/usr/share/python-wheels/wheel-*.whl' >/dev/null || need+=(python3-wheel-whl)
# ...and Debian's pip runs that build: Debian's setuptools is patched for Debian's Python.
/usr/bin/python3 -m pip --version >/dev/null 2>&1 || need+=(python3-pip)
# PostgreSQL's server binaries: tests start their own server (internal/meta/pgtest).
command -v initdb >/dev/null || compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || need+=(postgresql)
# ClamAV's daemon: tests start their own clamd with a signature database of
# their own (internal/scan/clamd/clamdtest). freshclam, which it brings, is
# never run: the tests need no downloaded signatures.
[ -x /usr/sbin/clamd ] || need+=(clamav-daemon)
if [ ${#need[@]} -gt 0 ]; then
	SUDO=; [ "$(id -u)" -eq 0 ] || SUDO=sudo
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
# Chromium, for the web interface's browser tests (internal/web/webtest),
# with its recommended fonts so that pages and screenshots render text.
if ! command -v chromium >/dev/null; then
	SUDO=; [ "$(id -u)" -eq 0 ] || SUDO=sudo
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi
# versitygw, the S3 server of the s3 blob store's tests (internal/blob/s3blob/s3test):
# a pinned go install (about a minute to build) when it is not already there.
VERSITYGW=github.com/versity/versitygw/cmd/versitygw@v1.8.0
GOBIN_DIR=$(go env GOBIN); GOBIN_DIR=${GOBIN_DIR:-$(go env GOPATH)/bin}
command -v versitygw >/dev/null || [ -x "$GOBIN_DIR/versitygw" ] || go install "$VERSITYGW"
for tool in go node npm pip twine chromium; do
	command -v "$tool" >/dev/null || { echo "test.sh: $tool is not installed and cannot be installed here" >&2; exit 1; }
done
# Go tools at exact versions: pebble, Let's Encrypt's ACME test server, for
# the ACME end-to-end test (its test certificates come with it, into the
# module cache).
PEBBLE=github.com/letsencrypt/pebble/v2/cmd/pebble@v2.10.3
[ -x "$(go env GOPATH)/bin/pebble" ] && [ -d "$(go env GOMODCACHE)/github.com/letsencrypt/pebble/v2@v2.10.3/test/certs" ] || go install "$PEBBLE"
go version; node --version; npm --version; pip --version; twine --version | head -1

step "gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then echo "gofmt would change:"; echo "$unformatted"; exit 1; fi

step "go vet"
go vet ./...
go vet -tags e2e ./test/e2e/

step "release targets type-check (scripts/release.sh builds them)"
for target in linux/arm64 darwin/amd64 darwin/arm64; do
	GOOS=${target%/*} GOARCH=${target#*/} CGO_ENABLED=0 go vet ./cmd/trove
done

step "systemd unit"
unit=$(mktemp -d)/trove.service
sed "s#/usr/local/bin/trove#$(command -v true)#" packaging/trove.service >"$unit"
if command -v systemd-analyze >/dev/null; then
	systemd-analyze verify "$unit"
else
	echo "systemd-analyze is not installed; checking the unit's syntax only"
	grep -q '^ExecStart=' "$unit"
fi

step "unit tests (race detector)"
go test -race -count=1 ./...

step "the suites that run on a database, on PostgreSQL"
# The race detector already ran over all of this code above (on SQLite); on
# PostgreSQL it runs where concurrent tests meet the engine's own locks.
TROVE_TEST_DB=postgres go test -race -count=1 ./internal/registry/ ./internal/curate/
TROVE_TEST_DB=postgres go test -count=1 ./internal/npm/ ./internal/pypi/ ./internal/goproxy/ ./internal/upstream/ ./internal/server/... ./test/authz/ ./test/scale/

if [ "$FUZZTIME" != 0 ]; then
	step "fuzzing each target (-fuzztime $FUZZTIME)"
	# Targets are found in the sources: listing them with go test -list
	# would build every package's tests once more.
	for dir in $(grep -rl --include='*_test.go' '^func Fuzz' . | xargs -n1 dirname | sort -u); do
		for target in $(grep -h --include='*_test.go' -o '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go | cut -c6- | sort -u); do
			echo "--- $dir $target"
			out=$(go test -run '^$' -fuzz "^$target\$" -fuzztime "$FUZZTIME" "$dir" 2>&1) || { echo "$out"; exit 1; }
		done
	done
fi

step "end-to-end tests with the real clients"
# Most of an end-to-end test's time is spent waiting on the clients and
# servers it starts, so two shards run side by side (each test has its own
# server, ports, homes and caches). Tests are dealt to the shards in turn.
e2e=$(mktemp -d)
go test -tags e2e -c -o "$e2e/e2e.test" ./test/e2e/
mapfile -t tests < <(cd test/e2e && "$e2e/e2e.test" -test.list '^Test' | grep '^Test')
shard=(); for i in "${!tests[@]}"; do shard[i%2]+="${shard[i%2]:+|}${tests[i]}"; done
pids=()
for i in 0 1; do
	(cd test/e2e && "$e2e/e2e.test" -test.count=1 -test.timeout=20m -test.run "^(${shard[i]})\$" > "$e2e/$i.log" 2>&1) &
	pids+=($!)
done
failed=0
for i in 0 1; do
	wait "${pids[i]}" || failed=1
	echo "--- shard $i"; cat "$e2e/$i.log"
done
rm -rf "$e2e"
[ "$failed" = 0 ]

step "all tests passed"
