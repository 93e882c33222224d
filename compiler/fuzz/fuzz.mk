# libFuzzer harness for the .npub loader (not part of make check):
#   make fuzz-npub && build/fuzz/fuzz-npub -max_total_time=300 build/fuzz/npub-corpus
# The corpus is seeded with .npub files lowered from small hand-made graphs
# (build/fuzz/npub-seed, the same source built as a program). Included by
# the top Makefile after compiler/compiler.mk (uses NPUC_INC, NPUC_FUZZ_FLAGS,
# FUZZ_CC, LIBNPUC_A, LIBNPUSIM_A, NPUC_LDLIBS).
NPUB_FUZZ_SRCS  := $(addprefix compiler/src/,npub_read.c npub_write.c ir.c)
NPUB_FUZZ_BIN   := $(BUILD)/fuzz/fuzz-npub
NPUB_SEED_BIN   := $(BUILD)/fuzz/npub-seed
NPUB_CORPUS     := $(BUILD)/fuzz/npub-corpus

$(NPUB_FUZZ_BIN): compiler/fuzz/fuzz_npub_load.c $(NPUB_FUZZ_SRCS) $(NPUC_HDRS)
	@mkdir -p $(dir $@)
	$(call msg,CC,$@)
	$(Q)$(FUZZ_CC) $(NPUC_FUZZ_FLAGS) compiler/fuzz/fuzz_npub_load.c $(NPUB_FUZZ_SRCS) $(NPUC_LDLIBS) -o $@

$(NPUB_SEED_BIN): compiler/fuzz/fuzz_npub_load.c $(LIBNPUC_A) $(LIBNPUSIM_A) $(NPUC_HDRS)
	@mkdir -p $(dir $@)
	$(call msg,CC,$@)
	$(Q)$(CC) $(BASE_CFLAGS) -O1 -DNPUB_FUZZ_SEEDS $(NPUC_INC) compiler/fuzz/fuzz_npub_load.c \
		$(LIBNPUC_A) $(LIBNPUSIM_A) $(NPUC_LDLIBS) -lm -o $@

.PHONY: fuzz-npub
fuzz-npub: $(NPUB_FUZZ_BIN) $(NPUB_SEED_BIN)
	@mkdir -p $(NPUB_CORPUS)
	@$(NPUB_SEED_BIN) $(NPUB_CORPUS)
	@echo "fuzz-npub: run $(NPUB_FUZZ_BIN) -max_total_time=300 $(NPUB_CORPUS)"
