"""experiments/_flags.py: shared flags survive two binaries in one process.

Run in a fresh interpreter: the checks define flags in absl's global FLAGS,
which must stay clean in the test process.
"""

import os
import subprocess
import sys
import textwrap

from absl import app
import pytest

from tests import fixtures

_SCRIPT = textwrap.dedent("""
    from absl import flags
    import experiments.export as export
    import experiments.temperature_grid as grid
    from experiments import _flags

    # Both binaries define --model_dir, --pretrained and --use_ema through
    # _flags.
    flags.FLAGS(['prog', '--model_dir=/m', '--output_dir=/o',
                 '--export_dir=/e', '--nouse_ema'])
    assert export._MODEL.model_dir == grid._MODEL.model_dir == '/m'
    assert export._MODEL.pretrained is grid._MODEL.pretrained is None
    assert export._USE_EMA.value is False and grid._USE_EMA.value is False
    for module in ('experiments.export', 'experiments.temperature_grid'):
      keys = {f.name for f in flags.FLAGS.get_key_flags_for_module(module)}
      assert {'model_dir', 'pretrained', 'use_ema'} <= keys, (module, keys)
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


class _Holder:
  def __init__(self, value):
    self.value = value


def _model_source(model_dir=None, pretrained=None):
  from experiments import _flags  # pylint: disable=g-import-not-at-top
  return _flags.ModelSource(_Holder(model_dir), _Holder(pretrained))


@pytest.mark.parametrize('model_dir, pretrained, load_args, message', [
    (None, None, {}, 'Give --model_dir (a training directory) or '
     '--pretrained (a model that ships with the package: fashion_mnist).'),
    ('/m', 'fashion_mnist', {}, "Give --model_dir or --pretrained, not both "
     "(got --model_dir='/m' and --pretrained='fashion_mnist')."),
    (None, 'cifar', {}, "--pretrained='cifar': no such model; the package "
     'ships: fashion_mnist.'),
    (None, 'fashion_mnist', {'checkpoint': '/m/ckpt-3'},
     "--checkpoint='/m/ckpt-3' is a checkpoint of --model_dir"),
    (None, 'fashion_mnist', {'use_ema': False},
     "--nouse_ema needs --model_dir: --pretrained='fashion_mnist' ships only"),
])
def test_model_source_needs_exactly_one_known_model(model_dir, pretrained,
                                                    load_args, message):
  with pytest.raises(app.UsageError) as raised:
    _model_source(model_dir, pretrained).load(**load_args)
  assert message in str(raised.value)


def test_model_source_describes_the_pretrained_model():
  import glow_tf  # pylint: disable=g-import-not-at-top
  glow, step, model = _model_source(pretrained='fashion_mnist').load()
  info = glow_tf.pretrained_info('fashion_mnist')
  assert isinstance(glow, glow_tf.Glow) and step == info['step']
  assert str(model) == "glow_tf.pretrained('fashion_mnist')"
  assert model.record['pretrained'] == 'fashion_mnist'
  assert model.record['ema_weights'] is True
  assert model.record['pretrained_info']['test_bits_per_dim'] == (
      info['test_bits_per_dim'])
  assert model.output_root == os.path.join('outputs',
                                           'pretrained_fashion_mnist')


def test_model_source_describes_a_training_directory(tmp_path):
  model_dir = fixtures.make_model_dir(str(tmp_path / 'model'), step=5)
  _, step, model = _model_source(model_dir=model_dir).load()
  assert step == 5 and model.output_root == model_dir
  assert model.record == {'model_dir': model_dir, 'checkpoint': str(model),
                          'ema_weights': False}
  assert str(model).startswith(os.path.join(model_dir, 'ckpt-'))


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
