"""Strategy-agnostic training of Glow: the loop, checkpoints, evaluation.

```
config          TrainConfig (how to train), steps_for_epochs
optimizer       Adamax/Adam under the warm-up schedule
trainer         Trainer: model, EMA, optimizer, one compiled train step
loop            train: the one training loop (resume, init, the steps)
callbacks       Callback, and the loop's pieces as callbacks: TimeBudget,
                Summaries, OutlierBatchLog, ProgressLog, CheckpointSaver,
                PreemptionSaver
run_state       RunState: step, clock, counters shared by the loop's pieces
progress        the progress line: bits/dim, images/s, time (or budget) left
workers         multi-worker faults: lost worker, preemption checkpoints
evaluation      evaluate a split, BitsPerDimScorer, CurveEvaluation callback
checkpoints     the model_dir layout, intact-checkpoint search, restore_model
initialization  data-dependent init under a strategy, replicas checked
ema             ExponentialMovingAverage of the weights into a second Glow
distribution    make_strategy('default' | 'mirrored' | 'multi_worker')
summaries       TensorBoard scalars and images with TensorFlow alone
keras_model     GlowModel, for tf_keras' fit / evaluate
```
"""

from glow_tf.training.callbacks import Callback
from glow_tf.training.checkpoints import CheckpointError
from glow_tf.training.checkpoints import find_intact_checkpoint
from glow_tf.training.checkpoints import has_ema_weights
from glow_tf.training.checkpoints import latest_checkpoint
from glow_tf.training.checkpoints import load_config
from glow_tf.training.checkpoints import restore_model
from glow_tf.training.checkpoints import save_config
from glow_tf.training.config import OPTIMIZERS
from glow_tf.training.config import steps_for_epochs
from glow_tf.training.config import TrainConfig
from glow_tf.training.distribution import make_strategy
from glow_tf.training.distribution import STRATEGIES
from glow_tf.training.ema import ExponentialMovingAverage
from glow_tf.training.evaluation import BitsPerDimScorer
from glow_tf.training.evaluation import CurveEvaluation
from glow_tf.training.evaluation import EvalPoint
from glow_tf.training.evaluation import evaluate
from glow_tf.training.evaluation import NUM_WORST
from glow_tf.training.evaluation import read_history
from glow_tf.training.initialization import check_replicas_agree
from glow_tf.training.initialization import distribute_batch
from glow_tf.training.initialization import initialize
from glow_tf.training.initialization import is_initialized
from glow_tf.training.initialization import ReplicaMismatchError
from glow_tf.training.keras_model import GlowModel
from glow_tf.training.loop import train
from glow_tf.training.optimizer import LinearWarmup
from glow_tf.training.optimizer import make_optimizer
from glow_tf.training.trainer import batch_bits_per_dim
from glow_tf.training.trainer import NonFiniteLossError
from glow_tf.training.trainer import Trainer
from glow_tf.training.workers import WorkerLostError
