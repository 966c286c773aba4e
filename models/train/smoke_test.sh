#!/bin/bash
# Smoke test of the whole recipe at the default model and input sizes on the real data, with a 2-minute training
# budget per model: cache -> train -> hard kill -> --resume -> evaluate -> export -> check the ONNX files.
#
#   bash models/train/smoke_test.sh [OUT_DIR]        (from the repository root; OUT_DIR defaults to a temp dir)
#
# The classifier is killed with SIGKILL (resumes from the last periodic checkpoint, written every 0.5 min here);
# the segmenter with SIGINT, like Ctrl-C (saves a checkpoint at the current step). The caches go to the default
# models/train/.cache/ so that the real training run reuses them. Nothing is written into the repository
# otherwise. Takes about 10-15 minutes on 2 cores, most of it building the caches the first time.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=/usr/bin/python3
OUT=${1:-$(mktemp -d /tmp/ophgate-smoke.XXXXXX)}
THREADS=${THREADS:-2}
COMMON=(--run-dir "$OUT/runs" --export-dir "$OUT/models" --minutes 2 --checkpoint-minutes 0.5 --n-boot 200
        --threads "$THREADS")
echo "smoke test output: $OUT"

run_killed() { # model signal wait-for-pattern extra-args...
  local which=$1 sig=$2 pattern=$3
  shift 3
  local log="$OUT/runs/$which/log.txt"
  mkdir -p "$OUT/runs/$which"
  $PY models/train/train.py "$which" "${COMMON[@]}" "$@" > "$OUT/$which.first.out" 2>&1 &
  local pid=$!
  local t0=$SECONDS
  until grep -q "$pattern" "$log" 2>/dev/null; do
    if ! kill -0 $pid 2>/dev/null; then echo "$which exited before it could be killed"; cat "$OUT/$which.first.out"; exit 1; fi
    if (( SECONDS - t0 > 900 )); then echo "timeout waiting for '$pattern'"; kill -9 $pid; exit 1; fi
    sleep 2
  done
  kill -"$sig" $pid
  wait $pid && rc=0 || rc=$?
  echo "$which: killed with SIG$sig after $((SECONDS - t0)) s (exit $rc); last lines:"
  tail -n 3 "$log"
  $PY - "$OUT/runs/$which/checkpoints/last.pt" <<'EOF'
import sys, torch
s = torch.load(sys.argv[1], map_location="cpu")["state"]
print(f"  checkpoint: epoch {s['epoch']} step {s['step']} trained {s['train_seconds'] / 60:.2f} min")
EOF
  local t1=$SECONDS
  $PY models/train/train.py "$which" "${COMMON[@]}" "$@" --resume 2>&1 | tee "$OUT/$which.resume.out" | grep -E "resumed|finished|test:|exported|done in"
  echo "$which: resume + evaluate + export took $((SECONDS - t1)) s"
}

T0=$SECONDS
run_killed classifier 9 "checkpoint saved"
run_killed segmenter INT "epoch 0 step 20/"

$PY - "$OUT/models" <<'EOF'
import json, sys
from pathlib import Path
import onnx
for name in ("fundus-classifier", "fundus-segmenter"):
    d = Path(sys.argv[1]) / name
    m = onnx.load(str(d / "model.onnx"))
    onnx.checker.check_model(m, full_check=True)
    man = json.loads((d / "manifest.json").read_text())
    dims = [x.dim_param or x.dim_value for x in m.graph.input[0].type.tensor_type.shape.dim]
    print(f"{name}: model.onnx {(d / 'model.onnx').stat().st_size / 2**20:.2f} MB, input {dims}, outputs "
          f"{[o.name for o in m.graph.output]}, checker ok, ONNX vs torch {man['export_check']['max_abs_diff']:.1e}, "
          f"figures {len(list((d / 'figures').glob('*.png')))}")
EOF
echo "smoke test passed in $((SECONDS - T0)) s; output in $OUT"
