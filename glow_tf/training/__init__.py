"""Strategy-agnostic training of Glow: checkpoints, the train loop, evaluation.

```
train_lib       TrainConfig, Trainer (one compiled step), train, evaluate
initialization  data-dependent init under a strategy, replicas checked
ema             ExponentialMovingAverage of the weights into a second Glow
distribution    make_strategy('default' | 'mirrored' | 'multi_worker')
checkpoints     the model_dir layout, restore_model
keras_model     GlowModel, for tf_keras' fit / evaluate
```
"""

from glow_tf.training.checkpoints import CheckpointError
from glow_tf.training.checkpoints import has_ema_weights
from glow_tf.training.checkpoints import latest_checkpoint
from glow_tf.training.checkpoints import load_config
from glow_tf.training.checkpoints import restore_model
from glow_tf.training.checkpoints import save_config
from glow_tf.training.distribution import make_strategy
from glow_tf.training.distribution import STRATEGIES
from glow_tf.training.ema import ExponentialMovingAverage
from glow_tf.training.initialization import check_replicas_agree
from glow_tf.training.initialization import distribute_batch
from glow_tf.training.initialization import initialize
from glow_tf.training.initialization import is_initialized
from glow_tf.training.initialization import ReplicaMismatchError
from glow_tf.training.keras_model import GlowModel
from glow_tf.training.train_lib import evaluate
from glow_tf.training.train_lib import LinearWarmup
from glow_tf.training.train_lib import make_optimizer
from glow_tf.training.train_lib import NonFiniteLossError
from glow_tf.training.train_lib import steps_for_epochs
from glow_tf.training.train_lib import train
from glow_tf.training.train_lib import TrainConfig
from glow_tf.training.train_lib import Trainer

__all__ = [
    'check_replicas_agree', 'CheckpointError', 'distribute_batch', 'evaluate',
    'ExponentialMovingAverage', 'GlowModel', 'has_ema_weights', 'initialize',
    'is_initialized', 'latest_checkpoint', 'LinearWarmup', 'load_config',
    'make_optimizer', 'make_strategy', 'NonFiniteLossError',
    'ReplicaMismatchError', 'restore_model', 'save_config', 'steps_for_epochs',
    'STRATEGIES', 'train', 'TrainConfig', 'Trainer',
]
