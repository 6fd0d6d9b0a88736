"""Tests of glow_tf.training.config: TrainConfig and steps_for_epochs."""

import pytest

from glow_tf import training


@pytest.mark.parametrize('field, value, message', [
    ('batch_size', 0, '`batch_size` must be a positive int'),
    ('learning_rate', -1.0, '`learning_rate` must be a positive float'),
    ('optimizer', 'sgd', "`optimizer` must be one of \\['adamax', 'adam'\\]"),
    ('lr_decay', 'step', "`lr_decay` must be one of \\['none', 'cosine'\\]"),
    ('time_budget_s', 0.0, '`time_budget_s` must be a positive float'),
    ('ema_decay', 1.0, 'ema_decay must be in \\[0, 1\\)'),
    ('clip_grad_norm', 0.0, '`clip_grad_norm` must be a positive float'),
    ('warmup_steps', -1, '`warmup_steps` must be a non-negative int'),
    ('random_flip', 1, 'random_flip must be True or False'),
    ('memory_saving', 'yes', 'memory_saving must be True or False'),
    ('beta_2', 1.0, 'beta_2 must be in \\(0, 1\\)'),
    ('beta_2', 0.0, 'beta_2 must be in \\(0, 1\\)'),
])
def test_train_config_rejects_bad_values(field, value, message):
  with pytest.raises(ValueError, match=message):
    training.TrainConfig().replace(**{field: value})


def test_steps_for_epochs():
  assert training.steps_for_epochs(2, 60_000, 64) == 1875
  assert training.steps_for_epochs(0.5, 10, 3) == 2
  with pytest.raises(ValueError, match='`epochs` must be a positive float'):
    training.steps_for_epochs(0, 10, 3)
