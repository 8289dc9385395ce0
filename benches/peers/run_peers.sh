#!/usr/bin/env bash
# Benchmark ccgsim against its peer implementations (NumPy, Mesa and krABMaga) and dock them.
#
#   benches/peers/run_peers.sh [options]
#
# 1. Creates benches/peers/.venv (python3 -m venv) and installs requirements.txt into it.
# 2. Builds ccgsim (cargo build --release) and the krABMaga peer (cargo build --release in
#    benches/peers/krabmaga, its own Cargo project).
# 3. Speed: runs ccgsim (all cores, then one thread), the NumPy peer, the krABMaga peer and the
#    Mesa peer on one scenario and prints practice-updates per second (practices x months x
#    replicates / seconds) with the ratio ccgsim / peer. NumPy and krABMaga run the same
#    replicates as ccgsim. Mesa is slow, so by default it runs fewer replicates and months; its
#    rate is per practice-update, so the comparison stays fair.
# 4. Docking (statistical): runs all of them on a common scenario with enough replicates and
#    checks that their mean trajectories of mean_trust, engaged_share and influence_share agree
#    within their 95% intervals at (nearly) every tick.
# 5. Docking (exact): runs all of them on lockstep.toml, whose state trajectories are
#    deterministic, and checks that they agree to rounding.
# Exits non-zero if either docking check fails.
#
# Options (each also settable by the environment variable in brackets):
#   --scenario FILE            speed scenario [SCENARIO] (default scenarios/england_2015.toml)
#   --replicates N             ccgsim, NumPy and krABMaga replicates for speed [REPLICATES]
#                              (default: the scenario's own)
#   --mesa-replicates N        Mesa replicates for speed [MESA_REPLICATES] (default 3)
#   --mesa-months M            Mesa months for speed [MESA_MONTHS] (default 36)
#   --dock-scenario FILE       docking scenario [DOCK_SCENARIO] (default scenarios/baseline.toml)
#   --dock-replicates N        ccgsim, NumPy and krABMaga replicates for docking
#                              [DOCK_REPLICATES] (200)
#   --dock-mesa-replicates N   Mesa replicates for docking [DOCK_MESA_REPLICATES] (100)
#   --repeat N                 speed rounds [REPEAT] (default 3): each round runs every
#                              implementation in turn, and the table takes each one's median
#                              round
#   --quick                    small runs: a check that everything works [QUICK=1]
#   --no-speed, --no-dock      skip a part [NO_SPEED=1, NO_DOCK=1]
#   --no-krabmaga              leave out the krABMaga peer (no build, no runs) [NO_KRABMAGA=1]
#   --keep DIR                 keep every output in DIR [KEEP] (default: a temporary folder)
#   --ccgsim BIN               use this ccgsim binary instead of building one [CCGSIM]
#   --own-structure            let the peers draw their own CCG sizes, list sizes and levels
#                              [OWN_STRUCTURE=1] (default: they take the CCGs ccgsim drew, from
#                              its by_ccg.csv, so all three simulate the same population)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

SCENARIO="${SCENARIO:-scenarios/england_2015.toml}"
REPLICATES="${REPLICATES:-}"
MESA_REPLICATES="${MESA_REPLICATES:-}"
MESA_MONTHS="${MESA_MONTHS:-}"
DOCK_SCENARIO="${DOCK_SCENARIO:-scenarios/baseline.toml}"
DOCK_REPLICATES="${DOCK_REPLICATES:-}"
DOCK_MESA_REPLICATES="${DOCK_MESA_REPLICATES:-}"
QUICK="${QUICK:-0}"
REPEAT="${REPEAT:-}"
NO_SPEED="${NO_SPEED:-0}"
NO_DOCK="${NO_DOCK:-0}"
NO_KRABMAGA="${NO_KRABMAGA:-0}"
KEEP="${KEEP:-}"
CCGSIM="${CCGSIM:-}"
OWN_STRUCTURE="${OWN_STRUCTURE:-0}"

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    --scenario) SCENARIO="$2"; shift 2 ;;
    --replicates) REPLICATES="$2"; shift 2 ;;
    --mesa-replicates) MESA_REPLICATES="$2"; shift 2 ;;
    --mesa-months) MESA_MONTHS="$2"; shift 2 ;;
    --dock-scenario) DOCK_SCENARIO="$2"; shift 2 ;;
    --dock-replicates) DOCK_REPLICATES="$2"; shift 2 ;;
    --dock-mesa-replicates) DOCK_MESA_REPLICATES="$2"; shift 2 ;;
    --repeat) REPEAT="$2"; shift 2 ;;
    --quick) QUICK=1; shift ;;
    --no-speed) NO_SPEED=1; shift ;;
    --no-dock) NO_DOCK=1; shift ;;
    --no-krabmaga) NO_KRABMAGA=1; shift ;;
    --keep) KEEP="$2"; shift 2 ;;
    --ccgsim) CCGSIM="$2"; shift 2 ;;
    --own-structure) OWN_STRUCTURE=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "unknown option: $1 (see --help)" >&2; exit 2 ;;
  esac
