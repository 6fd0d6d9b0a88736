"""Runs an exported Glow's signatures in a process that imports only TensorFlow.

```
python tests/export_run_signatures.py SAVED_MODEL_DIR INPUTS.npz OUTPUTS.npz
```

`INPUTS.npz` holds `<call>/<signature>/<input>` arrays (a call is any name,
so a signature can be called several times); each call's outputs are written
to `OUTPUTS.npz` as `<call>/<output>`, with `modules/glow_tf` and
`modules/tensorflow_probability` recording whether those packages were
imported (they must not be: a server needs only TensorFlow). Used by
tests/test_export.py; it must not import glow_tf.
"""

import sys

import numpy as np
import tensorflow as tf


def main(saved_model_dir, inputs_path, outputs_path):
  loaded = tf.saved_model.load(saved_model_dir, tags=['serve'])
  calls = {}
  with np.load(inputs_path) as inputs:
    for key in inputs.files:
      call, signature, name = key.split('/')
      calls.setdefault((call, signature), {})[name] = inputs[key]
  outputs = {}
  for (call, signature), kwargs in sorted(calls.items()):
    results = loaded.signatures[signature](
        **{name: tf.constant(value) for name, value in kwargs.items()})
    for name, value in results.items():
      outputs[f'{call}/{name}'] = value.numpy()
  for module in ('glow_tf', 'tensorflow_probability'):
    outputs[f'modules/{module}'] = np.array(module in sys.modules)
  np.savez(outputs_path, **outputs)
  leaked = [m for m in ('glow_tf', 'tensorflow_probability')
            if m in sys.modules]
  if leaked:
    sys.exit(f'Loading the SavedModel imported {leaked}.')


if __name__ == '__main__':
  main(*sys.argv[1:])
