# make bench, compiler part: compile time of a ResNet-50-shaped graph and the
# per-inference figures of the bundled models. Included by the top Makefile
# after compiler/compiler.mk, compiler/tools/tools.mk and models/models.mk.
NPUB_STATS := $(BUILD)/opt/npub-stats

$(NPUB_STATS): tests/bench/npub_stats.c $(NPUC_LIBS) $(LIBNPUSIM_A) $(NPUC_HDRS)
	@mkdir -p $(dir $@)
	$(call msg,CC,$@)
	$(Q)$(CC) $(NPUC_OPT_CFLAGS) $< $(NPUC_LIBS) $(LIBNPUSIM_A) $(NPUC_LDLIBS) -lm -o $@

.PHONY: bench-compiler
bench-compiler: deps $(NPUC_BIN) $(NPUB_STATS)
	@BENCH_DIR=$(BUILD)/bench NPUC=$(NPUC_BIN) NPUB_STATS=$(NPUB_STATS) \
		FMNIST_ONNX=$(FMNIST_ONNX) FMNIST_NPUC_FLAGS="$(FMNIST_NPUC_FLAGS)" \
		./tests/bench/bench_compiler.sh

bench: bench-compiler
