#!/usr/bin/env bash
# Runs the JS test suite against an AddressSanitizer build of the addon.
#
# - builds the addon with nightly `-Zsanitizer=address` into target/asan (its own target dir,
#   so the normal release build is untouched);
# - a cdylib built with ASan does not carry the ASan runtime (rustc links it into executables
#   only), and node is not instrumented, so the runtime is turned into a shared object from the
#   nightly toolchain's own static archive (minus its .preinit_array object, which a DSO may not
#   have) and LD_PRELOADed: the same runtime version as the instrumentation;
# - copies the package's JS files, the tests and the ASan .node into a temporary directory
#   (node_modules symlinked) and runs `node --test __test__/*.test.js` there.
#
# Usage: scripts/asan.sh [test files...]   (default: every __test__/*.test.js)
# Env: ASAN_KEEP=1 keeps the temporary directory; ASAN_TARGET_DIR overrides target/asan;
# ASAN_OPTIONS is extended, not replaced.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
triple=x86_64-unknown-linux-gnu
target_dir="${ASAN_TARGET_DIR:-$root/target/asan}"
sysroot="$(rustc +nightly --print sysroot)"
rt_archive="$sysroot/lib/rustlib/$triple/lib/librustc-nightly_rt.asan.a"

echo "== building the addon with AddressSanitizer (nightly, $target_dir)"
(
  cd "$root"
  # RUSTFLAGS with an explicit --target applies to the target crates only, not build scripts.
  CARGO_TARGET_DIR="$target_dir" \
  RUSTFLAGS="-Zsanitizer=address -Cforce-frame-pointers=yes -Cdebuginfo=1" \
    nice -n 10 cargo +nightly rustc --locked --lib --crate-type cdylib --target "$triple"
)
lib="$target_dir/$triple/debug/libpool.so"
test -f "$lib"
# The instrumentation is really there: the library calls into the ASan runtime.
# (no `grep -q` in a pipe: with pipefail, nm's SIGPIPE would fail the check.)
if ! nm -D "$lib" | grep -c ' U __asan_init' >/dev/null; then echo "no ASan instrumentation in $lib" >&2; exit 1; fi

tmp="$(mktemp -d /tmp/pool-asan.XXXXXX)"
if [ "${ASAN_KEEP:-0}" != 1 ]; then trap 'rm -rf "$tmp"' EXIT; fi

echo "== ASan runtime as a shared object (from $rt_archive)"
mkdir -p "$tmp/rt"
(cd "$tmp/rt" && ar x "$rt_archive" && rm -f asan_preinit.cpp.o)
gcc -shared -o "$tmp/libasan-rt.so" "$tmp"/rt/*.o -lpthread -ldl -lm -lrt -lstdc++
rm -rf "$tmp/rt"

echo "== self-test: a deliberate heap overflow in an ASan-built addon must be reported"
# Proves the whole arrangement (instrumented cdylib + preloaded runtime inside node) can see a bug,
# so "0 reports" below means something. The crate is written here, not kept in the repository.
mkdir -p "$tmp/selftest/src"
cat >"$tmp/selftest/Cargo.toml" <<'TOML'
[package]
name = "asan-selftest"
version = "0.0.0"
edition = "2021"
[lib]
crate-type = ["cdylib"]
[workspace]
TOML
cat >"$tmp/selftest/src/lib.rs" <<'RS'
use std::hint::black_box;
#[no_mangle]
pub extern "C" fn napi_register_module_v1(_env: *mut u8, exports: *mut u8) -> *mut u8 {
    let v: Vec<u8> = black_box(vec![1u8; 8]);
    let i = black_box(8usize);
    // SAFETY: none; reading one byte past the allocation is the point.
    black_box(unsafe { std::ptr::read_volatile(v.as_ptr().add(i)) });
    exports
}
RS
(cd "$tmp/selftest" && CARGO_TARGET_DIR="$target_dir/selftest" RUSTFLAGS="-Zsanitizer=address" \
  nice -n 10 cargo +nightly build --quiet --target "$triple")
cp "$target_dir/selftest/$triple/debug/libasan_selftest.so" "$tmp/selftest.node"
selftest_out=$(LD_PRELOAD="$tmp/libasan-rt.so" ASAN_OPTIONS=detect_leaks=0 \
  node -e "process.dlopen({ exports: {} }, '$tmp/selftest.node')" 2>&1 || true)
if ! grep -c 'heap-buffer-overflow' <<<"$selftest_out" >/dev/null; then
  echo "ASan self-test FAILED: no report for a deliberate overflow:" >&2
  echo "$selftest_out" | head -20 >&2
  exit 1
fi
echo "   reported: $(grep -m1 'ERROR: AddressSanitizer' <<<"$selftest_out" | sed 's/==[0-9]*==//')"

echo "== package copy in $tmp/pkg"
mkdir -p "$tmp/pkg"
cp "$root"/{binding.js,binding.d.ts,package.json} "$tmp/pkg/"
cp -r "$root/lib" "$root/__test__" "$root/scripts" "$root/testdata" "$tmp/pkg/"
# The examples and the bench suite are exercised by __test__/examples.test.js, express.test.js and
# bench-suite.test.js.
for d in examples bench; do
  if [ -d "$root/$d" ]; then cp -r "$root/$d" "$tmp/pkg/"; fi
done
cp "$lib" "$tmp/pkg/pool.linux-x64-gnu.node"
ln -s "$root/node_modules" "$tmp/pkg/node_modules"

if [ "$#" -gt 0 ]; then tests=("$@"); else tests=(__test__/*.test.js); fi

echo "== node --test (${#tests[@]} files) with ASan"
cd "$tmp/pkg"
log="$tmp/asan-report"
# detect_leaks=0: node itself leaks on purpose at exit; halt_on_error stays on so a finding
# fails the run; log_path collects reports from child processes too (fixtures spawn node).
export ASAN_OPTIONS="detect_leaks=0:halt_on_error=1:abort_on_error=0:log_path=$log:allocator_may_return_null=1:${ASAN_OPTIONS:-}"
export LD_PRELOAD="$tmp/libasan-rt.so"
set +e
node --test --test-concurrency=1 "${tests[@]}"
status=$?
set -e
unset LD_PRELOAD
reports=$(find "$tmp" -maxdepth 1 -name 'asan-report.*' | wc -l)
if [ "$reports" -gt 0 ]; then
  echo "== $reports ASan report(s):"
  for r in "$log".*; do echo "--- $r"; cat "$r"; done
  # Keep them where the caller can read them after the temp dir is gone.
  mkdir -p "$target_dir/reports"
  cp "$log".* "$target_dir/reports/"
fi
echo "== node --test exit status $status, ASan reports: $reports"
if [ "$status" -ne 0 ] || [ "$reports" -gt 0 ]; then exit 1; fi
