#!/usr/bin/env bash
# The main job in one command, on a fresh machine:
#   bash scripts/demo.sh [--train_minutes=15] [--output_dir=outputs/demo] ...
# installs Fashion-MNIST (Debian's dataset-fashion-mnist) and glow_tf (into
# the active virtual environment, else into .venv/ in the clone: see
# scripts/_env.sh), trains the fashion_mnist preset for a bounded time,
# evaluates the test bits/dim and writes samples.png, training_curve.png,
# metrics.json, model/ and export/ to the output folder. Any flag of
# experiments/demo.py can be passed.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/_env.sh
source scripts/_env.sh

if [ ! -d /usr/share/datasets/fashion-mnist ]; then
  as_root apt-get update -qq
  as_root apt-get install -y -qq dataset-fashion-mnist
fi

"$python" -m pip install -q -e .

exec "$python" -m experiments.demo "$@"
