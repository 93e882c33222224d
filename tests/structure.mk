# The source tree's structure, checked in make check: folders include only
# from their own and lower layers (tests/layers.sh), and no two files of a
# library call each other (tests/file_cycles.py; the cycles still to break
# are listed there). Included by the top Makefile after libnpu/libnpu.mk.
.PHONY: check-layers check-cycles
check-layers:
	@echo "== source layers"
	@./tests/layers.sh

check-cycles: $(LIBNPUB_A) $(LIBNPUHOST_A) $(LIBNPUC_A) $(LIBNPUSIM_A) $(LIBNPU_A)
	@echo "== file cycles"
	@python3 tests/file_cycles.py $^

check: check-layers check-cycles
