"""Checks what `bash scripts/demo.sh` wrote, as a user would find it.

```
.venv/bin/python .ci/check_demo.py outputs/demo
```
(the Python that `bash scripts/demo.sh` installed glow_tf into: `.venv/`
in the clone, or the virtual environment that was active).
metrics.json with a finite test bits/dim over the test images, samples.png and
training_curve.png as PNGs, and export/<step>/ a SavedModel that a fresh
process (TensorFlow only) loads and whose `serving_default` answers, with TF
Serving's warm-up records beside it. Exits non-zero with the reason.
"""

import json
import math
import os
import subprocess
import sys

_SERVE = r'''
import sys
import numpy as np
import tensorflow as tf
model = tf.saved_model.load(sys.argv[1])
images = np.random.default_rng(0).integers(0, 256, [3, 28, 28, 1], np.uint8)
out = model.signatures['serving_default'](images=tf.constant(images))
bits = out['bits_per_dim'].numpy()
assert bits.shape == (3,) and np.all(np.isfinite(bits)), bits
print('serving_default bits/dim', bits)
'''


def main(output_dir):
  with open(os.path.join(output_dir, 'metrics.json')) as f:
    metrics = json.load(f)
  failed = {k: v for k, v in metrics['stages'].items() if v['status'] != 'ok'}
  assert not failed, f'failed stages: {failed}'
  bpd = metrics['test_bits_per_dim']
  assert bpd is not None and math.isfinite(bpd) and 0 < bpd < 8, bpd
  assert metrics['num_test_images'] == 10_000, metrics['num_test_images']
  assert metrics['step'] > 0, metrics['step']
  for name in ('samples.png', 'training_curve.png'):
    with open(os.path.join(output_dir, name), 'rb') as f:
      assert f.read(8) == b'\x89PNG\r\n\x1a\n', f'{name} is not a PNG'
  export = os.path.join(output_dir, metrics['files']['export'])
  assert os.path.basename(export) == str(metrics['step']), export
  assert os.path.exists(os.path.join(export, 'saved_model.pb')), export
  assert os.path.getsize(os.path.join(
      export, 'assets.extra', 'tf_serving_warmup_requests')) > 0
  subprocess.run([sys.executable, '-c', _SERVE, export], check=True,
                 env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2'))
  print(f'demo output OK: step {metrics["step"]}, test bits/dim {bpd:.4f}, '
        f'export {export}')


if __name__ == '__main__':
  main(sys.argv[1])
