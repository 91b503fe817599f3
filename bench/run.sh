#!/usr/bin/env bash
# Benchmark: imds-migrate against ripgrep on the same files, doing the same search.
#
#   bench/run.sh [TREE...]     TREE: mono1 mono2 mono4 azure1 fixes (default: mono1 azure1 fixes),
#                              or a directory of your own (e.g. checkouts of real repositories),
#                              timed the same way, with no planted usages to check
#
# Builds in release mode and generates each tree once (target/bench/, deterministic). For each
# scan tree it checks that every planted usage is found, then runs `imds-migrate scan --format
# json` and ripgrep in turn, RUNS times (default 9), and prints the medians of wall time and of
# CPU time (user + system), their ratios and the peak resident memory.
#
# Fairness: ripgrep gets `--hidden` (we scan hidden files), honours the same .gitignore (each tree
# is a git repository), and searches the prefilter's own trigger literals, read from
# src/prefilter.rs, so both tools read the same bytes and look for the same strings. The trees
# hold no file that imds-migrate skips by name.
#
# `fixes`: 5,000 files with one safe fix each, fixed from a fresh copy every run; the row compares
# `fix` with a `scan` of the same files, to show what the rewrite (analysis again, verification,
# one write per file) costs over finding.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-9}
TREES=${*:-mono1 azure1 fixes}
cargo build --release --quiet
BIN=$PWD/target/release/imds-migrate
OUT=$PWD/target/bench
mkdir -p "$OUT"
command -v rg >/dev/null || { echo "bench: ripgrep is needed (apt-get install ripgrep)" >&2; exit 2; }

mapfile -t LITERALS < <(grep -Pzo '\(\s*"\K[^"]+(?=",\s*Confirm::)' src/prefilter.rs | tr '\0' '\n')
# `--no-require-git`: we honour .gitignore files outside git repositories too.
RG_ARGS=(--hidden --no-require-git -F -c)
for lit in "${LITERALS[@]}"; do RG_ARGS+=(-e "$lit"); done

