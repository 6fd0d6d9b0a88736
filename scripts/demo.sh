#!/usr/bin/env bash
# The main job in one command, on a fresh machine:
#   bash scripts/demo.sh [--train_minutes=15] [--output_dir=outputs/demo] ...
# installs Fashion-MNIST (Debian's dataset-fashion-mnist) and glow_tf, trains
# the fashion_mnist preset for a bounded time, evaluates the test bits/dim and
# writes samples.png, training_curve.png, metrics.json, model/ and export/ to
# the output folder. Any flag of experiments/demo.py can be passed.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -d /usr/share/datasets/fashion-mnist ]; then
  sudo_cmd=""
  if [ "$(id -u)" != 0 ]; then sudo_cmd="sudo"; fi
  $sudo_cmd apt-get update -qq
  $sudo_cmd apt-get install -y -qq dataset-fashion-mnist
fi

python -m pip install -q -e .

export TF_CPP_MIN_LOG_LEVEL="${TF_CPP_MIN_LOG_LEVEL:-2}"
exec python -m experiments.demo "$@"
