#!/bin/sh
# Rebuilds OphGate's chat model from the seed: cases -> corpus -> tokenizer -> training -> export -> GGUF, the
# scope gate in front of it (its question bank + the corpus's questions -> models/llm/scope-gate.json, seconds) and
# the question router (intent banks -> models/llm/question-router.json, seconds).
# Run from anywhere; with the defaults it trains for 90 minutes on 2 CPU cores (50 + 15 + 25), plus about 3 minutes of
# validation a stage (see README.md).
# Safe to re-run after an interruption: training resumes from runs/<name>/last.pt.
#   models/llm/build.sh                       # small, CPU, three stages: 50 + 15 + 25 training minutes
#   SIZE=base DEVICE=cuda MINUTES=30 THREADS=8 RUN=base-cuda models/llm/build.sh
#   STEPS=1234 models/llm/build.sh            # reproduce a run's schedule exactly (plannedSteps of its metrics.json)
#   STEPS=1314 STOP=1100 MINUTES=200 models/llm/build.sh   # ... and one that its time budget stopped at step 1100
# Later stages from the previous stage's weights (same tokenizer; 0 minutes skips one): POLISH_MINUTES (the same
# corpus at a lower LR) and ADAPT_MINUTES (a corpus of other cases, ADAPT_PHOTO_LIKE of whose eyes look like the
# pipeline's output on real photographs: lesions and labels whatever the grade; see EyeTruth.photoLike in
# scripts/llm-sample-cases.ts; its report targets are in the gateway grammar's order, so keep it last).
# The bundled model's own schedule is in its card (MODEL_CARD.md, Reproduction).
set -eu
cd "$(dirname "$0")/../.."
PY=/usr/bin/python3
SEED=${SEED:-6}
CASES=${CASES:-4000}
VOCAB=${VOCAB:-2000}
SIZE=${SIZE:-small}
DEVICE=${DEVICE:-cpu}
THREADS=${THREADS:-2}
MINUTES=${MINUTES:-50}
RUN=${RUN:-default}
POLISH_MINUTES=${POLISH_MINUTES:-15}
POLISH_LR=${POLISH_LR:-0.0005}
ADAPT_MINUTES=${ADAPT_MINUTES:-25}
ADAPT_LR=${ADAPT_LR:-0.0005}
ADAPT_PHOTO_LIKE=${ADAPT_PHOTO_LIKE:-0.4}
OUT=${OUT:-models/llm/ophgate-chat.gguf}
D=models/llm/data
R=models/llm/runs/$RUN

mkdir -p "$D" "$R"
npx tsx scripts/llm-sample-cases.ts --n "$CASES" --seed "$SEED" --out "$D/cases.jsonl"
$PY models/llm/corpus.py --cases "$D/cases.jsonl" --out "$D" --seed "$SEED"
$PY models/llm/scope_questions.py --out "$D/scope-questions.jsonl" --seed "$SEED"
npx tsx scripts/llm-train-scope-gate.ts --data "$D"
# The dialogue's question router: the corpus's template questions and a hand-written bank, labelled by intent.
$PY models/llm/intent_templates.py --cases "$D/cases.jsonl" --out "$D/intent-templates.jsonl" --seed "$SEED"
$PY models/llm/intent_questions.py --out "$D/intent-questions.jsonl" --seed "$SEED"
npx tsx scripts/llm-train-question-router.ts --data "$D"
$PY models/llm/tokenizer.py --corpus "$D" --out models/llm/tokenizer --vocab-size "$VOCAB"
$PY models/llm/train.py --data "$D" --tokenizer models/llm/tokenizer --run-dir "$R" --size "$SIZE" \
  --device "$DEVICE" --threads "$THREADS" --minutes "$MINUTES" --seed "$SEED" --resume ${STEPS:+--steps "$STEPS"} ${STOP:+--stop-at-step "$STOP"}
F=$R
if [ "$POLISH_MINUTES" != 0 ]; then
  # Second stage: the same corpus again from the first stage's weights, a fresh cosine schedule at a lower LR.
  F=$R/polish
  $PY models/llm/train.py --data "$D" --tokenizer models/llm/tokenizer --run-dir "$F" --size "$SIZE" --init-from "$R/final.pt" \
    --device "$DEVICE" --threads "$THREADS" --minutes "$POLISH_MINUTES" --seed "$((SEED + 1))" --lr "$POLISH_LR" --warmup 20 \
    --resume ${POLISH_STEPS:+--steps "$POLISH_STEPS"} ${POLISH_STOP:+--stop-at-step "$POLISH_STOP"}
fi
if [ "$ADAPT_MINUTES" != 0 ]; then
  # Third stage: a fresh corpus (another seed, photo-like eyes mixed in) from the last stage's weights.
  DA=$D/adapt
  mkdir -p "$DA"
  npx tsx scripts/llm-sample-cases.ts --n "$CASES" --seed "$((SEED + 2))" --photo-like "$ADAPT_PHOTO_LIKE" --comment-after-grades --out "$DA/cases.jsonl"
  $PY models/llm/corpus.py --cases "$DA/cases.jsonl" --out "$DA" --seed "$((SEED + 2))"
  $PY models/llm/train.py --data "$DA" --tokenizer models/llm/tokenizer --run-dir "$F/adapt" --size "$SIZE" --init-from "$F/final.pt" \
    --device "$DEVICE" --threads "$THREADS" --minutes "$ADAPT_MINUTES" --seed "$((SEED + 2))" --lr "$ADAPT_LR" --warmup 20 \
    --resume ${ADAPT_STEPS:+--steps "$ADAPT_STEPS"} ${ADAPT_STOP:+--stop-at-step "$ADAPT_STOP"}
  F=$F/adapt
fi
$PY models/llm/export.py --checkpoint "$F/final.pt" --tokenizer models/llm/tokenizer --out "$F/export" --metrics "$F/metrics.json"
npx tsx scripts/llm-write-gguf.ts "$F/export" "$OUT"
cp "$F/metrics.json" "${OUT%.gguf}.metrics.json"
cp "$D/corpus-stats.json" models/llm/tokenizer/corpus-stats.json
if [ "$OUT" = models/llm/ophgate-chat.gguf ]; then $PY models/llm/model_card.py; fi
echo "built $OUT"