median() { sort -n | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.3f", m}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }

# One timed run: appends "wall cpu maxrss_kib" to $1.
# Wall and CPU to the microsecond (GNU time prints them rounded to 10 ms, a tenth of a small
# tree's scan); GNU time still gives the peak memory, which the Python parent would distort.
timed() {
  local into=$1; shift
  python3 - "$OUT/one.t" "$@" >> "$into" <<'PY'
import resource, subprocess, sys, time
t = time.perf_counter()
subprocess.run(["/usr/bin/time", "-f", "%M", "-o", sys.argv[1], *sys.argv[2:]],
               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
wall = time.perf_counter() - t
r = resource.getrusage(resource.RUSAGE_CHILDREN)
rss = open(sys.argv[1]).read().split()[-1]
print(f"{wall:.4f} {r.ru_utime + r.ru_stime:.4f} {rss}")
PY
}

generate() {
  local name=$1 profile=$2 scale=$3 tree=$OUT/$1
  if [ ! -f "$tree.planted.json" ]; then
    rm -rf "$tree"
    python3 bench/gen_tree.py --out "$tree" --profile "$profile" --scale "$scale"
    # ripgrep honours .gitignore only inside a git repository.
    git -C "$tree" init -q
  fi
}

check_planted() {
  python3 - "$1" "$2" <<'PY'
import json, sys
found = json.load(open(sys.argv[1]))
planted = json.load(open(sys.argv[2]))
keys = {(f["path"], f["line"]) for f in found["findings"]}
missing = [p for p in planted if (p["path"], p["line"]) not in keys]
leaked = [f for f in found["findings"] if f["path"].startswith("node_modules/")]
if missing or leaked:
    print(f"FAIL: {len(missing)} planted usages missed, {len(leaked)} findings under node_modules/")
    for m in missing[:10]:
        print("  missed", m)
    sys.exit(1)
print(f"ok: all {len(planted)} planted usages found, nothing under node_modules/ "
      f"({len(found['findings'])} findings in all)", file=sys.stderr)
PY
}

printf '%-7s %7s %6s | %7s %7s | %7s %7s | %6s %6s | %5s %4s\n' \
  tree files MB "imds s" "rg s" "imds cpu" "rg cpu" "wall x" "cpu x" "MiB" "rgMiB"
for name in $TREES; do
  tree=$OUT/$name
  case $name in
    mono*) generate "$name" monorepo "${name#mono}" ;;
    azure*) generate "$name" azure "${name#azure}" ;;
    fixes) generate fixes fixes 1 ;;
    *)
      [ -d "$name" ] || { echo "bench: unknown tree $name" >&2; exit 2; }
      tree=$(cd "$name" && pwd); name=$(basename "$tree") ;;
  esac
  "$BIN" scan "$tree" --format json > "$OUT/$name.json" || true
  [ -f "$tree.planted.json" ] && check_planted "$OUT/$name.json" "$tree.planted.json"
  files=$(find "$tree/" -type f -not -path '*/.git/*' | wc -l)
  mb=$(du -sm --exclude=.git "$tree/" | cut -f1)
  : > "$OUT/a.t"; : > "$OUT/b.t"
  if [ "$name" = fixes ]; then
    for _ in $(seq "$RUNS"); do
      rm -rf "$OUT/fixes-work"; cp -a "$tree" "$OUT/fixes-work"
      timed "$OUT/a.t" "$BIN" fix "$OUT/fixes-work"
      timed "$OUT/b.t" "$BIN" scan "$OUT/fixes-work" --format json
    done
    left=$("$BIN" scan "$OUT/fixes-work" --format json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["findings"]))' || true)
    fw=$(cut -d' ' -f1 "$OUT/a.t" | median); sw=$(cut -d' ' -f1 "$OUT/b.t" | median)
    fc=$(cut -d' ' -f2 "$OUT/a.t" | median); sc=$(cut -d' ' -f2 "$OUT/b.t" | median)
    mem=$(( $(cut -d' ' -f3 "$OUT/a.t" | sort -n | tail -1) / 1024 ))
    printf '%-7s %7s %6s | fix %.3f s, %.3f s CPU; rescan afterwards %.3f s, %.3f s CPU; %s findings left; %s MiB\n' \
      "$name" "$files" "$mb" "$fw" "$fc" "$sw" "$sc" "$left" "$mem"
    continue
  fi
  for _ in $(seq "$RUNS"); do
    timed "$OUT/a.t" "$BIN" scan "$tree" --format json
    (cd "$tree" && timed "$OUT/b.t" rg "${RG_ARGS[@]}" .)
  done
  iw=$(cut -d' ' -f1 "$OUT/a.t" | median); rw=$(cut -d' ' -f1 "$OUT/b.t" | median)
  ic=$(cut -d' ' -f2 "$OUT/a.t" | median); rc=$(cut -d' ' -f2 "$OUT/b.t" | median)
  mem=$(( $(cut -d' ' -f3 "$OUT/a.t" | sort -n | tail -1) / 1024 ))
  rmem=$(( $(cut -d' ' -f3 "$OUT/b.t" | sort -n | tail -1) / 1024 ))
  printf '%-7s %7s %6s | %7s %7s | %7s %7s | %6s %6s | %5s %4s\n' "$name" "$files" "$mb" \
    "$iw" "$rw" "$ic" "$rc" "$(ratio "$iw" "$rw")" "$(ratio "$ic" "$rc")" "$mem" "$rmem"
done

# Startup: a scan of an empty directory (process start, configuration, walk, report), next to
# ripgrep's search of the same directory, both timed from this shell (which adds its fork).
mkdir -p "$OUT/empty"
: > "$OUT/a.t"; : > "$OUT/b.t"
for _ in $(seq 21); do
  s=$(date +%s%N); "$BIN" scan "$OUT/empty" --format json > /dev/null; m=$(date +%s%N)
  rg "${RG_ARGS[@]}" "$OUT/empty" > /dev/null || true; e=$(date +%s%N)
  echo $(( (m - s) / 1000 )) >> "$OUT/a.t"; echo $(( (e - m) / 1000 )) >> "$OUT/b.t"
done
echo "startup (scan of an empty directory): median $(median < "$OUT/a.t") us; ripgrep $(median < "$OUT/b.t") us"
if command -v perf > /dev/null; then
  perf stat -r 50 -x, -e task-clock "$BIN" scan "$OUT/empty" --format json 2>&1 > /dev/null \
    | awk -F, '/task-clock/ {printf "startup CPU (perf stat, 50 runs): %.2f ms\n", $1}'
fi
