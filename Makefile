# Every target runs `setup` first, so a fresh clone needs nothing but `make report` or `make test`.
PY := .venv/bin/python
QMAC := .venv/bin/qmac
# One pytest worker per core (pytest-xdist); the slowest tests are listed at the end.
PYTEST_ARGS ?= -n auto --durations=25

.PHONY: setup test report report-quick bench prove verilog regress clean

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

# The proofs too slow for `make test` (INT8 multipliers, 8x8 array); each prints its time.
prove: setup
	$(QMAC) prove --design mac --weight int8
	$(QMAC) prove --design mac --weight int8 --saturate
	$(QMAC) prove --design mac --weight int8 --pipeline
	$(QMAC) prove --design mac --weight int8 --saturate --pipeline
	$(QMAC) prove --design pe --weight int8
	$(QMAC) prove --design mac --weight fp8e4m3
	$(QMAC) prove --design mac --weight fp8e4m3 --saturate --pipeline
	$(QMAC) prove --design pe --weight fp8e4m3
	$(QMAC) prove --design mac --weight fp8e5m2 --acc-bits 48
	$(QMAC) prove --design systolic --rows 8 --cols 8 --weight int2 --act-bits 2 --acc-bits 8 --acc-depth 4
	$(QMAC) prove --design systolic --rows 16 --cols 16 --weight int2 --act-bits 2 --acc-bits 8

verilog: setup
	$(QMAC) verilog --design mac --weight dint4 -o build/verilog/

regress: setup
	$(QMAC) regress

clean:
	rm -rf build
