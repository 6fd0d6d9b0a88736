"""experiments/temperature_grid.py end to end on a tiny model."""

import os

from tests import fixtures


def test_writes_grid_and_json(tmp_path):
  model_dir = fixtures.make_model_dir(str(tmp_path / 'model'))
  out = tmp_path / 'figures'
  fixtures.run_binary('temperature_grid', f'--model_dir={model_dir}',
                     f'--output_dir={out}', '--num_samples=3',
                     '--temperatures=0,0.7,1')
  fixtures.check_png(os.path.join(out, 'temperature_grid.png'))
  summary = fixtures.read_json(
      os.path.join(out, 'temperature_grid.json'),
      ['figure', 'temperatures', 'num_samples', 'model', 'mean_pixel'])
  assert summary['temperatures'] == [0.0, 0.7, 1.0]
  assert summary['model']['step'] == 7
