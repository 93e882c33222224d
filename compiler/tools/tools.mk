# The npuc command. Included after compiler/compiler.mk.
NPUC_BIN := $(BUILD)/opt/npuc

$(NPUC_BIN): compiler/tools/npuc.c $(LIBNPUC_A) $(LIBNPUSIM_A) $(NPUC_HDRS)
	@mkdir -p $(dir $@)
	$(call msg,CC,$@)
	$(Q)$(CC) $(NPUC_OPT_CFLAGS) $< $(LIBNPUC_A) $(LIBNPUSIM_A) $(NPUC_LDLIBS) -lm -o $@

tools: $(NPUC_BIN)

# npuc-eval: float vs int8 accuracy of a compiled classifier on IDX data.
NPUC_EVAL := $(BUILD)/opt/npuc-eval

$(NPUC_EVAL): compiler/tools/npuc_eval.c $(LIBNPU_A) $(LIBNPUC_A) $(LIBNPUSIM_A) $(LIBNPU_HDRS)
	@mkdir -p $(dir $@)
	$(call msg,CC,$@)
	$(Q)$(CC) $(NPUC_OPT_CFLAGS) -Ilibnpu/include $< $(LIBNPU_A) $(LIBNPUC_A) $(LIBNPUSIM_A) \
		$(LIBNPU_LDLIBS) -o $@

tools: $(NPUC_EVAL)

# The npuc command line: every output option, and bad input (npuc-eval too).
.PHONY: check-cli
check-cli: deps $(NPUC_BIN) $(NPUC_EVAL)
	@echo "== npuc command line"
	@./tests/cli/test_npuc.sh $(BUILD)

check: check-cli
