# Every target runs `setup` first, so a fresh clone needs nothing but `make report` or `make test`.
PY := .venv/bin/python
QMAC := .venv/bin/qmac
PYTEST_ARGS ?=

.PHONY: setup test report report-quick bench verilog regress clean

setup:
	@bash scripts/setup.sh

test: setup
	$(PY) -m pytest $(PYTEST_ARGS)

report: setup
	$(QMAC) report

report-quick: setup
	$(QMAC) report --quick

bench: setup
	$(PY) -m bench

verilog: setup
	$(QMAC) verilog --design mac --weight dint4 -o build/verilog/

regress: setup
	$(QMAC) regress

clean:
	rm -rf build
