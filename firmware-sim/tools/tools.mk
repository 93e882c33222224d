# Simulator tools: npusim-showcase (the program `make demo` runs until the
# compiler exists). Include after firmware-sim/sim.mk (uses its variables in
# prerequisites). Built against the optimised library, and once more
# under ASan + UBSan for `make check-showcase`.
ZLIB_LIBS := $(shell pkg-config --libs zlib 2>/dev/null || echo -lz)

NPUSIM_SHOWCASE     := $(BUILD)/opt/npusim-showcase
NPUSIM_SHOWCASE_SAN := $(BUILD)/san/npusim-showcase
SHOWCASE_SRC        := firmware-sim/tools/npusim_showcase.c

$(NPUSIM_SHOWCASE): $(SHOWCASE_SRC) $(LIBNPUSIM_A) $(SIM_HDRS)
	@mkdir -p $(dir $@)
	$(call msg,CC,$@)
	$(Q)$(CC) $(BASE_CFLAGS) $(OPT) $(SIM_INC) $< $(LIBNPUSIM_A) $(ZLIB_LIBS) -o $@

$(NPUSIM_SHOWCASE_SAN): $(SHOWCASE_SRC) $(LIBNPUSIM_SAN) $(SIM_HDRS)
	@mkdir -p $(dir $@)
	$(call msg,CC,$@)
	$(Q)$(CC) $(BASE_CFLAGS) -O1 $(SAN_FLAGS) $(SIM_INC) $< $(LIBNPUSIM_SAN) $(ZLIB_LIBS) -o $@

tools: $(NPUSIM_SHOWCASE)

# A short run under the sanitizers plus a normal-size optimised run.
.PHONY: check-showcase
check-showcase: deps $(NPUSIM_SHOWCASE) $(NPUSIM_SHOWCASE_SAN)
	@echo "== showcase (AddressSanitizer + UndefinedBehaviorSanitizer, 40 images)"
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		$(NPUSIM_SHOWCASE_SAN) --images 40 --batch 16 >/dev/null
	@echo "== showcase (optimised)"
	@$(NPUSIM_SHOWCASE) >/dev/null
	@echo "check-showcase: passed"
