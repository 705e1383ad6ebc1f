#!/usr/bin/env bash
# Regenerates the example reports from the shipped scenarios: one run of each, the field report's
# four heap sizes on the reference scenario, and gc_grace_seconds on the queue (their [sweep]
# sections). The CSV data files are left out of git (.gitignore); everything else is committed.
#   bash reports/generate.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
bin=target/release/cassim
mkdir -p reports/check
for s in m2m-readings queue sessions registry wide-rows; do
    # What `cassim check` says before any simulation (exit 1: error-level findings).
    "$bin" check "scenarios/$s.toml" > "reports/check/$s.txt" || [ $? -eq 1 ]
    rm -rf "reports/$s"
    # Exit status 1 means error-level findings: a report all the same.
    "$bin" run "scenarios/$s.toml" --out "reports/$s" >/dev/null || [ $? -eq 1 ]
done
rm -rf reports/m2m-heap-sweep reports/queue-gc-grace-sweep
"$bin" sweep scenarios/m2m-readings.toml --out reports/m2m-heap-sweep >/dev/null
"$bin" sweep scenarios/queue.toml --out reports/queue-gc-grace-sweep >/dev/null
echo "reports regenerated: $(find reports -name report.html | wc -l) HTML reports"
