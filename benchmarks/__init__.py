"""Speed and memory of glow_tf against tfp, PyTorch and the machine's peak.

Not part of the glow_tf package (nor of its wheel): the library behind
`experiments/benchmark.py`, run from the repository's root, one concern per
module. The machine's float32 matmul peak, the limit every GFLOP/s here is
a fraction of, is `glow_tf.machine.peak_matmul_gflops` (the best of
compiled matmuls of several shapes, `matmul_probes`, the model's own among
them, `model_matmul_shapes`), which the demo also measures.

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
  which this package's `__init__` does not import;
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
results = benchmarks.run_benchmark(widths=(128,), rounds=3)
print(benchmarks.format_table(results))
```
"""

from benchmarks.contenders import build_tfp_glow
from benchmarks.contenders import make_sampler
from benchmarks.contenders import make_train_step
from benchmarks.floor import matmul_floor
from benchmarks.flops import count_parameters
from benchmarks.flops import forward_flops_per_image
from benchmarks.flops import train_flops_per_image
from benchmarks.memory_probe import peak_step_memory
from benchmarks.op_profile import profile_ops
from benchmarks.run import benchmark_config
from benchmarks.run import run_benchmark
from benchmarks.tables import format_table
from benchmarks.timing import time_interleaved
from glow_tf.machine import machine_info
from glow_tf.machine import matmul_probes
from glow_tf.machine import model_matmul_shapes
from glow_tf.machine import peak_matmul_gflops

__all__ = [
    'benchmark_config', 'build_tfp_glow', 'count_parameters', 'format_table',
    'forward_flops_per_image', 'machine_info', 'make_sampler',
    'make_train_step', 'matmul_floor', 'matmul_probes', 'model_matmul_shapes',
    'peak_matmul_gflops', 'peak_step_memory', 'profile_ops',
    'run_benchmark', 'time_interleaved', 'train_flops_per_image',
]
