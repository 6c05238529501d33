#!/usr/bin/env bash
# Release builds of trove for linux and darwin on amd64 and arm64, from one
# command, reproducibly: static (CGO_ENABLED=0; SQLite is pure Go),
# -trimpath, the build date taken from the commit, deterministic archives.
#
# Usage: scripts/release.sh [VERSION] [OUTDIR]
#   VERSION defaults to `git describe --tags --always --dirty`, OUTDIR to dist/.
# Writes OUTDIR/trove_<VERSION>_<os>_<arch>.tar.gz (the binary, the README,
# the systemd unit) and OUTDIR/SHA256SUMS. `trove version` in each binary
# reports VERSION, the commit and the commit's date.
set -euo pipefail
cd "$(dirname "$0")/.."
export GOTOOLCHAIN=local GOFLAGS=-buildvcs=false
version=${1:-$(git describe --tags --always --dirty 2>/dev/null || echo devel)}
out=${2:-dist}
commit=$(git rev-parse HEAD 2>/dev/null || echo unknown)
epoch=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}
date=$(date -u -d "@$epoch" +%Y-%m-%dT%H:%M:%SZ)
case $version in *[!A-Za-z0-9._+-]*) echo "release.sh: version $version: use letters, digits and . _ + -" >&2; exit 1;; esac

mkdir -p "$out"
rm -f "$out/SHA256SUMS"
for target in linux/amd64 linux/arm64 darwin/amd64 darwin/arm64; do
	os=${target%/*} arch=${target#*/}
	name=trove_${version}_${os}_${arch}
	stage=$(mktemp -d)
	mkdir "$stage/$name"
	CGO_ENABLED=0 GOOS=$os GOARCH=$arch go build -trimpath \
		-ldflags "-s -w -buildid= -X main.version=$version -X main.commit=$commit -X main.date=$date" \
		-o "$stage/$name/trove" ./cmd/trove
	cp README.md packaging/trove.service "$stage/$name/"
	tar -C "$stage" --sort=name --mtime="@$epoch" --owner=0 --group=0 --numeric-owner \
		-cf - "$name" | gzip -n -9 >"$out/$name.tar.gz"
	rm -rf "$stage"
	echo "built $out/$name.tar.gz"
done
(cd "$out" && sha256sum trove_"${version}"_*.tar.gz >SHA256SUMS)
cat "$out/SHA256SUMS"
