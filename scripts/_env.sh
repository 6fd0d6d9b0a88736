# Sourced by scripts/demo.sh and scripts/test.sh, from the clone's root.
#
# Sets `python` to the Python that glow_tf is installed into and run with:
# the active virtual environment's (VIRTUAL_ENV set), else that of `.venv/`
# in the clone, made with `python3 -m venv` on first use and reused after.
# A stock Debian/Ubuntu python3 refuses `pip install` outside a virtual
# environment (PEP 668), and has no `python`, only `python3`. If its venv
# module cannot make one (no ensurepip), `python3-venv` is installed with
# apt-get first. `as_root` runs a command as root (through sudo if needed).

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

_make_venv() {
  rm -rf .venv
  if ! python3 -m venv .venv; then
    rm -rf .venv
    echo "python3 cannot make a virtual environment: installing python3-venv" >&2
    as_root apt-get update -qq
    as_root apt-get install -y -qq python3-venv
    python3 -m venv .venv
  fi
}

if [ -n "${VIRTUAL_ENV:-}" ]; then
  python="$VIRTUAL_ENV/bin/python"
  echo "using the active virtual environment $VIRTUAL_ENV"
else
  if ! command -v python3 > /dev/null; then
    echo "no python3 found: install Python 3.10 or newer" >&2
    exit 1
  fi
  # Made or reused; a .venv/ left half-made (no pip) is made again.
  if ! .venv/bin/python -m pip --version > /dev/null 2>&1; then
    _make_venv
  fi
  python="$PWD/.venv/bin/python"
  echo "using .venv/ in the clone (no virtual environment active)"
fi
