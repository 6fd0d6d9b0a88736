"""Tests of glow_tf.training.evaluation: bits/dim of a split, the curve callback."""

import os

import numpy as np
import pytest
import tensorflow as tf

import glow_tf
from glow_tf import data
from glow_tf import training
from glow_tf.training import checkpoints
from tests import fixtures


def test_evaluate_bits_per_dim(trained_dir):
  glow, _ = checkpoints.restore_model(trained_dir[0])
  dataset = fixtures.dataset_fn(num=20, seed=1)(None)
  results = training.evaluate(glow, dataset, batch_size=8, log_every=1)
  assert results['num_examples'] == 20
  expected = glow_tf.bits_per_dim(glow, fixtures.blob_images(20, seed=1))
  assert 0 < results['bits_per_dim'] < 8
  # Same figure as glow_tf.bits_per_dim up to the dequantisation noise.
  assert results['bits_per_dim'] == pytest.approx(float(np.mean(expected)),
                                                  abs=0.05)
  assert training.evaluate(glow, dataset, batch_size=8,
                            max_examples=5)['num_examples'] == 5
  assert (results['bits_per_dim'] <= results['bits_per_dim_p99'] <=
          results['bits_per_dim_max'])
  with pytest.raises(ValueError, match=r'shape \(32, 32, 3\)'):
    training.evaluate(glow, tf.data.Dataset.from_tensor_slices(
        {'image': np.zeros([2, 32, 32, 3], np.uint8)}))


def test_evaluate_names_the_worst_image(trained_dir):
  # A model trained on blobs finds uniform noise far less likely: slipped in
  # as image 13 of 21, it is the maximum, and it alone moves the mean.
  glow, _ = checkpoints.restore_model(trained_dir[0])
  blobs = fixtures.blob_images(20, seed=1)
  noise = np.random.default_rng(0).integers(0, 256, blobs.shape[1:], np.uint8)
  images = np.concatenate([blobs[:13], noise[None], blobs[13:]])
  dataset = tf.data.Dataset.from_tensor_slices(
      {'image': images, 'label': np.zeros([21], np.int64)})
  results = training.evaluate(glow, dataset, batch_size=8, log_every=0)
  clean = training.evaluate(glow, dataset.take(13).concatenate(
      dataset.skip(14)), batch_size=8, log_every=0)
  assert results['worst_example'] == 13
  assert results['bits_per_dim_max'] > clean['bits_per_dim_max'] + 1.0
  # The worst ten, worst first, the noise image at their head; the others
  # are blobs, none above the clean split's maximum.
  worst = results['worst_examples']
  assert len(worst) == training.NUM_WORST
  assert worst[0] == [13, pytest.approx(results['bits_per_dim_max'])]
  values = [value for _, value in worst]
  assert values == sorted(values, reverse=True)
  assert len({i for i, _ in worst}) == training.NUM_WORST
  assert all(0 <= i < 21 for i, _ in worst)
  assert values[1] < clean['bits_per_dim_max'] + 0.5 < values[0]
  per_image = float(glow_tf.bits_per_dim(glow, noise[None])[0])
  assert results['bits_per_dim_max'] == pytest.approx(per_image, abs=0.05)
  assert results['bits_per_dim_p99'] < results['bits_per_dim_max']


def test_uniform_scores_are_the_one_draw_formula():
  glow = glow_tf.Glow(fixtures.tiny_config())
  images = fixtures.blob_images(12, seed=2)
  glow.initialize(glow_tf.dequantize(images, seed=0))
  scorer = training.BitsPerDimScorer(glow, batch_size=8)
  assert scorer.num_samples == 1
  expected = [glow_tf.images.bits_per_dim_from_log_prob(glow.log_prob(
      glow_tf.dequantize(images[start:start + 8], seed=[3, b])), 784, 8)
              for b, start in enumerate((0, 8))]
  np.testing.assert_allclose(scorer(images, seed=3), np.concatenate(expected),
                             rtol=1e-6)


