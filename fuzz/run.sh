#!/usr/bin/env bash
# `make fuzz`: installs what it needs, runs every fuzz target, keeps the corpora minimised, and
# prints executions and crashes per target (fuzz/README.md).
#
#   fuzz/run.sh [target...]            default: every target
#   FUZZ_SECONDS=60                    time per target (the cap when FUZZ_RUNS is set)
#   FUZZ_RUNS=<n>                      stop a target after n executions (libfuzzer only)
#   FUZZ_JOBS=<cores>                  targets fuzzed side by side
#   FUZZ_WORKERS=1                     libfuzzer processes per target (sharing its corpus)
#   FUZZ_ENGINE=auto|libfuzzer|afl     auto = libfuzzer via cargo-fuzz, on nightly when one is
#                                      installed, else on stable; afl = cargo-afl (stable)
#   FUZZ_TOOLCHAIN=nightly|stable      libfuzzer's toolchain (default: nightly when installed)
#   FUZZ_SANITIZER=none|address        libfuzzer only; address needs nightly (the crate has no
#                                      `unsafe`, so none is the default: twice the speed)
#   FUZZ_MAX_LEN=16384                 largest input the engines generate
#   FUZZ_CORPUS_KB=48                  size budget of each committed corpus (fuzz/corpus/<target>)
#
# Corpora: the engines read the committed corpus (fuzz/corpus/<t>), the seeds built from
# tests/fixtures/ and the working corpus (fuzz/target/corpus/<t>, everything found so far on this
# machine). Afterwards libFuzzer's merge minimises the working corpus, and the committed corpus
# becomes the inputs that cover the most code edges within FUZZ_CORPUS_KB (examples/cover.rs).
# AFL runs keep their own working corpus (fuzz/target/afl-corpus/<t>) and leave fuzz/corpus/ as is.
#
# Exit status 1 when any target crashed or hung; the inputs are in fuzz/artifacts/<target>/.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
FUZZ=$ROOT/fuzz
ALL_TARGETS=(webhooks pipeline usersig tencent identity parsers jobs)
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=("${ALL_TARGETS[@]}")
SECS=${FUZZ_SECONDS:-60}
RUNS=${FUZZ_RUNS:-}
JOBS=${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 2)}
WORKERS=${FUZZ_WORKERS:-1}
ENGINE=${FUZZ_ENGINE:-auto}
SANITIZER=${FUZZ_SANITIZER:-none}
MAX_LEN=${FUZZ_MAX_LEN:-16384}
CORPUS_KB=${FUZZ_CORPUS_KB:-48}
LOGS=$FUZZ/logs
SEEDS=$FUZZ/target/seeds
WORK=$FUZZ/target/corpus
export PATH=$HOME/.cargo/bin:$PATH

for t in "${TARGETS[@]}"; do
  [[ " ${ALL_TARGETS[*]} " == *" $t "* ]] || { echo "unknown target $t (targets: ${ALL_TARGETS[*]})" >&2; exit 2; }
done

# A nightly toolchain is used when installed (it also allows FUZZ_SANITIZER=address); without
# one, cargo-fuzz builds on stable: with no sanitizer it passes no -Z flag.
if [ -n "${FUZZ_TOOLCHAIN:-}" ]; then TOOLCHAIN=$FUZZ_TOOLCHAIN
elif rustup run nightly rustc --version >/dev/null 2>&1; then TOOLCHAIN=nightly
else TOOLCHAIN=stable; fi
[ "$ENGINE" = auto ] && ENGINE=libfuzzer
case $ENGINE in
  libfuzzer)
    if [ "$SANITIZER" != none ] && [ "$TOOLCHAIN" != nightly ]; then
      echo "FUZZ_SANITIZER=$SANITIZER needs a nightly toolchain, and none is installed" >&2
      exit 2
    fi
    cargo fuzz --version >/dev/null 2>&1 || cargo install cargo-fuzz --locked
    ;;
  afl)
    TOOLCHAIN=stable
    cargo afl --version >/dev/null 2>&1 || cargo install cargo-afl --locked
    # cargo-afl builds AFL++ for the toolchain once (needs make and a C compiler).
    { cargo afl fuzz -h 2>&1 || true; } | grep -q 'based on afl' || cargo afl config --build
    ;;
  *) echo "FUZZ_ENGINE must be auto, libfuzzer or afl" >&2; exit 2 ;;
