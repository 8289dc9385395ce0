#!/usr/bin/env bash
# Whole-run throughput and memory of ccgsim at growing scales, as reported in
# docs/PERFORMANCE.md. Each configuration is run --repeat times; the median is reported.
# Usage: benches/scaling.sh [OUT.csv]   (default results/bench/scaling.csv)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-results/bench/scaling.csv}
mkdir -p "$(dirname "$out")"
rm -f "$out"
cargo build --release --quiet
bench() { ./target/release/ccgsim bench --csv "$out" "$@"; }

echo "== population size (36 months)"
bench --preset england      --replicates 100 --repeat 3
bench --preset england-x10  --replicates 10  --repeat 3
bench --preset england-x100 --replicates 1   --repeat 3
bench --preset huge         --replicates 1   --repeat 1

echo "== months (England, 20 replicates)"
for ticks in 12 36 120; do
  bench --preset england --ticks "$ticks" --replicates 20 --repeat 3
done

echo "== CCG size (1,000 CCGs of equal size, 12 months)"
for k in 10 33 100 1000; do
  bench --ccgs 1000 --practices-per-ccg "$k" --ticks 12 --replicates 1 --repeat 3
done

echo "== threads (England ensemble, 100 replicates)"
bench --preset england --replicates 100 --repeat 3 --scaling

echo "rows written to $out"
