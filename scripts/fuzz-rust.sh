#!/usr/bin/env bash
# Coverage-guided fuzzing (cargo-fuzz / libFuzzer) of the kernels' Rust entry points:
# fuzz/fuzz_targets/json.rs (json::validate + json::parse, checked against each other and against
# serde_json), fuzz/fuzz_targets/csv.rs (csv::parse with options from the first two bytes,
# checked for a self-consistent packed table), fuzz/fuzz_targets/image_metadata.rs (the image
# header walks, bounded and full, checked against each other) and
# fuzz/fuzz_targets/image_transform.rs (every decoder, chosen by magic bytes, then resize,
# orientation and encode with options from the first byte; every output read back).
#
# Usage: scripts/fuzz-rust.sh [seconds per target, default 60] [targets..., default: all four]
# Needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`).
# The corpus is seeded at run time from testdata/ (JSONTestSuite, csv-spectrum, images) into
# fuzz/corpus/<target>/ (gitignored; grows across runs). Crashes land in fuzz/artifacts/<target>/;
# each run's libFuzzer log is kept in fuzz/logs/ (gitignored).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
secs="${1:-60}"
shift || true
targets=("$@")
if [ "${#targets[@]}" -eq 0 ]; then targets=(json csv image_metadata image_transform); fi
conf="$root/testdata"
fuzz="$root/fuzz"
export CARGO_TARGET_DIR="$fuzz/target"

if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  echo "cargo-fuzz is missing: cargo install cargo-fuzz" >&2
  exit 2
fi

seed_corpus() {
  local t="$1" dir="$fuzz/corpus/$1"
  mkdir -p "$dir"
  case "$t" in
    json)
      if [ -d "$conf/JSONTestSuite" ]; then
        cp "$conf"/JSONTestSuite/test_parsing/* "$dir/" 2>/dev/null || true
        cp "$conf"/JSONTestSuite/test_transform/* "$dir/" 2>/dev/null || true
      fi
      ;;
    csv)
      # The target reads two option bytes first: byte 0 = quote index << 4 | delimiter index
      # (0x10: ',' and '"'; 0x52: ';' and "'"; 0x13: TAB and '"'), byte 1 = dynamicTyping | skipEmptyLines << 1.
      if [ -d "$conf/csv-spectrum/csvs" ]; then
        for f in "$conf"/csv-spectrum/csvs/*.csv; do
          b="$(basename "$f" .csv)"
          for head in '\x10\x00' '\x10\x03' '\x52\x01' '\x13\x02'; do
            { printf "$head"; cat "$f"; } > "$dir/$b-${head//\\x/}"
          done
        done
      fi
      ;;
    image_metadata)
      # Every image fixture under max_len (the tower photos are larger).
      find "$conf/images" -maxdepth 1 -type f -size -32k -exec cp {} "$dir/" \;
      ;;
    image_transform)
      # Byte 0 picks the options (see the target): 0x0d PNG inside 14x17, 0x06 WebP contain
      # 7x17, 0x52 WebP outside 19x17 rotated 180, 0x80 JPEG at full size, 0xa1 PNG full size
      # rotated 90.
      for f in $(find "$conf/images" -maxdepth 1 -type f -size -32k); do
        b="$(basename "$f")"
        for head in '\x0d' '\x06' '\x52' '\x80' '\xa1'; do
          { printf "$head"; cat "$f"; } > "$dir/$b-${head//\\x/}"
        done
      done
      ;;
  esac
}

echo "== building fuzz targets (nightly, $CARGO_TARGET_DIR)"
(cd "$root" && nice -n 10 cargo +nightly fuzz build -O)

mkdir -p "$fuzz/logs"
count() { if [ -d "$1" ]; then find "$1" -type f | wc -l; else echo 0; fi; }
status=0
for t in "${targets[@]}"; do
  seed_corpus "$t"
  case "$t" in json | image_*) max_len=32768 ;; *) max_len=8192 ;; esac
  log="$fuzz/logs/$t-$(date -u +%Y%m%dT%H%M%SZ).log"
  before=$(count "$fuzz/artifacts/$t")
  echo "== fuzzing $t for $secs s (corpus $(count "$fuzz/corpus/$t") files, max_len $max_len), log $log"
  set +e
  (cd "$root" && nice -n 10 cargo +nightly fuzz run -O "$t" -- \
    -max_total_time="$secs" -max_len="$max_len" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1) >"$log" 2>&1
  rc=$?
  set -e
  after=$(count "$fuzz/artifacts/$t")
  last=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
  execs=$(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}' || true)
  rate=$(grep -E '^stat::average_exec_per_sec' "$log" | awk '{print $2}' || true)
  echo "   exit $rc; last status: $last"
  echo "   executions ${execs:-?} (${rate:-?}/s), corpus now $(count "$fuzz/corpus/$t") files, new crash artifacts $((after - before))"
  if [ "$rc" -ne 0 ] || [ "$after" -gt "$before" ]; then
    status=1
    grep -E 'panicked|ERROR|SUMMARY|Test unit written' "$log" | head -20 || true
  fi
done
exit $status
