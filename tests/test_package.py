"""Tests of the package as a whole: public APIs only, one-way imports.

* glow_tf uses no private API of TensorFlow or TFP (`tensorflow.python`,
  TFP's `_Chain`, a bijector's `_cache`) and calls no private method of
  another module's objects;
* `import glow_tf` loads the model, not the training code. (It does load
  tf_keras: TFP imports it on the first use of any of its subpackages, in
  `tensorflow_probability/python/__init__.py`, `_validate_tf_environment`.)
* the imports between glow_tf's modules form no cycle;
* the tests mirror the package: each module `glow_tf/<path>/<name>.py` has
  its tests in `tests/<path>/test_<name>.py` (a leading underscore dropped).
"""

import ast
import json
import os
import shutil
import subprocess
import sys
import zipfile

import pytest

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_PACKAGE = os.path.join(_ROOT, 'glow_tf')
_TESTS = os.path.join(_ROOT, 'tests')

# Text that marks a private TensorFlow / TFP API, or a protected access.
_FORBIDDEN = ('tensorflow.python', 'tensorflow_probability.python',
              'chain_lib', '_Chain', '._cache', 'protected-access')


def _module_files():
  """`{dotted module name: path}` of every module of glow_tf."""
  modules = {}
  for directory, _, files in os.walk(_PACKAGE):
    for file in files:
      if not file.endswith('.py'):
        continue
      path = os.path.join(directory, file)
      parts = os.path.relpath(path, _ROOT)[:-len('.py')].split(os.sep)
      if parts[-1] == '__init__':
        parts = parts[:-1]
      modules['.'.join(parts)] = path
  return modules


def private_api_uses(source, module):
  """Where `source` (the text of `module`) uses a private API.

  The text must not name TensorFlow's or TFP's private modules and classes
  (`_FORBIDDEN`); and no expression may reach a `_private` attribute
  (method or not) of another object: only of `self`, `cls`, `super()` or
  the module itself (a module's own private function). Dunders are fine.
  """
  found = []
  own_name = module.rsplit('.', 1)[-1]
  for number, line in enumerate(source.splitlines(), 1):
    for pattern in _FORBIDDEN:
      if pattern in line:
        found.append(f'{module}:{number}: {pattern!r} in {line.strip()!r}')
  for node in ast.walk(ast.parse(source)):
    if (not isinstance(node, ast.Attribute) or
        not node.attr.startswith('_') or node.attr.startswith('__')):
      continue
    owner = node.value
    if isinstance(owner, ast.Name) and owner.id in ('self', 'cls', own_name):
      continue
    if (isinstance(owner, ast.Call) and isinstance(owner.func, ast.Name) and
        owner.func.id == 'super'):
      continue
    found.append(f'{module}:{node.lineno}: private {ast.unparse(node)}')
  return found


def _imports(path, module, modules):
  """The glow_tf modules that importing `module` imports (its edges)."""
  with open(path) as f:
    tree = ast.parse(f.read(), path)
  targets = set()
  for node in ast.walk(tree):
    if isinstance(node, ast.Import):
      names = [alias.name for alias in node.names]
    elif isinstance(node, ast.ImportFrom):
      assert not node.level, f'{path}:{node.lineno}: a relative import'
      base = node.module
      names = [f'{base}.{alias.name}' if f'{base}.{alias.name}' in modules
               else base for alias in node.names]
    else:
      continue
    for name in names:
      if name.split('.')[0] != 'glow_tf':
        continue
      while name not in modules:  # `import glow_tf.x.y` of a name
        name = name.rsplit('.', 1)[0]
      targets.add(name)
      # Importing a module runs its packages' `__init__`s first, all but
      # those of the importer's own packages (already being imported).
      parts = name.split('.')
      for k in range(1, len(parts)):
        package = '.'.join(parts[:k])
        if not (module == package or module.startswith(package + '.')):
          targets.add(package)
  targets.discard(module)
  return targets


def import_graph():
  """`{module: set of glow_tf modules its import imports}` for glow_tf."""
  modules = _module_files()
  return {module: _imports(path, module, modules)
          for module, path in modules.items()}


def find_cycle(graph):
  """A cycle `[a, b, ..., a]` of the directed `graph`, or None."""
  state = {}  # 1: on the current path, 2: done

  def visit(node, path):
    state[node] = 1
    for successor in sorted(graph.get(node, ())):
      if state.get(successor) == 1:
        return path[path.index(successor):] + [successor]
      if successor not in state:
        cycle = visit(successor, path + [successor])
        if cycle:
          return cycle
    state[node] = 2
    return None

  for node in sorted(graph):
    if node not in state:
      cycle = visit(node, [node])
      if cycle:
        return cycle
  return None


def missing_test_modules(package_dir, tests_dir):
  """The test modules the package's modules lack, as paths under `tests_dir`.

  Module `<package_dir>/<path>/<name>.py` (not an `__init__.py`) wants
  `<tests_dir>/<path>/test_<name without leading underscores>.py`.
  """
  missing = []
  for directory, _, files in os.walk(package_dir):
    relative = os.path.relpath(directory, package_dir)
    for file in files:
      if not file.endswith('.py') or file == '__init__.py':
        continue
      test = os.path.normpath(os.path.join(relative,
                                           'test_' + file.lstrip('_')))
      if not os.path.isfile(os.path.join(tests_dir, test)):
        missing.append(test)
  return sorted(missing)


