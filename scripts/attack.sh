#!/usr/bin/env bash
# The attack run behind docs/attack.md: builds trove and the harness
# (test/attack), then runs every scenario against a `trove serve` with its
# default configuration on 127.0.0.1 and prints the figures as Markdown.
# Bounded: each scenario stops by itself, the whole run takes about five
# minutes, and a stuck run is killed after fifteen. Nothing leaves the
# loopback interface; attackers use other loopback addresses (127.0.0.2,
# 127.1.x.y, …) than the measuring client (127.0.0.1).
#
# Usage: scripts/attack.sh                  every scenario
#        scripts/attack.sh -only slow,huge  some (slow, uploads, signins,
#                                           bruteforce, rates, huge, bytes,
#                                           upstream, websignin, webfactor,
#                                           webmail, webbodies, webpages,
#                                           scanning)
#        scripts/attack.sh -slow-conns 5000 -hold 15s
#
# It needs an open file limit of 20000 or more for the 20,000 slow
# connections (spread over five attacker processes of 4,000 each).
set -euo pipefail
cd "$(dirname "$0")/.."
export GOTOOLCHAIN=local GOFLAGS=-buildvcs=false
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
go build -o "$dir/trove" ./cmd/trove
go build -o "$dir/attack" ./test/attack
timeout 900 "$dir/attack" -trove "$dir/trove" "$@"
