# The two commands: `make run` starts Parley, `make test` runs every test. See README.md.
.PHONY: run stop status test bench-quick bench lint

run:
	bash infra/run.sh

stop:
	.venv/bin/python -m infra down

status:
	.venv/bin/python -m infra status

test:
	bash infra/test.sh

lint:
	.venv/bin/ruff check . && .venv/bin/mypy .

bench-quick:
	bash infra/setup.sh && .venv/bin/python -m bench quick

bench:
	bash infra/setup.sh && .venv/bin/python -m bench suite
