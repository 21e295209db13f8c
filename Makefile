# The two quick-start commands (README): `make demo` and `make test`. Both set up first.
.PHONY: setup demo test test-fast mutants

setup:
	bash scripts/setup.sh

demo: setup
	.venv/bin/ptp-augment doctor
	.venv/bin/ptp-pipeline demo

test: setup
	.venv/bin/python -m pytest -q

test-fast: setup
	.venv/bin/python -m pytest -q -m "not slow"

# Each committed mutant (tests/mutants/) must make the tests it names fail, for the reason its
# "Fails with:" line names (scripts/mutants.py); minutes, so not in `test`.
mutants: setup
	bash scripts/mutants.sh