done

if [[ "$QUICK" == 1 ]]; then
  REPLICATES="${REPLICATES:-10}"
  MESA_REPLICATES="${MESA_REPLICATES:-1}"
  MESA_MONTHS="${MESA_MONTHS:-6}"
  DOCK_REPLICATES="${DOCK_REPLICATES:-50}"
  DOCK_MESA_REPLICATES="${DOCK_MESA_REPLICATES:-30}"
  REPEAT="${REPEAT:-1}"
fi
REPEAT="${REPEAT:-3}"
MESA_REPLICATES="${MESA_REPLICATES:-3}"
MESA_MONTHS="${MESA_MONTHS:-36}"
DOCK_REPLICATES="${DOCK_REPLICATES:-200}"
DOCK_MESA_REPLICATES="${DOCK_MESA_REPLICATES:-100}"

# Relative scenario paths are taken from the repository root.
cd "$repo"

# 1. Python environment.
venv="$here/.venv"
if [[ ! -x "$venv/bin/python" ]]; then
  echo "== creating $venv" >&2
  python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$here/requirements.txt"
py="$venv/bin/python"

# 2. ccgsim.
if [[ -n "$CCGSIM" ]]; then
  ccgsim="$(cd "$(dirname "$CCGSIM")" && pwd)/$(basename "$CCGSIM")"
else
  echo "== building ccgsim" >&2
  cargo build --release --quiet
  ccgsim="$repo/target/release/ccgsim"
fi
echo "== ccgsim: $("$ccgsim" --version 2>/dev/null || echo "$ccgsim")" >&2

# The krABMaga peer, in its own Cargo project (not part of ccgsim's build).
if [[ "$NO_KRABMAGA" != 1 ]]; then
  echo "== building the krABMaga peer" >&2
  (cd "$here/krabmaga" && cargo build --release --quiet)
fi

if [[ -n "$KEEP" ]]; then
  out="$KEEP"
  mkdir -p "$out"
else
  out="$(mktemp -d)"
  trap 'rm -rf "$out"' EXIT
fi

now() { date +%s.%N; }

# Run ccgsim on $1 with $2 replicates (empty: the scenario's) into $out/$3, extra args after.
run_ccgsim() {
  local scenario="$1" reps="$2" name="$3"; shift 3
  local args=(run "$scenario" --out "$out/$name" --force --quiet)
  [[ -n "$reps" ]] && args+=(--replicates "$reps")
  local t0 t1
  t0="$(now)"
  "$ccgsim" "${args[@]}" "$@"
  t1="$(now)"
  "$py" "$here/compare.py" ccgsim-timing --manifest "$out/$name/manifest.json" --name "$name" \
    --process-seconds "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" \
    --out "$out/$name.json"
}

# Run peer $1 (numpy, mesa or krabmaga) on $2 with $3 replicates (empty: the scenario's) as $4,
# on the population of the ccgsim run $5; extra args after.
run_peer() {
  local peer="$1" scenario="$2" reps="$3" name="$4" structure="$5"; shift 5
  local args=("$scenario" --out "$out/$name.csv" --timing-json "$out/$name.json")
  [[ -n "$reps" ]] && args+=(--replicates "$reps")
  [[ "$OWN_STRUCTURE" != 1 ]] && args+=(--structure "$out/$structure/by_ccg.csv")
  "$py" "$here/ccg_$peer.py" "${args[@]}" "$@" | sed 's/^/    /'
}

status=0

