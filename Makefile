# Every target creates or reuses .venv itself, so a fresh machine needs only python3.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# nbgrader's gradebook calls `alembic` (and nbval/nbgrader start `jupyter`) from PATH.
export PATH := $(CURDIR)/$(BIN):$(PATH)
# JupyterLab refuses to run as root unless told to (containers, CI).
LAB_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: venv test lint pytest test-browser lab release test-notebooks grade bench clean
.PHONY: student-bundle

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[course,authoring,grading,dev]"
	touch $(STAMP)

test: venv lint pytest test-browser

lint: venv
	$(BIN)/ruff check $(wildcard source course tests examples benchmarks autograder tools)

pytest: venv
	$(BIN)/python -m pytest

# The course in a real browser (tests/browser): JupyterLab on 127.0.0.1 in a temporary copy of
# the course, driven by Playwright in Debian's headless Chromium, which is installed here when
# missing (as root; Playwright never downloads a browser). Screenshots: tests/browser/artifacts/.
CHROMIUM ?= /usr/bin/chromium
test-browser: venv
	@if [ ! -x "$(CHROMIUM)" ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			echo "$(CHROMIUM) is missing: installing Debian's chromium and chromium-driver"; \
			apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium chromium-driver \
				|| { echo "test-browser: could not install chromium with apt-get" >&2; exit 1; }; \
			test -x "$(CHROMIUM)" || { echo "test-browser: $(CHROMIUM) is still missing" >&2; exit 1; }; \
		else \
			echo "test-browser: $(CHROMIUM) is missing and this is not root: install it with" \
				"'sudo apt-get install -y chromium chromium-driver' (or set CHROMIUM=<path>)" >&2; \
			exit 1; \
		fi; \
	fi
	CHROMIUM="$(CHROMIUM)" PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 SCRATCHNN_BROWSER_TESTS=1 \
		$(BIN)/python -m pytest -p no:cacheprovider tests/browser

lab: venv
	$(BIN)/jupyter lab --no-browser $(LAB_ROOT) --ServerApp.root_dir="$(CURDIR)" \
		--LabApp.default_url=/lab/tree/course/01_neuron

# Render every authoring source course/<assignment>/*.py into its master notebooks/<assignment>/,
# then regenerate release/<assignment>/ with nbgrader (deterministic; no gradebook.db is left
# behind). Commit the three together. FORCE=1 overwrites a master edited by hand.
release: venv
	$(BIN)/python tools/release.py $(if $(FORCE),--force,)

# What students receive: dist/ with the release notebooks, the course support code they import
# (no reference answers) and their environment spec; its README is the students' quick start.
# Hand out dist/ (zipped) or install it on a JupyterHub (README: "Serving the course on a
# JupyterHub"). Tested by tests/test_student_bundle.py and tests/browser/test_student_bundle.py.
student-bundle: venv
	$(BIN)/python tools/bundle.py --output dist

# Execute every master notebook top to bottom (nbval, errors only). The same check, timed, is
# part of `make test` (tests/test_course_pipeline.py).
test-notebooks: venv
	$(BIN)/python -m pytest -p no:cacheprovider --nbval-lax --nbval-current-env notebooks

bench: venv
	$(BIN)/python benchmarks/run.py --notebooks

# Grade a class: `make grade SUBMISSIONS=<dir>` (an nbgrader submitted/ tree or a flat LMS
# export); outputs in grading-output/. Options: GRADE_ARGS="--jobs 2 --timeout 30 ...";
# a large class on Dask workers: GRADE_ARGS="--cluster tcp://scheduler:8786" (or local:N).
# See docs/grading.md.
grade: venv
	@test -n "$(SUBMISSIONS)" || { echo "usage: make grade SUBMISSIONS=<dir>" >&2; exit 2; }
	$(BIN)/python -m autograder grade $(SUBMISSIONS) $(GRADE_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
