"""What machine a figure was measured on (private): one place for records and benchmarks.

```
machine_info()         {'cpu_model', 'nproc', 'avx512', 'memory_gib', 'system',
                        'python', 'tensorflow', 'tensorflow_probability'}
machine_description()  '2 CPU cores (AMD EPYC ...), 23.4 GiB RAM, Linux x86_64,
                        AVX-512, no GPU'
```
"""

import os
import platform
import re

__all__ = ['machine_info', 'machine_description']


def _read(path):
  try:
    with open(path) as f:
      return f.read()
  except OSError:
    return ''


def machine_info():
  """The CPU, its usable cores, memory and library versions, as a dict."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  import tensorflow_probability as tfp  # pylint: disable=g-import-not-at-top
  cpuinfo = _read('/proc/cpuinfo')
  found = re.search(r'model name\s*:\s*(.*)', cpuinfo)
  model = found.group(1).strip() if found else (platform.processor() or
                                                 platform.machine())
  try:
    cores = len(os.sched_getaffinity(0))
  except AttributeError:
    cores = os.cpu_count() or 0
  memory = re.search(r'MemTotal:\s*(\d+)', _read('/proc/meminfo'))
  return {'cpu_model': model, 'nproc': cores,
          'avx512': bool(re.search(r'\bavx512f\b', cpuinfo)),
          'memory_gib': (round(int(memory.group(1)) / 2**20, 1)
                         if memory else None),
          'system': f'{platform.system()} {platform.machine()}',
          'python': platform.python_version(), 'tensorflow': tf.__version__,
          'tensorflow_probability': tfp.__version__}


def machine_description():
  """One line: cores, CPU, memory, system and vector extensions."""
  info = machine_info()
  memory = (f', {info["memory_gib"]:.1f} GiB RAM' if info['memory_gib']
            else '')
  vector = ', AVX-512' if info['avx512'] else ', no AVX-512'
  return (f'{info["nproc"]} CPU cores ({info["cpu_model"]}){memory}, '
          f'{info["system"]}{vector}, no GPU')
