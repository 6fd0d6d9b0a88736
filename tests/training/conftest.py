"""Fixtures of the training tests: one trained model_dir, shared."""

import pytest

from glow_tf import training
from tests import fixtures


@pytest.fixture(scope='module')
def trained_dir(tmp_path_factory):
  """A model_dir trained for 6 steps (checkpoints at 3 and 6)."""
  model_dir = str(tmp_path_factory.mktemp('trained') / 'model')
  metrics = training.train(fixtures.tiny_config(), fixtures.tiny_train_config(),
                           model_dir, fixtures.dataset_fn())
  return model_dir, metrics

