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

# The Python of the active virtual environment, else python3.
python="$(command -v python || command -v python3)"
"$python" -m pip install -q -e .

exec "$python" -m experiments.demo "$@"
