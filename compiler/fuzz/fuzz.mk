# libFuzzer harness for the .npub loader (not part of make check):
#   make fuzz-npub && build/fuzz/fuzz-npub -max_total_time=300 build/fuzz/npub-corpus
# The corpus is seeded with .npub files lowered from small hand-made graphs
# (build/fuzz/npub-seed, the same source built as a program). Included by
# the top Makefile after compiler/compiler.mk (uses NPUC_INC, NPUC_FUZZ_FLAGS,
# FUZZ_CC, NPUC_LIBS, LIBNPUSIM_A, NPUC_LDLIBS).
NPUB_FUZZ_SRCS  := $(addprefix libnpu/npub/,npub_read.c npub_write.c outfile.c diag.c)
NPUB_FUZZ_BIN   := $(BUILD)/fuzz/fuzz-npub
NPUB_SEED_BIN   := $(BUILD)/fuzz/npub-seed
NPUB_CORPUS     := $(BUILD)/fuzz/npub-corpus

$(NPUB_FUZZ_BIN): compiler/fuzz/fuzz_npub_load.c $(NPUB_FUZZ_SRCS) $(NPUC_HDRS)
	@mkdir -p $(dir $@)
	$(call msg,CC,$@)
	$(Q)$(FUZZ_CC) $(NPUC_FUZZ_FLAGS) compiler/fuzz/fuzz_npub_load.c $(NPUB_FUZZ_SRCS) $(NPUC_LDLIBS) -o $@

$(NPUB_SEED_BIN): compiler/fuzz/fuzz_npub_load.c $(NPUC_LIBS) $(LIBNPUSIM_A) $(NPUC_HDRS)
	@mkdir -p $(dir $@)
	$(call msg,CC,$@)
	$(Q)$(CC) $(BASE_CFLAGS) -O1 -DNPUB_FUZZ_SEEDS $(NPUC_INC) compiler/fuzz/fuzz_npub_load.c \
		$(NPUC_LIBS) $(LIBNPUSIM_A) $(NPUC_LDLIBS) -lm -o $@

.PHONY: fuzz-npub
fuzz-npub: $(NPUB_FUZZ_BIN) $(NPUB_SEED_BIN)
	@mkdir -p $(NPUB_CORPUS)
	@$(NPUB_SEED_BIN) $(NPUB_CORPUS)
	@echo "fuzz-npub: run $(NPUB_FUZZ_BIN) -max_total_time=300 $(NPUB_CORPUS)"

# End-to-end harness (compiler/fuzz/fuzz_e2e.c): ONNX bytes -> npuc's whole
# pipeline -> .npub -> libnpusim, compared bit for bit with qref. Part of
# make check (check-fuzz): every file of the committed corpus
# compiler/fuzz/e2e-corpus (seeds, and one file per bug this harness found,
# named after the bug) is run first, then a bounded, reproducible fuzzing
# run (-seed, -runs, -max_total_time) starting from that corpus and the
# ONNX node tests of libonnx-testdata. New findings are written to
# $(BUILD)/fuzz/; fix the bug and add the input to the corpus.
#   make fuzz-e2e && build/fuzz/fuzz-e2e -close_fd_mask=3 build/fuzz/e2e-work compiler/fuzz/e2e-corpus
# Its mutator (onnx_mutator.c) decodes the model and changes a field that
# matters to the compiler; random bytes rarely survive protobuf decoding.
# Objects are built with clang (libFuzzer) and ASan + UBSan, once each.
FUZZ_OBJ_FLAGS := -std=c11 -D_GNU_SOURCE -g -O1 $(WARN) -pthread \
	-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer $(NPUC_INC)
FUZZ_E2E_SRCS  := $(NPUC_SRCS) $(NPUSHARED_SRCS) $(SIM_SRCS)
FUZZ_E2E_OBJS  := $(FUZZ_E2E_SRCS:%.c=$(BUILD)/fuzz/obj/%.o) $(BUILD)/fuzz/obj/npuc-gen/onnx.pb-c.o
FUZZ_E2E_BIN   := $(BUILD)/fuzz/fuzz-e2e
FUZZ_E2E_CORPUS := compiler/fuzz/e2e-corpus
FUZZ_E2E_WORK  := $(BUILD)/fuzz/e2e-work
# The bounded run in make check: fixed seed, a fixed number of inputs
# (about 20 s here), and a time cap for slower machines.
FUZZ_E2E_RUNS  ?= 50000
FUZZ_E2E_SECS  ?= 120

