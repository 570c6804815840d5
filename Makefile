# softgate-mmpose: the two commands of the README. Both set the environment up when missing.
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: env test quickstart

# Creates or checks .venv (idempotent: seconds when it is up to date).
env:
	bash tools/setup_env.sh

test: env
	$(PY) -m pytest tests

quickstart: env
	$(PY) tools/quickstart.py --work-dir work_dirs/quickstart
