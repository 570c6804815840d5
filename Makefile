# softgate-mmpose: the two commands of the README. Both set the environment up when missing.
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: env lint format test test-report quickstart quickstart-real

# Creates or checks .venv (idempotent: seconds when it is up to date).
env:
	bash tools/setup_env.sh

# What is linted: the package, the tools, the tests and the configs, as MMPose
# lints them (settings in setup.cfg: flake8, isort and yapf, 79 columns).
LINT_PATHS := softgate_mmpose tools tests configs setup.py
# The copy of configs/ that building a wheel leaves in the package.
YAPF := $(PY) -m yapf --recursive --exclude 'softgate_mmpose/.mim/**'

# Fails on any flake8 error, unsorted import or yapf change (shown as a diff).
lint: env
	$(PY) -m flake8 $(LINT_PATHS)
	$(PY) -m isort --check-only --diff $(LINT_PATHS)
	$(YAPF) --diff $(LINT_PATHS)

# Rewrites the files in place: imports sorted, then code formatted.
format: env
	$(PY) -m isort $(LINT_PATHS)
	$(YAPF) --in-place $(LINT_PATHS)

# Lint first: a lint error fails `make test`, hence CI.
test: env lint
	$(PY) -m pytest tests

# The suite as `make test` runs it, plus a markdown summary (counts, wall time, slowest tests,
# machine) printed and written to work_dirs/test_report.md: the README's test figures.
test-report: env
	$(PY) tools/misc/test_report.py --out work_dirs/test_report.md

# The main job on generated data: train, held-out PCK@0.2, predictions image (no download).
quickstart: env
	$(PY) tools/quickstart.py --work-dir work_dirs/quickstart

# The same on real people: the first 300 of the 400 LSP-extended photographs shipped in
# data/lspet_sample for training, the last 100 held out, beside the mean-pose baseline.
quickstart-real: env
	$(PY) tools/quickstart.py --real --work-dir work_dirs/quickstart-real
