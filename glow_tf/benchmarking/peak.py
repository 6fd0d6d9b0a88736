"""The machine's float32 matmul peak, for the fraction of it a model reaches."""

import time

import tensorflow as tf

__all__ = ['peak_matmul_gflops']


def peak_matmul_gflops(size=4096, repeats=5, dtype=tf.float32):
  """Best GFLOP/s of a compiled `[size, size] @ [size, size]` matmul."""
  a = tf.random.stateless_normal([size, size], seed=[0, 1], dtype=dtype)
  b = tf.random.stateless_normal([size, size], seed=[0, 2], dtype=dtype)
  matmul = tf.function(lambda a, b: tf.reduce_sum(tf.matmul(a, b)[0]))
  matmul(a, b).numpy()
  best = float('inf')
  for _ in range(repeats):
    start = time.perf_counter()
    matmul(a, b).numpy()
    best = min(best, time.perf_counter() - start)
  return 2.0 * size**3 / best / 1e9