def test_a_variational_model_is_scored_with_its_dequantizer():
  glow = glow_tf.Glow(fixtures.tiny_config(dequantization='variational',
                                           dequantizer_steps=2,
                                           dequantizer_channels=8))
  images = fixtures.blob_images(12, seed=2)
  glow.initialize(glow_tf.dequantize(images, seed=0))
  scorer = training.BitsPerDimScorer(glow, batch_size=8)
  assert scorer.num_samples == 4  # importance-weighted
  bits = scorer(images, seed=3)
  expected = [glow_tf.bits_per_dim(glow, images[start:start + 8],
                                   seed=tf.constant([3, b]), num_samples=4)
              for b, start in enumerate((0, 8))]
  np.testing.assert_allclose(bits, np.concatenate(expected), rtol=1e-5)
  # `evaluate` reads the pipeline's images: their bins are the images', and
  # q's draws are the scorer's.
  dataset = tf.data.Dataset.from_tensor_slices(
      {'image': images, 'label': np.zeros([12], np.int64)})
  results = training.evaluate(glow, dataset, batch_size=8, seed=3,
                              log_every=0)
  assert results['bits_per_dim'] == pytest.approx(float(np.mean(bits)),
                                                   rel=1e-5)
  elbo = training.evaluate(glow, dataset, batch_size=8, seed=3, log_every=0,
                           num_samples=1)
  assert elbo['bits_per_dim'] > results['bits_per_dim']


class _Losses(training.Callback):
  """Keeps every step's loss, to check the curve's training means."""

  def __init__(self):
    self.losses = {}

  def on_step_end(self, trainer, step, loss, finite):
    self.losses[step] = loss


def test_curve_scores_every_n_steps_resumes_and_counts_its_time(tmp_path):
  model_dir = str(tmp_path / 'model')
  images = fixtures.blob_images(12, seed=5)
  curve, losses = training.CurveEvaluation(images, every_steps=2,
                                           batch_size=5), _Losses()
  training.train(fixtures.tiny_config(),
                 fixtures.tiny_train_config(train_steps=4), model_dir,
                 fixtures.dataset_fn(), callbacks=[curve, losses])
  assert [p.step for p in curve.history] == [0, 2, 4]
  assert curve.history[0].train_bits_per_dim is None
  assert curve.history[1].train_bits_per_dim == pytest.approx(
      np.mean([losses.losses[1], losses.losses[2]]))
  assert curve.history[2].train_bits_per_dim == pytest.approx(
      np.mean([losses.losses[3], losses.losses[4]]))
  # The last point is the averaged model's bits/dim of the curve's images.
  glow, _ = checkpoints.restore_model(model_dir)
  scores = training.BitsPerDimScorer(glow, batch_size=5)(images)
  assert curve.history[-1].test_bits_per_dim == pytest.approx(
      float(np.mean(scores)), abs=1e-5)
  assert curve.seconds > 0
  assert training.read_history(model_dir) == curve.history
  first_seconds = curve.seconds

  resumed = training.CurveEvaluation(images, every_steps=2, batch_size=5)
  training.train(fixtures.tiny_config(),
                 fixtures.tiny_train_config(train_steps=6), model_dir,
                 fixtures.dataset_fn(), callbacks=[resumed])
  assert [p.step for p in resumed.history] == [0, 2, 4, 6]
  assert resumed.history[:3] == curve.history
  assert resumed.seconds > first_seconds
  assert [p.seconds for p in resumed.history] == sorted(
      p.seconds for p in resumed.history)


def test_curve_skips_grid_points_over_its_share_of_time(tmp_path):
  # A share no evaluation can keep: after the first grid point (whose cost
  # is measured) every later one is skipped; the start and end are scored.
  images = fixtures.blob_images(12, seed=5)
  curve = training.CurveEvaluation(images, every_steps=2, batch_size=5,
                                   max_time_fraction=1e-9)
  training.train(fixtures.tiny_config(),
                 fixtures.tiny_train_config(train_steps=8, summary_every=0,
                                            sample_every=0),
                 str(tmp_path / 'model'), fixtures.dataset_fn(),
                 callbacks=[curve])
  assert [p.step for p in curve.history] == [0, 2, 8]
  assert curve.skipped == 2  # Steps 4 and 6.
  for bad in (0.0, 1.0, -0.1):
    with pytest.raises(ValueError, match='max_time_fraction'):
      training.CurveEvaluation(images, every_steps=2, max_time_fraction=bad)


def _conditional_config():
  """A tiny p(x | y, low_res) with a class-prediction loss."""
  return fixtures.tiny_config(num_classes=10, class_loss_weight=0.1,
                              context_shape=(14, 14, 1), context_channels=4)


