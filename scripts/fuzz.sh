#!/usr/bin/env bash
# Runs every Fuzz* target in the module for FUZZTIME each (make fuzz).
#
# Go 1.26's fuzz coordinator can report its own -fuzztime deadline as a failure:
# the target fails with a bare "context deadline exceeded", no failing input is
# written, and the input that was running is fine (golang/go#75804, fixed in Go
# 1.27). Only that exact signature is run again, at most twice; any other
# failure, or a failing input written under testdata/fuzz, fails at once.
set -euo pipefail

go=${GO:-go}
fuzztime=${FUZZTIME:-10s}
attempts=3

# coordinator_race LOG TARGET: the log's only failure is TARGET failing with the
# coordinator's bare deadline message (a failure raised by the target itself
# carries a file:line prefix and writes its input).
coordinator_race() {
  local log=$1 target=$2
  [ "$(grep -c -- '^--- FAIL: ' "$log")" -eq 1 ] &&
    grep -A1 -- "^--- FAIL: $target (" "$log" | tail -n1 | grep -qx '    context deadline exceeded' &&
    ! grep -q 'Failing input written to' "$log"
}

corpus_files() {
  find "$1" -type f 2>/dev/null | sort || true
}

log=$(mktemp)
trap 'rm -f "$log"' EXIT

for pkg in $($go list ./...); do
  dir=$($go list -f '{{.Dir}}' "$pkg")
  for target in $($go test -list '^Fuzz' "$pkg" 2>/dev/null | grep '^Fuzz' || true); do
    for attempt in $(seq 1 "$attempts"); do
      echo "fuzz $pkg $target ($fuzztime, attempt $attempt of $attempts)"
      before=$(corpus_files "$dir/testdata/fuzz/$target")
      rc=0
      $go test -run '^$' -fuzz "^$target\$" -fuzztime "$fuzztime" -fuzzminimizetime 10s "$pkg" 2>&1 | tee "$log" || rc=$?
      [ "$rc" -eq 0 ] && break
      after=$(corpus_files "$dir/testdata/fuzz/$target")
      if [ "$before" = "$after" ] && [ "$attempt" -lt "$attempts" ] && coordinator_race "$log" "$target"; then
        echo "fuzz $target: the coordinator reported its own deadline (golang/go#75804), no input failed; running it again"
        continue
      fi
      echo "fuzz $pkg $target failed (exit $rc)" >&2
      exit "$rc"
    done
  done
done
