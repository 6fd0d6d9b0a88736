"""Strategy-agnostic training of Glow: checkpoints, the train loop, evaluation."""

from glow_tf.training.checkpoints import CheckpointError
from glow_tf.training.checkpoints import latest_checkpoint
from glow_tf.training.checkpoints import load_config
from glow_tf.training.checkpoints import restore_model
from glow_tf.training.checkpoints import save_config

__all__ = ['CheckpointError', 'latest_checkpoint', 'load_config',
           'restore_model', 'save_config']
