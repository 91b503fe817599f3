#!/usr/bin/env bash
# Benchmark: imds-migrate scan vs ripgrep over the same synthetic monorepo.
#
#   bench/run.sh [SCALE...]      (default: 1 2 4; scale 1 = 20,000 files, ~430 MB)
#
# Builds in release mode, generates each tree once (target/bench/tree-xN, deterministic), checks
# that every planted usage is found and nothing under node_modules/ is reported, then alternates
# runs of both tools and prints the medians, the ratio and peak resident memory.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}
SCALES=${*:-1 2 4}
cargo build --release --quiet
BIN=$PWD/target/release/imds-migrate
OUT=$PWD/target/bench
mkdir -p "$OUT"
have_rg=1
command -v rg >/dev/null || { have_rg=0; echo "ripgrep not installed: timing imds-migrate only (apt-get install ripgrep)"; }

median() { sort -n | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.3f", m}'; }

printf '%-6s %8s %8s %8s %10s %10s %6s\n' scale files "MB" "imds s" "rg s" "ratio" "MiB"
for scale in $SCALES; do
  tree=$OUT/tree-x$scale
  if [ ! -f "$tree.planted.json" ]; then
    rm -rf "$tree"
    python3 bench/gen_tree.py --out "$tree" --scale "$scale"
    # rg honours .gitignore only inside a git repository.
    git -C "$tree" init -q
  fi
  "$BIN" scan "$tree" --format json > "$OUT/x$scale.json" || true
  python3 - "$OUT/x$scale.json" "$tree.planted.json" <<'PY'
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
  files=$(find "$tree" -type f -not -path '*/.git/*' | wc -l)
  mb=$(du -sm --exclude=.git "$tree" | cut -f1)
  : > "$OUT/imds.t"; : > "$OUT/rg.t"; : > "$OUT/mem.t"
  for _ in $(seq "$RUNS"); do
    /usr/bin/time -f "%e %M" -o "$OUT/one.t" "$BIN" scan "$tree" --format json > /dev/null || true
    cut -d' ' -f1 "$OUT/one.t" >> "$OUT/imds.t"; cut -d' ' -f2 "$OUT/one.t" >> "$OUT/mem.t"
    if [ $have_rg = 1 ]; then
      (cd "$tree" && /usr/bin/time -f "%e" -o "$OUT/one.t" rg -F -c -e ManagedIdentityExtensionFor \
        -e Microsoft.ManagedIdentity -e :50342 -e oauth2/token . > /dev/null || true)
      cat "$OUT/one.t" >> "$OUT/rg.t"
    fi
  done
  imds=$(median < "$OUT/imds.t")
  mem=$(( $(sort -n "$OUT/mem.t" | tail -1) / 1024 ))
  if [ $have_rg = 1 ]; then
    rgm=$(median < "$OUT/rg.t")
    ratio=$(awk -v a="$imds" -v b="$rgm" 'BEGIN {printf "%.2f", a / b}')
  else
    rgm=-; ratio=-
  fi
  printf '%-6s %8s %8s %8s %10s %10s %6s\n' "x$scale" "$files" "$mb" "$imds" "$rgm" "$ratio" "$mem"
done
