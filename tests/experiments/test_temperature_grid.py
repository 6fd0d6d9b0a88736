"""experiments/temperature_grid.py end to end on a tiny model."""

import os

from tests.experiments import helpers


def test_writes_grid_and_json(tmp_path):
  model_dir = helpers.make_model_dir(str(tmp_path / 'model'))
  out = tmp_path / 'figures'
  helpers.run_binary('temperature_grid', f'--model_dir={model_dir}',
                     f'--output_dir={out}', '--num_samples=3',
                     '--temperatures=0,0.7,1')
  helpers.check_png(os.path.join(out, 'temperature_grid.png'))
  summary = helpers.read_json(
      os.path.join(out, 'temperature_grid.json'),
      ['figure', 'temperatures', 'num_samples', 'model', 'mean_pixel'])
  assert summary['temperatures'] == [0.0, 0.7, 1.0]
  assert summary['model']['step'] == 7