def test_the_checks_find_what_they_look_for():
  bad = ('from tensorflow.python.eager import record\n'
         'chain = chain_lib.Chain([a, b])\n'
         'flow.cache.inverse_attributes(x)["ildj"] = ildj  # bijector._cache\n'
         'x = glow._check_images(x)\n'
         'y = self.bijector._require_labels(labels)\n'
         'fn = coupling._shift_and_log_scale\n')
  found = private_api_uses(bad, 'glow_tf.memory')
  for line in range(1, 7):
    assert any(f'glow_tf.memory:{line}:' in f for f in found), (line, found)
  fine = ('y = self._inverse(x)\n'
          'z = super()._forward(z)\n'
          'benchmarking._memory_probe(config)\n'
          'print(tf.__version__)\n'
          'from glow_tf import _checks\n'
          '_checks.positive_int(k, "k")\n')
  assert private_api_uses(fine, 'glow_tf.benchmarking') == []
  assert find_cycle({'a': {'b'}, 'b': {'c'}, 'c': {'a'}}) == ['a', 'b', 'c',
                                                              'a']
  assert find_cycle({'a': {'b', 'c'}, 'b': {'c'}, 'c': set()}) is None


def test_no_private_tensorflow_or_tfp_api():
  found = []
  for module, path in sorted(_module_files().items()):
    with open(path) as f:
      found += private_api_uses(f.read(), module)
  assert not found, '\n'.join(found)


def test_imports_have_no_cycle():
  graph = import_graph()
  # The graph is the real one: the model imports its parts...
  assert 'glow_tf.bijectors.multi_scale' in graph['glow_tf.glow']
  assert 'glow_tf.bijectors' in graph['glow_tf.glow']  # the package's init
  assert 'glow_tf.networks' in graph['glow_tf.bijectors.affine_coupling']
  # ...and the layers below the bijectors do not import them.
  for module in ('glow_tf._checks', 'glow_tf.networks', 'glow_tf.images'):
    assert not any(m.startswith('glow_tf.bijectors') for m in graph[module])
  cycle = find_cycle(graph)
  assert cycle is None, ' -> '.join(cycle)


def test_import_glow_tf_loads_no_training_code():
  code = ('import json, sys\n'
          'def loaded():\n'
          '  return sorted(m for m in sys.modules\n'
          '                if m.startswith("glow_tf.training"))\n'
          'import glow_tf\n'
          'after_glow_tf = loaded()\n'
          '# Subpackages load on first use, as attributes.\n'
          'assert callable(glow_tf.data.load_dataset)\n'
          'assert glow_tf.training.TrainConfig().optimizer\n'
          'assert "training" in dir(glow_tf)\n'
          'try:\n'
          '  glow_tf.trainig\n'
          'except AttributeError as e:\n'
          '  assert "no attribute \'trainig\'" in str(e), e\n'
          'else:\n'
          '  raise AssertionError("glow_tf.trainig exists")\n'
          'print("RESULT " + json.dumps([after_glow_tf, loaded()]))\n')
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3', PYTHONPATH=_ROOT)
  done = subprocess.run([sys.executable, '-c', code], capture_output=True,
                        text=True, cwd=_ROOT, env=env, check=True)
  lines = [l for l in done.stdout.splitlines() if l.startswith('RESULT ')]
  after_glow_tf, after_training = json.loads(lines[-1][len('RESULT '):])
  assert after_glow_tf == []
  # The check does see the training code once it is used.
  assert 'glow_tf.training.keras_model' in after_training


def test_the_mirror_check_finds_missing_test_modules(tmp_path):
  package, tests = tmp_path / 'pkg', tmp_path / 'tests'
  for path in ('__init__.py', 'a.py', '_b.py', 'sub/__init__.py',
               'sub/c.py', 'sub/_d.py', 'notes.txt'):
    (package / path).parent.mkdir(parents=True, exist_ok=True)
    (package / path).write_text('')
  for path in ('test_a.py', 'sub/test_d.py', 'test_c.py'):
    (tests / path).parent.mkdir(parents=True, exist_ok=True)
    (tests / path).write_text('')
  assert missing_test_modules(str(package), str(tests)) == [
      'sub/test_c.py', 'test_b.py']


def test_tests_mirror_the_package():
  missing = missing_test_modules(_PACKAGE, _TESTS)
  assert not missing, (
      'These modules of glow_tf have no test module of their own (tests/ '
      'mirrors glow_tf/):\n' + '\n'.join(f'  tests/{m}' for m in missing))


def test_the_wheel_ships_the_pretrained_weights(tmp_path):
  """A non-editable install has `glow_tf/weights/*/*` (setup.cfg package_data).

  The wheel is built from a copy of the package's sources, so the build
  leaves nothing in the repository.
  """
  source = tmp_path / 'source'
  source.mkdir()
  for name in ('setup.cfg', 'pyproject.toml', 'README.md'):
    shutil.copy(os.path.join(_ROOT, name), source / name)
  shutil.copytree(_PACKAGE, source / 'glow_tf',
                  ignore=shutil.ignore_patterns('__pycache__'))
  subprocess.run(
      [sys.executable, '-m', 'pip', 'wheel', '-q', '--no-deps',
       '--no-build-isolation', '-w', str(tmp_path / 'dist'), str(source)],
      check=True, capture_output=True)
  wheel, = (tmp_path / 'dist').glob('glow_tf-*.whl')
  names = set(zipfile.ZipFile(wheel).namelist())
  weights = os.path.join(_PACKAGE, 'weights')
  shipped = [f'glow_tf/weights/{model}/{file}'
             for model in sorted(os.listdir(weights))
             for file in sorted(os.listdir(os.path.join(weights, model)))]
  assert shipped, 'no pretrained weights in glow_tf/weights'
  missing = [name for name in shipped if name not in names]
  assert not missing, f'the wheel lacks {missing}'


if __name__ == '__main__':
  sys.exit(pytest.main([__file__]))
