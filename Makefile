# The two quick-start commands (README): `make demo` and `make test`. Both set up first.
.PHONY: setup demo test test-fast

setup:
	bash scripts/setup.sh

demo: setup
	.venv/bin/ptp-augment doctor
	.venv/bin/ptp-pipeline demo

test: setup
	.venv/bin/python -m pytest -q

test-fast: setup
	.venv/bin/python -m pytest -q -m "not slow"