if [[ "$NO_SPEED" != 1 ]]; then
  echo "== speed: $SCENARIO ($REPEAT rounds)" >&2
  # The peers take the population of the first ccgsim run (the same in every round).
  run_ccgsim "$SCENARIO" "$REPLICATES" ccgsim
  for ((round = 1; round <= REPEAT; round++)); do
    echo "  round $round" >&2
    # "ccgsim" computes what the peers compute (population metrics, no per-CCG summaries) and
    # writes timeseries.csv and replicates.csv; "ccgsim-all-files" also writes by_ccg.csv.
    run_ccgsim "$SCENARIO" "$REPLICATES" "ccgsim.$round" --no-by-ccg
    run_ccgsim "$SCENARIO" "$REPLICATES" "ccgsim-all-files.$round"
    run_ccgsim "$SCENARIO" "$REPLICATES" "ccgsim-1-thread.$round" --threads 1 --no-by-ccg
    echo "  numpy peer:" >&2
    run_peer numpy "$SCENARIO" "$REPLICATES" "numpy.$round" ccgsim
    if [[ "$NO_KRABMAGA" != 1 ]]; then
      echo "  krabmaga peer:" >&2
      run_peer krabmaga "$SCENARIO" "$REPLICATES" "krabmaga.$round" ccgsim
    fi
    echo "  mesa peer ($MESA_REPLICATES replicates, $MESA_MONTHS months):" >&2
    run_peer mesa "$SCENARIO" "$MESA_REPLICATES" "mesa.$round" ccgsim --months "$MESA_MONTHS"
  done
  # Each implementation's median round (by seconds) becomes its entry in the table.
  names=(ccgsim ccgsim-all-files ccgsim-1-thread numpy)
  if [[ "$NO_KRABMAGA" != 1 ]]; then names+=(krabmaga); fi
  names+=(mesa)
  for name in "${names[@]}"; do
    "$py" - "$out" "$name" "$REPEAT" <<'PY'
import json, shutil, sys
out, name, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
runs = sorted((json.load(open(f"{out}/{name}.{r}.json"))["seconds"], r) for r in range(1, n + 1))
seconds = [s for s, _ in runs]
median = runs[(n - 1) // 2][1]
shutil.copy(f"{out}/{name}.{median}.json", f"{out}/{name}.json")
print(f"  {name}: seconds by round, sorted: {', '.join(f'{s:.3f}' for s in seconds)}")
PY
  done
  speed=()
  for name in "${names[@]}"; do speed+=("$name=$out/$name.json"); done
  echo
  "$py" "$here/compare.py" report --speed "${speed[@]}"
fi

if [[ "$NO_DOCK" != 1 ]]; then
  echo "== docking: $DOCK_SCENARIO" >&2
  run_ccgsim "$DOCK_SCENARIO" "$DOCK_REPLICATES" dock-ccgsim
  run_peer numpy "$DOCK_SCENARIO" "$DOCK_REPLICATES" dock-numpy dock-ccgsim
  run_peer mesa "$DOCK_SCENARIO" "$DOCK_MESA_REPLICATES" dock-mesa dock-ccgsim
  dock=(ccgsim="$out/dock-ccgsim/timeseries.csv" numpy="$out/dock-numpy.csv"
        mesa="$out/dock-mesa.csv")
  if [[ "$NO_KRABMAGA" != 1 ]]; then
    run_peer krabmaga "$DOCK_SCENARIO" "$DOCK_REPLICATES" dock-krabmaga dock-ccgsim
    dock+=(krabmaga="$out/dock-krabmaga.csv")
  fi
  "$py" "$here/compare.py" report --dock "${dock[@]}" || status=1

  echo "== exact docking: lockstep" >&2
  run_ccgsim "$here/lockstep.toml" "" lockstep-ccgsim
  run_peer numpy "$here/lockstep.toml" "" lockstep-numpy lockstep-ccgsim
  run_peer mesa "$here/lockstep.toml" "" lockstep-mesa lockstep-ccgsim
  exact=(ccgsim="$out/lockstep-ccgsim/timeseries.csv" numpy="$out/lockstep-numpy.csv"
         mesa="$out/lockstep-mesa.csv")
  if [[ "$NO_KRABMAGA" != 1 ]]; then
    run_peer krabmaga "$here/lockstep.toml" "" lockstep-krabmaga lockstep-ccgsim
    exact+=(krabmaga="$out/lockstep-krabmaga.csv")
  fi
  "$py" "$here/compare.py" exact "${exact[@]}" || status=1
fi

[[ -n "$KEEP" ]] && echo "outputs kept in $out" >&2
exit "$status"
