#!/bin/bash
# make bench, compiler part (run by tests/bench/bench_compiler.mk from the
# repository root). Measured figures only:
#  1. npuc compile time of a ResNet-50-shaped float graph with random
#     weights (models/make_resnet50_shaped.py; generated once into
#     $BENCH_DIR and regenerated only when the script changes), calibrated
#     with one random sample (--calib-random --calib-limit 1).
#  2. for each bundled model: compile time, then from the .npub (npub-stats)
#     est. cycles per inference, MAC utilisation, DRAM bytes per inference
#     against the lower bound (each weight and activation moved once).
# Environment (set by the makefile; defaults for a manual run):
#   BENCH_DIR NPUC NPUB_STATS FMNIST_ONNX FMNIST_NPUC_FLAGS, RUNS (default 3)
set -euo pipefail

BENCH_DIR=${BENCH_DIR:-build/bench}
NPUC=${NPUC:-build/opt/npuc}
NPUB_STATS=${NPUB_STATS:-build/opt/npub-stats}
FMNIST_ONNX=${FMNIST_ONNX:-models/fmnist/fmnist.onnx}
# Defaults as models/models.mk (x = pixel / 255, first 500 training images).
fm_data=/usr/share/datasets/fashion-mnist
fm_flags="--calib $fm_data/train-images-idx3-ubyte.gz --calib-scale 0.00392156862745098"
FMNIST_NPUC_FLAGS=${FMNIST_NPUC_FLAGS:-"$fm_flags --calib-limit 500"}
RUNS=${RUNS:-3}
GEN=models/make_resnet50_shaped.py
R50=$BENCH_DIR/resnet50.onnx
R50_CALIB="--calib-random --calib-limit 1"
TARGET_S=5

./scripts/install-deps.sh python3-numpy python3-onnx
mkdir -p "$BENCH_DIR"

# The graph is ~100 MB: make it once, keyed on the generator's SHA-256.
gen_resnet50() {
	local want have
	want=$(sha256sum "$GEN" | cut -d' ' -f1)
	have=$(cat "$R50.gen-sha256" 2>/dev/null || true)
	if [ -s "$R50" ] && [ "$want" = "$have" ]; then
		return
	fi
	echo "(generating $R50 with $GEN)"
	rm -f "$R50.gen-sha256"
	/usr/bin/python3 "$GEN" -o "$R50.tmp" >/dev/null
	mv "$R50.tmp" "$R50"
	echo "$want" >"$R50.gen-sha256"
}

# run_timed LOG CMD...: sets T_REAL T_USER T_SYS (seconds); CMD's output goes to LOG.
run_timed() {
	local log=$1 t
	shift
	t=$( { TIMEFORMAT='%R %U %S'; time "$@" >"$log" 2>&1; } 2>&1 ) || {
		echo "bench: failed: $*" >&2
		cat "$log" >&2
		exit 1
	}
	read -r T_REAL T_USER T_SYS <<<"$t"
}

# time_compile NAME ONNX FLAGS: RUNS timed compiles into $BENCH_DIR/NAME.npub.
time_compile() {
	local name=$1 onnx=$2 flags=$3 i walls="" cpus=""
	for ((i = 1; i <= RUNS; i++)); do
		# shellcheck disable=SC2086
		run_timed "$BENCH_DIR/$name.log" "$NPUC" "$onnx" -o "$BENCH_DIR/$name.npub" $flags
		walls="$walls $T_REAL"
		cpus="$cpus $(echo "$T_USER $T_SYS" | awk '{ printf "%.2f", $1 + $2 }')"
	done
	echo "  runs (wall s)    $walls"
	echo "  runs (CPU s)     $cpus   (user + sys)"
	BEST=$(echo "$walls" | tr ' ' '\n' | grep . | sort -n | head -1)
	MEDIAN=$(echo "$walls" | tr ' ' '\n' | grep . | sort -n | awk '{ v[NR] = $1 }
		END { print v[int((NR + 1) / 2)] }')
	echo "  compile time     best $BEST s, median $MEDIAN s (wall)"
}

echo "== npuc compile time: ResNet-50-shaped graph (random weights)"
gen_resnet50
nodes=$(/usr/bin/python3 -c 'import onnx, sys
m = onnx.load(sys.argv[1], load_external_data=False)
print(len(m.graph.node))' "$R50" 2>/dev/null || echo "?")
echo "  machine          $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)" \
	"(npuc is single-threaded)"
echo "  model            $R50 ($(stat -c %s "$R50") bytes, $nodes nodes)"
echo "  command          $NPUC $R50 $R50_CALIB"
time_compile resnet50 "$R50" "$R50_CALIB"
echo "  calibration      $(sed -n 's/^npuc: calibration: //p' "$BENCH_DIR/resnet50.log")," \
	"method $(sed -n 's/^npuc: calibrating (\(.*\))$/\1/p' "$BENCH_DIR/resnet50.log")" \
	"(npuc warns that random data gives inaccurate ranges)"
if awk -v b="$BEST" -v t="$TARGET_S" 'BEGIN { exit !(b < t) }'; then
	echo "  target < ${TARGET_S} s     met (best wall time)"
else
	echo "  target < ${TARGET_S} s     NOT met (best wall time $BEST s)"
fi
echo "  compiled         $BENCH_DIR/resnet50.npub ($(stat -c %s "$BENCH_DIR/resnet50.npub") bytes)"
"$NPUB_STATS" "$BENCH_DIR/resnet50.npub"

echo "== bundled models: per inference (cycle model of npu-v1)"
echo "-- fmnist: $FMNIST_ONNX, npuc $FMNIST_NPUC_FLAGS"
time_compile fmnist "$FMNIST_ONNX" "$FMNIST_NPUC_FLAGS"
"$NPUB_STATS" "$BENCH_DIR/fmnist.npub"
