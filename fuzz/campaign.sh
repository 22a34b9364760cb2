#!/usr/bin/env bash
# The fuzz campaign, outside CI: every target from its committed seeds
# (fuzz/seeds/<target>) until RUNS executions (default 1,000,000) or
# SECONDS_EACH seconds (default 1,800), whichever comes first. Prints one
# line per target: executions, seconds, corpus size, and any crash file.
#
#   bash fuzz/campaign.sh                 # every target
#   bash fuzz/campaign.sh net_frame bulk  # some
#   RUNS=100000 bash fuzz/campaign.sh     # shorter
#
# Built with -O (optimised) and -a (debug assertions, so arithmetic
# overflow panics are found as in CI's unoptimised smoke run).
#
# A crash leaves its input in fuzz/artifacts/<target>/; replay it with
# `cargo fuzz run <target> <file>`, fix it, and add it to the target's
# regression test (fuzz/README.md).
set -euo pipefail
cd "$(dirname "$0")"
RUNS="${RUNS:-1000000}"
SECONDS_EACH="${SECONDS_EACH:-1800}"
command -v cargo-fuzz >/dev/null || cargo install -q --locked cargo-fuzz
python3 seed_corpus.py >/dev/null
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  listed="$(RUSTC_BOOTSTRAP=1 cargo fuzz list)"   # a failure stops the script here
  read -r -a targets <<<"$(echo $listed)"
  [ ${#targets[@]} -gt 0 ] || { echo "cargo fuzz list named no target"; exit 1; }
fi
# -O for speed, -a to keep debug assertions (overflow checks) on.
RUSTC_BOOTSTRAP=1 cargo fuzz build -O -a >/dev/null 2>&1 || RUSTC_BOOTSTRAP=1 cargo fuzz build -O -a
status=0
printf '%-16s %12s %8s %8s  %s\n' target executions seconds corpus result
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t"
  log="$(mktemp)"
  start=$(date +%s)
  if RUSTC_BOOTSTRAP=1 cargo fuzz run -O -a "$t" "corpus/$t" "seeds/$t" -- \
      -runs="$RUNS" -max_total_time="$SECONDS_EACH" -print_final_stats=1 >"$log" 2>&1; then
    result=ok
  else
    result="FAILED: $(ls -t "artifacts/$t" 2>/dev/null | head -n 1 || true)"; status=1
  fi
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
  printf '%-16s %12s %8s %8s  %s\n' "$t" "$execs" "$(( $(date +%s) - start ))" "$(ls "corpus/$t" | wc -l)" "$result"
  [ "$result" = ok ] || tail -n 30 "$log"
  rm -f "$log"
done
exit $status
