#!/usr/bin/env bash
# Out-of-fold coverage and training time of the issue-18 kinds with their defaults on a month of
# DOGEUSDT (Bybit, 1m): the table in docs/models-attention.md. Needs ../shared/data/intraday/ and a
# built dist/ (npm run build). Usage: bash scripts/attention-coverage.sh [kinds…]
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-../shared/data/intraday/DOGEUSDT_bybit-linear_1m_20250530_20250629.csv}
[ -f "$DATA" ] || { echo "attention-coverage: $DATA not found (the shared data beside the checkout)" >&2; exit 2; }
W=$(mktemp -d -t barflow-coverage-XXXXXX)
trap 'rm -rf "$W"' EXIT
B="node bin/barflow.js"
$B replay -i "$DATA" -o "$W/ds" > "$W/replay.log"
$B label -d "$W/ds" -c topology/labels.yaml > "$W/label.log"
for k in "${@:-patchtst itransformer tft deepar quantile_rnn}"; do
  for kind in $k; do
    cat > "$W/$kind.yaml" <<YAML
name: coverage-$kind
seed: 7
dataset: $W/ds
labels: { set: default, target: tb }
objective: quantile
cv: { method: purged_kfold, k: 3, embargo: 2h }
view: { seqLen: 32 }
model: { kind: $kind }
out: $W/b-$kind
YAML
    s=$(date +%s)
    $B train -c "$W/$kind.yaml" > "$W/$kind.train.log" 2>&1 || { echo "$kind: barflow train failed:" >&2; tail -5 "$W/$kind.train.log" >&2; exit 1; }
    e=$(date +%s)
    $B evaluate -b "$W/b-$kind" -d "$W/ds" -o "$W/$kind.html" --json > "$W/$kind.json"
    final=$(grep -o 'final model: .*, [0-9.]* s,' "$W/$kind.train.log" | tail -1 | grep -o '[0-9.]* s,$' | tr -d ',' || true)
    node -e "const j = JSON.parse(require('fs').readFileSync('$W/$kind.json', 'utf8').trim().split('\n').pop()); const c = j.coverage[0]; console.log('$kind: [' + c.levels.join(', ') + '] covered ' + (100 * c.observed).toFixed(1) + '% (folds ' + c.perGroup.map((g) => (100 * g.observed).toFixed(1)).join(' / ') + '), train $((e - s)) s, the final fit $final')"
  done
done
