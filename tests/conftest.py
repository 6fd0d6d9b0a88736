"""Shared test set-up: two logical CPU devices, for MirroredStrategy tests.

A device configuration is only accepted before TensorFlow initialises its
runtime, so it is done here, at import time, before any test module runs.
"""

import tensorflow as tf

try:
  tf.config.set_logical_device_configuration(
      tf.config.list_physical_devices('CPU')[0],
      [tf.config.LogicalDeviceConfiguration()] * 2)
except RuntimeError:  # The runtime was already initialised.
  pass