$(filter $(BUILD)/fuzz/obj/compiler/% $(BUILD)/fuzz/obj/libnpu/%,$(FUZZ_E2E_OBJS)): \
		$(BUILD)/fuzz/obj/%.o: %.c $(NPUC_HDRS) \
		| $(NPUC_GEN_H)
	@mkdir -p $(dir $@)
	$(call msg,FUZZCC,$@)
	$(Q)$(FUZZ_CC) $(FUZZ_OBJ_FLAGS) -c $< -o $@

$(filter $(BUILD)/fuzz/obj/firmware-sim/%,$(FUZZ_E2E_OBJS)): $(BUILD)/fuzz/obj/%.o: %.c $(SIM_HDRS)
	@mkdir -p $(dir $@)
	$(call msg,FUZZCC,$@)
	$(Q)$(FUZZ_CC) $(FUZZ_OBJ_FLAGS) -c $< -o $@

$(BUILD)/fuzz/obj/npuc-gen/onnx.pb-c.o: $(NPUC_GEN_C) $(NPUC_GEN_H)
	@mkdir -p $(dir $@)
	$(call msg,FUZZCC,$@)
	$(Q)$(FUZZ_CC) $(FUZZ_OBJ_FLAGS) $(NPUC_GEN_CFLAGS) -c $< -o $@

$(FUZZ_E2E_BIN): compiler/fuzz/fuzz_e2e.c compiler/fuzz/onnx_mutator.c $(FUZZ_E2E_OBJS) $(NPUC_HDRS)
	@mkdir -p $(dir $@)
	$(call msg,FUZZLD,$@)
	$(Q)$(FUZZ_CC) $(FUZZ_OBJ_FLAGS) -fsanitize=fuzzer compiler/fuzz/fuzz_e2e.c \
		compiler/fuzz/onnx_mutator.c $(FUZZ_E2E_OBJS) $(NPUC_LDLIBS) -lm -o $@

# Seeds from the ONNX backend node tests: the models npuc compiles.
$(FUZZ_E2E_WORK)/.seeded:
	@mkdir -p $(FUZZ_E2E_WORK)
	@if [ -d $(ONNX_NODE_TESTS) ]; then \
		for t in $(ONNX_NODE_TESTS)/test_*; do \
			case $$(basename $$t) in \
			*conv*|*relu*|*add*|*mul*|*pool*|*gemm*|*matmul*|*concat*|*sigmoid*|*softmax*|\
			*reshape*|*flatten*|*transpose*|*clip*|*quantize*|*qlinear*|*batchnorm*) \
				cp $$t/model.onnx $(FUZZ_E2E_WORK)/$$(basename $$t).onnx;; \
			esac; \
		done; \
	fi
	@touch $@

.PHONY: fuzz-e2e check-fuzz
fuzz-e2e: $(FUZZ_E2E_BIN) $(FUZZ_E2E_WORK)/.seeded

check-fuzz: deps fuzz-e2e
	@echo "== end-to-end fuzzer: the committed corpus ($(FUZZ_E2E_CORPUS))"
	@$(FUZZ_E2E_RUN) $(FUZZ_E2E_CORPUS)/* >$(BUILD)/fuzz/e2e-corpus.log 2>&1 || \
		{ tail -n 60 $(BUILD)/fuzz/e2e-corpus.log; exit 1; }
	@grep -c '^Executed ' $(BUILD)/fuzz/e2e-corpus.log | sed 's/^/   files run: /'
	@echo "== end-to-end fuzzer: $(FUZZ_E2E_RUNS) inputs from seed 1 (at most $(FUZZ_E2E_SECS) s)"
	@$(FUZZ_E2E_RUN) -seed=1 -runs=$(FUZZ_E2E_RUNS) -max_total_time=$(FUZZ_E2E_SECS) \
		-print_final_stats=1 $(FUZZ_E2E_WORK) $(FUZZ_E2E_CORPUS) \
		>$(BUILD)/fuzz/e2e-run.log 2>&1 || { tail -n 60 $(BUILD)/fuzz/e2e-run.log; exit 1; }
	@grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|#[0-9]+.*DONE)' \
		$(BUILD)/fuzz/e2e-run.log | sed 's/^/   /'

# Sanitizer reports and libFuzzer's own output survive -close_fd_mask=3.
FUZZ_E2E_RUN = UBSAN_OPTIONS=print_stacktrace=1 $(FUZZ_E2E_BIN) -close_fd_mask=3 -timeout=30 \
	-rss_limit_mb=4096 -artifact_prefix=$(BUILD)/fuzz/

check: check-fuzz
