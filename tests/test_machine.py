"""Tests of glow_tf._machine: the machine a figure was measured on."""

import os

from glow_tf import _machine


def test_machine_info_reads_this_machine():
  info = _machine.machine_info()
  assert info['nproc'] == len(os.sched_getaffinity(0))
  with open('/proc/cpuinfo') as f:
    cpuinfo = f.read()
  assert info['avx512'] == (' avx512f ' in cpuinfo.replace('\n', ' '))
  assert info['cpu_model'] and info['cpu_model'] in cpuinfo
  line = _machine.machine_description()
  assert line.startswith(f'{info["nproc"]} CPU cores ({info["cpu_model"]})')
  assert ('AVX-512' in line) and (('no AVX-512' in line) != info['avx512'])
