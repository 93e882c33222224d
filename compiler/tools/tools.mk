# The npuc command. Included after compiler/compiler.mk.
NPUC_BIN := $(BUILD)/opt/npuc

$(NPUC_BIN): compiler/tools/npuc.c $(NPUC_LIBS) $(LIBNPUSIM_A) $(NPUC_HDRS)
	@mkdir -p $(dir $@)
	$(call msg,CC,$@)
	$(Q)$(CC) $(NPUC_OPT_CFLAGS) $< $(NPUC_LIBS) $(LIBNPUSIM_A) $(NPUC_LDLIBS) -lm -o $@

tools: $(NPUC_BIN)

# npuc-eval: float vs int8 accuracy of a compiled classifier on IDX data.
NPUC_EVAL := $(BUILD)/opt/npuc-eval

# npuc-eval runs the .npub through libnpu/tools/runner.c, as the VM's end-to-end test does.
NPU_RUNNER := libnpu/tools/runner.c libnpu/tools/runner.h
$(NPUC_EVAL): compiler/tools/npuc_eval.c $(NPU_RUNNER) $(LIBNPU_A) $(NPUC_LIBS) $(LIBNPUSIM_A) \
		$(LIBNPU_HDRS)
	@mkdir -p $(dir $@)
	$(call msg,CC,$@)
	$(Q)$(CC) $(NPUC_OPT_CFLAGS) -Ilibnpu/include -Ilibnpu/tools $< libnpu/tools/runner.c \
		$(LIBNPU_A) $(NPUC_LIBS) $(LIBNPUSIM_A) $(NPUC_LDLIBS) $(LIBNPU_LDLIBS) -o $@

tools: $(NPUC_EVAL)

# The same tools under AddressSanitizer + UndefinedBehaviorSanitizer
# (`make tools-san`): the command-line tests run through them too.
NPUC_SAN_BIN  := $(BUILD)/san/npuc
NPUC_EVAL_SAN := $(BUILD)/san/npuc-eval

$(NPUC_SAN_BIN): compiler/tools/npuc.c $(NPUC_LIBS_SAN) $(LIBNPUSIM_SAN) $(NPUC_HDRS)
	@mkdir -p $(dir $@)
	$(call msg,CC,$@)
	$(Q)$(CC) $(NPUC_SAN_CFLAGS) $< $(NPUC_LIBS_SAN) $(LIBNPUSIM_SAN) $(NPUC_LDLIBS) -lm -o $@

$(NPUC_EVAL_SAN): compiler/tools/npuc_eval.c $(NPU_RUNNER) $(LIBNPU_SAN) $(NPUC_LIBS_SAN) \
		$(LIBNPUSIM_SAN) $(LIBNPU_HDRS)
	@mkdir -p $(dir $@)
	$(call msg,CC,$@)
	$(Q)$(CC) $(NPUC_SAN_CFLAGS) -Ilibnpu/include -Ilibnpu/tools $< libnpu/tools/runner.c \
		$(LIBNPU_SAN) $(NPUC_LIBS_SAN) $(LIBNPUSIM_SAN) $(NPUC_LDLIBS) $(LIBNPU_LDLIBS) -o $@

.PHONY: tools-san
tools-san: $(NPUC_SAN_BIN) $(NPUC_EVAL_SAN)

# Sanitizer reports abort the tool (exit status 134): the tests see a crash.
CLI_SAN_ENV := ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

# The npuc command line: every output option, and bad input (npuc-eval too),
# with the optimised tools and with the sanitizer build.
.PHONY: check-cli
check-cli: deps $(NPUC_BIN) $(NPUC_EVAL) $(NPUC_SAN_BIN) $(NPUC_EVAL_SAN)
	@echo "== npuc command line"
	@./tests/cli/test_npuc.sh $(BUILD) opt
	@echo "== npuc command line (AddressSanitizer + UndefinedBehaviorSanitizer)"
	@$(CLI_SAN_ENV) ./tests/cli/test_npuc.sh $(BUILD) san

check: check-cli