esac

mkdir -p "$LOGS"
echo "== seeds from tests/fixtures/"
rm -rf "$SEEDS"
cargo run --quiet --locked --manifest-path "$FUZZ/Cargo.toml" --no-default-features \
  --example write_seeds -- "$SEEDS"
cargo build --quiet --locked --release --manifest-path "$FUZZ/Cargo.toml" --no-default-features \
  --example cover

echo "== building ($ENGINE, toolchain $TOOLCHAIN)"
if [ "$ENGINE" = libfuzzer ]; then
  # -O: release, with the assertions and overflow checks fuzz/Cargo.toml's profile sets.
  (cd "$FUZZ" && cargo "+$TOOLCHAIN" fuzz build -O -s "$SANITIZER")
  BIN=$FUZZ/target/$(rustc -vV | sed -n 's/^host: //p')/release
else
  cargo afl build --release --locked --manifest-path "$FUZZ/Cargo.toml" --no-default-features --features afl
  BIN=$FUZZ/target/release
fi

crash_count() {
  find "$FUZZ/artifacts/$1" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'timeout-*' \
    -o -name 'oom-*' -o -name 'leak-*' -o -name 'crashes-*' -o -name 'hangs-*' \) 2>/dev/null | wc -l
}

# Each runner writes "<executions> <seconds> <crashes>" to $LOGS/<target>.stat.
run_libfuzzer() {
  local t=$1 art=$FUZZ/artifacts/$1 rc=0 start end
  mkdir -p "$WORK/$t" "$FUZZ/corpus/$t" "$art"
  local before
  before=$(crash_count "$t")
  start=$(date +%s)
  # FUZZ_WORKERS processes share the working corpus (libFuzzer reloads it every second).
  local w pids=() logs=()
  for ((w = 1; w <= WORKERS; w++)); do
    logs+=("$LOGS/$t.log$([ "$w" = 1 ] || echo ".$w")")
    "$BIN/$t" -max_total_time="$SECS" ${RUNS:+-runs=$((RUNS / WORKERS))} -print_final_stats=1 \
      -max_len="$MAX_LEN" -timeout=10 -rss_limit_mb=2048 -dict="$FUZZ/fuzz.dict" \
      -artifact_prefix="$art/" "$WORK/$t" "$FUZZ/corpus/$t" "$SEEDS/$t" >"${logs[-1]}" 2>&1 &
    pids+=($!)
  done
  for w in "${pids[@]}"; do wait "$w" || rc=$?; done
  end=$(date +%s)
  local execs crashes
  execs=$(cat "${logs[@]}" | sed -n 's/^stat::number_of_executed_units: *//p' | awk '{s+=$1} END{print s+0}')
  crashes=$(($(crash_count "$t") - before))
  [ "$rc" = 0 ] || [ "$crashes" -gt 0 ] || crashes=1
  # The working corpus, minimised (every feature, hit counts included) ...
  local min=$FUZZ/target/min/$t sc=$FUZZ/target/setcover/$t pick=$FUZZ/target/pick/$t
  local ctl=$FUZZ/target/setcover/$t.control
  rm -rf "$min" "$sc" "$pick" "$ctl" && mkdir -p "$min" "$sc"
  local opts=(-max_len="$MAX_LEN" -timeout=10 -rss_limit_mb=2048 -artifact_prefix="$art/")
  if "$BIN/$t" -merge=1 "${opts[@]}" "$min" "$WORK/$t" "$FUZZ/corpus/$t" "$SEEDS/$t" \
    >"$LOGS/$t.merge.log" 2>&1; then
    rm -rf "$WORK/$t" && mv "$min" "$WORK/$t"
    # ... and the committed one: the inputs covering the most code edges within the budget.
    "$BIN/$t" -set_cover_merge=1 -use_counters=0 -merge_control_file="$ctl" "${opts[@]}" \
      "$sc" "$WORK/$t" "$SEEDS/$t" >>"$LOGS/$t.merge.log" 2>&1 &&
      "$FUZZ/target/release/examples/cover" "$ctl" "$pick" "$CORPUS_KB" "$SEEDS/$t/" >"$LOGS/$t.cover.log" &&
      rm -rf "$FUZZ/corpus/$t" && mv "$pick" "$FUZZ/corpus/$t"
  fi
  echo "${execs:-0} $((end - start)) $crashes" >"$LOGS/$t.stat"
}

