#!/usr/bin/env bash
# `make mutants`: each tests/mutants/NAME.patch must make the tests it names fail, for the reason it
# names (its "Fails with:" line). The runner is scripts/mutants.py (its docstring says how).
#   bash scripts/mutants.sh [NAME ...]     # all mutants, or the named ones
cd "$(dirname "$0")/.." || exit 2
exec "${PYTHON:-.venv/bin/python}" scripts/mutants.py "$@"
