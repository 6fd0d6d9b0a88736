r"""Redraws the ablation's seeds figure from `docs/results.json`'s records.

```
python -m experiments.ablation_figure --records=docs/results.json \
    --prefix=ablation-3seeds/ --output=docs/figures/ablation-3seeds.png
```

One row per variant (the records named `<prefix>*` that hold
`per_seed_test_bits_per_dim`, as `experiments/ablation.py --record_to`
writes them): a dot per seed and the mean with a +-1 std bar, lowest mean
on top. It needs no run folders, so a variant rerun elsewhere (and recorded)
is drawn with the others.
"""

import os
import sys

if not __package__:  # Run as `python experiments/<name>.py`: find the packages.
  sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
  import experiments  # Loads TensorFlow quietly (experiments/__init__.py).

# pylint: disable=g-import-not-at-top,wrong-import-position
from absl import app
from absl import flags

from experiments import _flags
from experiments import _main
from glow_tf.analysis import ablation
from glow_tf.analysis import figures

_RECORDS = flags.DEFINE_string('records', 'docs/results.json',
                               'The results JSON (`{"runs": [...]}`).')
_PREFIX = flags.DEFINE_string('prefix', 'ablation-3seeds/',
                              'Name prefix of the records to draw.')
_OUTPUT = _flags.define_output_file('The .png to write.', required=True)
_TITLE = flags.DEFINE_string('title', None, 'Title (default names the steps).')


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  if not os.path.isfile(_RECORDS.value):
    raise app.UsageError(f'--records: no file {_RECORDS.value!r}.')
  runs = figures.read_json(_RECORDS.value).get('runs', [])
  try:
    rows = ablation.seeds_figure_from_records(runs, _PREFIX.value,
                                              _OUTPUT.value, _TITLE.value)
  except ValueError as e:
    raise app.UsageError(str(e)) from e
  for name, mean, std in rows:
    _main.progress(f'{name:28s} {mean:.4f} +- {std:.4f}')
  _main.progress(f'Wrote {_OUTPUT.value}.')


if __name__ == '__main__':
  _main.run(main)
