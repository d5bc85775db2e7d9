# README command 1: `make demo`; README command 2: `make test`.
.PHONY: demo test bench bench-people setup lint serve

demo:
	bash scripts/demo.sh

test:
	bash scripts/test.sh

bench:
	bash scripts/setup.sh && .venv/bin/python -m benchmarks

# The marketers' lists at 1,000,000 people (generated in the database): the people_1m section.
bench-people:
	bash scripts/setup.sh && .venv/bin/python -m benchmarks --only people_1m

# The deploy configuration on this machine (an extra command, not a set-up one).
serve:
	bash scripts/serve.sh

setup:
	bash scripts/setup.sh

lint:
	.venv/bin/ruff check .