def _low_res_dataset_fn(num=64, seed=0):
  """`input_context -> dataset` of blob images, labels and low_res contexts."""
  return lambda input_context: data.with_context(
      fixtures.dataset_fn(num, seed)(input_context), 'low_res')


def test_scorer_scores_with_the_contexts_and_refuses_none():
  glow = glow_tf.Glow(_conditional_config())
  images = fixtures.blob_images(6, seed=2)
  labels = np.arange(6) % 10
  low_res = data.contexts.low_resolution(images).numpy()
  glow.initialize(glow_tf.dequantize(images, seed=0), context=low_res)
  for i, v in enumerate(glow.trainable_variables):  # off the identity init
    v.assign(v + tf.random.stateless_normal(v.shape, [5, i], 0.0, 0.05))
  scorer = training.BitsPerDimScorer(glow, batch_size=4)
  scores = scorer(images, seed=3, labels=labels, contexts=low_res)
  # Batch b is dequantised with the noise of [3, b].
  by_hand = np.concatenate([
      glow_tf.images.bits_per_dim_from_log_prob(glow.log_prob(
          glow_tf.dequantize(images[s], seed=[3, b]), labels=labels[s],
          context=low_res[s]), 28 * 28, 8).numpy()
      for b, s in enumerate((slice(0, 4), slice(4, 6)))])
  np.testing.assert_allclose(scores, by_hand, rtol=1e-5)
  # The score is of p(x | context): another image's context changes it.
  other = scorer(images, seed=3, labels=labels, contexts=low_res[::-1])
  assert np.all(np.abs(other - scores) > 1e-4)
  with pytest.raises(ValueError, match='The model is conditional: give the '
                     'contexts.'):
    scorer(images, labels=labels)
  with pytest.raises(ValueError, match='The model is class-conditional: give '
                     'the labels.'):
    scorer(images, contexts=low_res)


def test_curve_of_a_conditional_class_loss_model_resumes(tmp_path):
  # The training path of a conditional model with a class-prediction loss:
  # the init batch's contexts, the curve on contexts and labels, no sample
  # grid (the summaries have no contexts), and a resumed run.
  model_dir = str(tmp_path / 'model')
  images = fixtures.blob_images(10, seed=5)
  labels = np.arange(10) % 10
  low_res = data.contexts.low_resolution(images).numpy()
  config = _conditional_config()
  curve = lambda: training.CurveEvaluation(images, every_steps=2, batch_size=5,
                                           contexts=low_res, labels=labels)
  train_config = fixtures.tiny_train_config(
      train_steps=2, checkpoint_every=2, sample_every=1, random_flip=True)
  first = curve()
  metrics = training.train(config, train_config, model_dir,
                           _low_res_dataset_fn(), callbacks=[first])
  assert metrics['step'] == 2 and np.isfinite(metrics['bits_per_dim'])
  assert [p.step for p in first.history] == [0, 2]

  resumed = curve()
  metrics = training.train(config, train_config.replace(train_steps=4),
                           model_dir, _low_res_dataset_fn(),
                           callbacks=[resumed])
  assert metrics['start_step'] == 2 and metrics['step'] == 4
  assert [p.step for p in resumed.history] == [0, 2, 4]
  assert resumed.history[:2] == first.history
  glow, step = checkpoints.restore_model(model_dir)
  assert step == 4 and glow.config == config
  scores = training.BitsPerDimScorer(glow, batch_size=5)(
      images, labels=labels, contexts=low_res)
  assert resumed.history[-1].test_bits_per_dim == pytest.approx(
      float(np.mean(scores)), abs=1e-5)
  tags = set()
  summary_dir = os.path.join(model_dir, training.callbacks.SUMMARY_DIR)
  for name in os.listdir(summary_dir):
    for record in tf.data.TFRecordDataset(os.path.join(summary_dir, name)):
      tags.update(v.tag for v in tf.compat.v1.Event.FromString(
          record.numpy()).summary.value)
  assert 'loss' in tags and 'samples' not in tags

  # A curve without the contexts is refused when training starts.
  trainer = training.Trainer(config, train_config)
  for missing in (training.CurveEvaluation(images, 2, labels=labels),
                  training.CurveEvaluation(images, 2)):
    with pytest.raises(ValueError, match='The model is (class-)?conditional: '
                       'give the'):
      missing.on_train_begin(trainer, str(tmp_path / 'other'), 0)
