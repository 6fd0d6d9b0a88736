"""The flags and steps that experiments/super_resolution.py and
experiments/class_conditional.py share: train the conditional model and the
unconditional baseline for the same time, score both, record the run."""

import os
import time

from absl import flags

from experiments import _flags
from experiments import _main
import glow_tf
from glow_tf import analysis
from glow_tf import training

OUTPUT_DIR = _flags.define_output_dir('Folder of everything written.',
                                      default=None)
TRAIN_MINUTES = flags.DEFINE_float(
    'train_minutes', 15.0, 'Wall-clock training budget of each model, '
    'counted across reruns (a rerun with a larger value trains on).')
BASELINE_DIR = flags.DEFINE_string(
    'baseline_dir', 'outputs/unconditional/model',
    'model_dir of the unconditional demo model trained for the same time '
    '(trained here if missing or short of the budget); empty: none.')
SEED = flags.DEFINE_integer('seed', 0, 'Seed of weights, data and noise.')
NUM_STEPS = flags.DEFINE_integer(
    'num_steps', None, 'Override of the flow steps per level (both models).')
HIDDEN_CHANNELS = flags.DEFINE_integer(
    'hidden_channels', None, 'Override of the coupling width (both models).')
NUM_TEST_IMAGES = flags.DEFINE_integer(
    'num_test_images', None, 'Score only the first N test images (default: '
    'all 10,000).', lower_bound=1)
DATA_DIR, IDX_DIR = _flags.define_data_dirs()
RECORD_TO = flags.DEFINE_string(
    'record_to', None, 'Add this run to a results JSON (docs/results.json).')
RECORD_NAME = flags.DEFINE_string('record_name', None,
                                  'Name of the run in --record_to.')


def model_config(**fields):
  """The `fashion_mnist` preset with `fields` and the size overrides."""
  return glow_tf.preset('fashion_mnist', **fields, **_flags.given(
      num_steps=NUM_STEPS, hidden_channels=HIDDEN_CHANNELS))


def _train_and_evaluate(config, context, model_dir):
  train_config = analysis.conditional.short_run_train_config(
      TRAIN_MINUTES.value, seed=SEED.value)
  run = analysis.conditional.train_model(
      config, train_config, model_dir, context=context,
      data_dir=DATA_DIR.value, idx_dir=IDX_DIR.value, log=_main.progress)
  glow, step = training.restore_model(model_dir)
  scores = analysis.conditional.evaluate_model(
      glow, context, DATA_DIR.value, IDX_DIR.value, log=_main.progress,
      max_examples=NUM_TEST_IMAGES.value)
  _main.progress(f'{model_dir}: step {step}, test '
                 f'{scores["bits_per_dim"]:.4f} bits/dim.')
  return glow, step, run, scores


def train_and_score(config, context, name):
  """Trains and scores the conditional model and the baseline; a dict."""
  started = time.monotonic()
  output_dir = OUTPUT_DIR.value or os.path.join('outputs', name)
  glow, step, run, scores = _train_and_evaluate(
      config, context, os.path.join(output_dir, 'model'))
  result = {'name': name, 'glow': glow, 'config': config,
            'output_dir': output_dir, 'started': started,
            'metrics': {'train_minutes': TRAIN_MINUTES.value,
                        'step': step, 'images_per_sec': run.get(
                            'images_per_sec'),
                        'test_bits_per_dim': scores['bits_per_dim'],
                        'num_test_images': scores['num_examples']}}
  if BASELINE_DIR.value:
    _, base_step, _, base_scores = _train_and_evaluate(
        model_config(), None, BASELINE_DIR.value)
    result['metrics'].update(
        baseline_dir=BASELINE_DIR.value, baseline_step=base_step,
        baseline_test_bits_per_dim=base_scores['bits_per_dim'])
  return result


def finish(result, extra):
  """Writes metrics.json, records the run, prints the summary line."""
  metrics = dict(result['metrics'], **extra, wall_clock_seconds=round(
      time.monotonic() - result['started'], 1))
  command = analysis.command_line(module=f"experiments.{result['name']}")
  analysis.write_json(os.path.join(result['output_dir'], 'metrics.json'),
                      dict(metrics, command=command))
  line = (f"{result['name']}: {metrics['test_bits_per_dim']:.4f} test "
          'bits/dim')
  if 'baseline_test_bits_per_dim' in metrics:
    line += (f" (unconditional, same budget: "
             f"{metrics['baseline_test_bits_per_dim']:.4f})")
  print(line + '.')
  if RECORD_TO.value:
    analysis.record_runs(RECORD_TO.value, [analysis.run_record(
        RECORD_NAME.value or f"{result['name']}-{TRAIN_MINUTES.value:g}min",
        command, metrics['wall_clock_seconds'], metrics['test_bits_per_dim'],
        result['config'],
        **{k: v for k, v in metrics.items()
           if k not in ('test_bits_per_dim', 'wall_clock_seconds')},
        dataset='fashion_mnist')])
