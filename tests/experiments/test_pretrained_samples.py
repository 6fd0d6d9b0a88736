"""experiments/pretrained_samples.py end to end on the shipped model."""

import numpy as np

from glow_tf import analysis
from tests import fixtures


def test_writes_one_row_per_temperature(tmp_path):
  output = tmp_path / 'figures' / 'samples.png'
  fixtures.run_binary('pretrained_samples', f'--output={output}',
                      '--num_samples=3', '--temperatures=0,0.7')
  size = fixtures.check_png(str(output))
  # The same grid of blank images, labels and title: the same pixel size.
  blank = analysis.save_image_grid(
      str(tmp_path / 'blank.png'), np.zeros([2, 3, 28, 28, 1], np.uint8),
      row_labels=['T=0', 'T=0.7'],
      title="glow_tf.pretrained('fashion_mnist'): samples at temperature T")
  assert size == fixtures.check_png(blank)

