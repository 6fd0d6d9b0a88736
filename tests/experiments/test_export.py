"""experiments/export.py with --pretrained: the shipped model, served at once.

The export of a training directory is tested in tests/export/.
"""

import os
import sys

import numpy as np

import glow_tf
from glow_tf.data import idx
from tests import fixtures
from tests.export import exported


def test_exports_the_pretrained_model_for_a_fresh_process(tmp_path):
  export_dir = tmp_path / 'export'
  # About a minute of CPU: tracing the four signatures of the full model.
  text = fixtures.run_binary('export', '--pretrained=fashion_mnist',
                             f'--export_dir={export_dir}', timeout=900)
  step = glow_tf.pretrained_info('fashion_mnist')['step']
  path = os.path.join(export_dir, str(step))  # version: the training step
  assert f"Exported glow_tf.pretrained('fashion_mnist') to {path} " in text
  # Scored in a process that imports only TensorFlow, as a server would.
  images, _ = idx.load_idx_split(fixtures.FASHION_MNIST_IDX, 't10k')
  images = images[:2]
  inputs, outputs = tmp_path / 'inputs.npz', tmp_path / 'outputs.npz'
  np.savez(inputs, **{'score/serving_default/images': images})
  result = exported.run(sys.executable, 'tests/export_run_signatures.py',
                        path, inputs, outputs, timeout=600)
  assert result.returncode == 0, result.stderr[-3000:]
  with np.load(outputs) as out:
    served = out['score/bits_per_dim']
  expected = exported.expected_scores(glow_tf.pretrained('fashion_mnist'),
                                      images)['bits_per_dim']
  np.testing.assert_allclose(served, expected, rtol=1e-4)
  assert np.all((1 < served) & (served < 5)), served  # bin centres, no noise
