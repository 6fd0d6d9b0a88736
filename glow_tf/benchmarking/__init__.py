"""Speed and memory of glow_tf against tfp, PyTorch and the machine's peak.

The library behind `experiments/benchmark.py`, one concern per module:

* `peak`: `peak_matmul_gflops`, the machine's float32 limit, the best of
  compiled matmuls of several shapes (`matmul_probes`), the model's own
  among them (`model_matmul_shapes`);
* `flops`: `model_matmuls`, the shape of every convolution and matmul of
  a Glow as glow_tf computes it; `forward_flops_per_image`,
  `train_flops_per_image`, their analytic multiply-adds (2 FLOPs each);
  and `count_parameters`;
* `contenders`: `build_tfp_glow`, the same architecture as
  `tfp.bijectors.Glow`; `make_train_step`, `make_sampler`, one compiled
  function each, with a fixed input signature, for either model;
* `torch_glow` (with `torch_layers`): `TorchGlow`, the same Glow written in
  PyTorch, and `torch_contender`, its train step and sampler; PyTorch is
  optional (`pip install -e '.[bench]'`), imported only by these modules,
  which this package does not import;
* `timing`: `time_interleaved`, rounds in which every contender runs in
  turn, so that drift of a shared machine hits all of them alike;
* `floor`: `matmul_floor`, glow_tf's matmuls (and, for training, its
  hidden layers' gradient passes) each timed alone, summed: a floor under
  its training step and sampling call, and so a bound on its speed-up over
  tfp on that machine;
* `memory_probe`: `peak_step_memory`, the peak memory of one training step,
  measured in a fresh process (Linux `VmHWM`);
* `op_profile`: `profile_ops`, where a compiled call's time goes: the op
  time of `tf.profiler`'s events summed by op type (the library behind
  `experiments/profile_ops.py`);
* `run`: `run_benchmark`, all of it, as one JSON-ready dict;
* `tables`: `format_table`, that dict as plain text.

#### Examples

```python
results = glow_tf.benchmarking.run_benchmark(widths=(128,), rounds=3)
print(glow_tf.benchmarking.format_table(results))
```
"""

from glow_tf.benchmarking.contenders import build_tfp_glow
from glow_tf.benchmarking.contenders import make_sampler
from glow_tf.benchmarking.contenders import make_train_step
from glow_tf.benchmarking.flops import count_parameters
from glow_tf.benchmarking.flops import forward_flops_per_image
from glow_tf.benchmarking.flops import train_flops_per_image
from glow_tf.benchmarking.floor import matmul_floor
from glow_tf.benchmarking.memory_probe import peak_step_memory
from glow_tf.benchmarking.op_profile import profile_ops
from glow_tf.benchmarking.peak import matmul_probes
from glow_tf.benchmarking.peak import model_matmul_shapes
from glow_tf.benchmarking.peak import peak_matmul_gflops
from glow_tf.benchmarking.run import benchmark_config
from glow_tf.benchmarking.run import run_benchmark
from glow_tf.benchmarking.tables import format_table
from glow_tf._machine import machine_info
from glow_tf.benchmarking.timing import time_interleaved

__all__ = [
    'benchmark_config', 'build_tfp_glow', 'count_parameters', 'format_table',
    'forward_flops_per_image', 'machine_info', 'make_sampler',
    'make_train_step', 'matmul_floor', 'matmul_probes', 'model_matmul_shapes',
    'peak_matmul_gflops', 'peak_step_memory', 'profile_ops',
    'run_benchmark', 'time_interleaved', 'train_flops_per_image',
]