run_afl() {
  local t=$1 out=$FUZZ/target/afl/$1 in=$FUZZ/target/afl-in/$1 art=$FUZZ/artifacts/$1
  local work=$FUZZ/target/afl-corpus/$1 start end
  rm -rf "$in" "$out" && mkdir -p "$in" "$work" "$FUZZ/corpus/$t" "$art" "$(dirname "$out")"
  for d in "$work" "$FUZZ/corpus/$t" "$SEEDS/$t"; do
    find "$d" -maxdepth 1 -type f -exec cp {} "$in"/ \;
  done
  start=$(date +%s)
  AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_AFFINITY=1 \
    cargo afl fuzz -i "$in" -o "$out" -V "$SECS" -t 10000 -x "$FUZZ/fuzz.dict" -- "$BIN/$t" \
    >"$LOGS/$t.log" 2>&1 || true
  end=$(date +%s)
  local stats=$out/default/fuzzer_stats execs=0 crashes=1
  if [ -f "$stats" ]; then
    execs=$(awk -F: '/^execs_done/{gsub(/ /,"",$2); print $2}' "$stats")
    crashes=$(awk -F: '/^saved_(crashes|hangs)/{gsub(/ /,"",$2); n+=$2} END{print n+0}' "$stats")
  fi
  for kind in crashes hangs; do
    find "$out/default/$kind" -type f -name 'id:*' 2>/dev/null | while read -r f; do
      cp "$f" "$art/$kind-$(sha256sum "$f" | cut -c1-16)"
    done
  done
  # AFL's queue (the inputs that found new coverage) is the next run's working corpus. No
  # afl-cmin: afl.rs persistent-mode binaries wait for more input under afl-showmap.
  if [ -d "$out/default/queue" ]; then
    rm -rf "$work" && mkdir -p "$work"
    find "$out/default/queue" -maxdepth 1 -type f -name 'id:*' | while read -r f; do
      cp "$f" "$work/$(sha256sum "$f" | cut -c1-40)"
    done
  fi
  echo "${execs:-0} $((end - start)) $crashes" >"$LOGS/$t.stat"
}

echo "== fuzzing ${TARGETS[*]}: ${SECS}s each${RUNS:+ or $RUNS executions}, $JOBS at a time, $WORKERS process(es) each (logs in fuzz/logs/)"
for t in "${TARGETS[@]}"; do rm -f "$LOGS/$t.stat"; done
running=0
for t in "${TARGETS[@]}"; do
  "run_$ENGINE" "$t" &
  running=$((running + 1))
  if [ "$running" -ge "$JOBS" ]; then
    wait -n || true
    running=$((running - 1))
  fi
done
wait || true

echo
summary=$LOGS/summary.md
{
  echo "| target | engine | seconds | executions | exec/s | crashes | committed corpus |"
  echo "| --- | --- | ---: | ---: | ---: | ---: | --- |"
} >"$summary"
failed=0
for t in "${TARGETS[@]}"; do
  execs=0 secs=1 crashes=1
  [ -f "$LOGS/$t.stat" ] && read -r execs secs crashes <"$LOGS/$t.stat"
  files=$(find "$FUZZ/corpus/$t" -type f | wc -l)
  kb=$(( ($(find "$FUZZ/corpus/$t" -type f -printf '%s\n' | awk '{s+=$1} END{print s+0}') + 1023) / 1024 ))
  echo "| $t | $ENGINE ($TOOLCHAIN) | $secs | $execs | $((execs / (secs > 0 ? secs : 1))) | $crashes | $files files, $kb KB |" >>"$summary"
  [ "$crashes" = 0 ] || failed=1
done
cat "$summary"
if [ "$failed" = 1 ]; then
  echo
  echo "crashes or hangs; replay one on stable with"
  echo "  cargo run --manifest-path fuzz/Cargo.toml --no-default-features --bin <target> -- <file>"
  find "$FUZZ/artifacts" -type f | sed "s|$ROOT/||"
  exit 1
fi
