"""The main job (`scripts/demo.sh`): train Fashion-MNIST for a bounded time, report.

`run_demo` writes everything to one folder:

```
output_dir/
  samples.png           samples at temperatures 0, 0.5, 0.7, 1.0
  training_curve.png    train and test bits/dim against step, with the
                        published Glow (3.14) and histogram (4.59) figures
  metrics.json          test bits/dim, steps, times, machine (with its
                        float32 matmul peak), config, how each stage went
  model/                the training directory (resumable)
  export/<step>/        the SavedModel for TF Serving (glow_tf.export)
```

```
demo     run_demo, DemoError: the stages in order, a failure kept to the end
stages   one function per stage: train, restore, evaluate, draw_samples,
         draw_curve, export_model, measure_peak; DemoSettings
record   Record: metrics.json, written after every stage
```
`experiments/demo.py` is the binary over it.
"""

from glow_tf.main_job.demo import DemoError
from glow_tf.main_job.demo import run_demo
from glow_tf.main_job.record import Record
from glow_tf.main_job.stages import DemoSettings
from glow_tf.main_job.stages import write_training_curve

__all__ = ['DemoError', 'DemoSettings', 'Record', 'run_demo',
           'write_training_curve']
