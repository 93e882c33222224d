# make bench, compression part: the fmnist model int8, pruned, 2:4 and with
# shared weights (tests/bench/bench_compress.sh). Included by the top
# Makefile after compiler/tools/tools.mk (NPUC_BIN, NPUC_EVAL) and
# models/models.mk (FMNIST_ONNX).
.PHONY: bench-compress
bench-compress: deps $(NPUC_BIN) $(NPUC_EVAL)
	@BUILD=$(BUILD) NPUC=$(NPUC_BIN) NPUC_EVAL=$(NPUC_EVAL) FMNIST_ONNX=$(FMNIST_ONNX) \
		./tests/bench/bench_compress.sh

bench: bench-compress
