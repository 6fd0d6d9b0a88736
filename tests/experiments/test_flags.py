"""experiments/_flags.py: shared flags survive two binaries in one process.

Run in a fresh interpreter: the checks define flags in absl's global FLAGS,
which must stay clean in the test process.
"""

import os
import subprocess
import sys
import textwrap

from tests import fixtures

_SCRIPT = textwrap.dedent("""
    from absl import flags
    import experiments.export as export
    import experiments.temperature_grid as grid
    from experiments import _flags

    # Both binaries define --model_dir and --use_ema through _flags.
    flags.FLAGS(['prog', '--model_dir=/m', '--output_dir=/o',
                 '--export_dir=/e', '--nouse_ema'])
    assert export._MODEL_DIR.value == grid._MODEL_DIR.value == '/m'
    assert export._USE_EMA.value is False and grid._USE_EMA.value is False
    for module in ('experiments.export', 'experiments.temperature_grid'):
      keys = {f.name for f in flags.FLAGS.get_key_flags_for_module(module)}
      assert {'model_dir', 'use_ema'} <= keys, (module, keys)
    # Help text of the first definition; a second call returns the same flag.
    assert flags.FLAGS['use_ema'].help.startswith('Export the averaged')
    assert _flags.define_model_dir().value == '/m'
    try:  # A clash of defaults is still absl's error.
      _flags.define_output_dir('Elsewhere.', default='/tmp/elsewhere')
    except flags.DuplicateFlagError:
      print('ok')
""")


def test_two_binaries_share_flags_in_one_process():
  env = dict(os.environ, PYTHONPATH=fixtures.REPO_ROOT,
             TF_CPP_MIN_LOG_LEVEL='2', CUDA_VISIBLE_DEVICES='')
  result = subprocess.run([sys.executable, '-c', _SCRIPT],
                          cwd=fixtures.REPO_ROOT, env=env, capture_output=True,
                          text=True, timeout=300, check=False)
  assert result.returncode == 0 and result.stdout.strip() == 'ok', (
      result.stdout + result.stderr[-3000:])


def test_given_keeps_only_the_flags_that_have_a_value():
  from experiments import _flags  # pylint: disable=g-import-not-at-top

  class Holder:
    def __init__(self, value):
      self.value = value

  assert _flags.given(num_steps=Holder(4), num_levels=Holder(None),
                      coupling=Holder('additive'), n_bits=Holder(0)) == {
                          'num_steps': 4, 'coupling': 'additive', 'n_bits': 0}


def test_output_file_problem_names_what_cannot_be_written(tmp_path):
  from experiments import _flags  # pylint: disable=g-import-not-at-top
  assert _flags.output_file_problem(str(tmp_path / 'a.json')) is None
  # Missing folders are created by the writer.
  assert _flags.output_file_problem(str(tmp_path / 'x' / 'y' / 'a.json')) is None
  assert 'is a folder' in _flags.output_file_problem(str(tmp_path))
  (tmp_path / 'file').write_text('')
  problem = _flags.output_file_problem(str(tmp_path / 'file' / 'a.json'))
  assert 'is a file, not a folder' in problem


def test_a_bad_output_path_stops_the_benchmark_before_it_starts(tmp_path):
  result = fixtures.run_binary('benchmark', f'--output={tmp_path}',
                               check=False)
  assert result.returncode != 0
  assert 'is a folder; give the path of a file' in result.stderr
  assert 'matmul peak' not in result.stdout + result.stderr
