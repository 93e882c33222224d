# Unit tests: Check (libcheck). Every tests/unit/test_*.c defines one or more
# `Suite *suite_<name>(void)`; the runner's suite list is generated from them.
# The runner is built twice: against the optimised library (the code users
# run) and under AddressSanitizer + UndefinedBehaviorSanitizer.
UNIT_SRCS  := $(wildcard tests/unit/test_*.c)
UNIT_HELP  := $(wildcard tests/unit/ref/*.c tests/unit/util/*.c)
UNIT_HDRS  := $(wildcard tests/unit/*.h tests/unit/ref/*.h tests/unit/util/*.h) $(SIM_HDRS)
UNIT_LIST  := $(BUILD)/gen/unit_suites.h
CHECK_LIBS  = $(shell pkg-config --libs check 2>/dev/null || echo -lcheck -lsubunit -lm -lrt -lpthread)
UNIT_INC   := $(SIM_INC) -Ifirmware-sim/src -Itests/unit -I$(BUILD)/gen
# Other components append their libraries (opt and san variants), system
# libraries and include paths to these (before this file is included).
UNIT_LIBS_OPT += $(LIBNPUSIM_A)
UNIT_LIBS_SAN += $(LIBNPUSIM_SAN)

$(UNIT_LIST): $(UNIT_SRCS)
	@mkdir -p $(dir $@)
	@sed -n 's/^Suite \*\(suite_[a-z0-9_]*\)(void)$$/X(\1)/p' $(UNIT_SRCS) > $@.tmp
	@cmp -s $@.tmp $@ || mv $@.tmp $@; rm -f $@.tmp

$(BUILD)/opt/unit-tests: tests/unit/main.c $(UNIT_SRCS) $(UNIT_HELP) $(UNIT_HDRS) $(UNIT_LIST) \
		$(UNIT_LIBS_OPT)
	$(call msg,CC,$@)
	$(Q)$(CC) $(BASE_CFLAGS) -O2 $(UNIT_INC) $(UNIT_EXTRA_INC) tests/unit/main.c $(UNIT_SRCS) \
		$(UNIT_HELP) $(UNIT_LIBS_OPT) $(UNIT_LDLIBS) $(CHECK_LIBS) -lm -o $@

$(BUILD)/san/unit-tests: tests/unit/main.c $(UNIT_SRCS) $(UNIT_HELP) $(UNIT_HDRS) $(UNIT_LIST) \
		$(UNIT_LIBS_SAN)
	$(call msg,CC,$@)
	$(Q)$(CC) $(BASE_CFLAGS) -O1 $(SAN_FLAGS) $(UNIT_INC) $(UNIT_EXTRA_INC) tests/unit/main.c \
		$(UNIT_SRCS) $(UNIT_HELP) $(UNIT_LIBS_SAN) $(UNIT_LDLIBS) $(CHECK_LIBS) -lm -o $@

check-unit: deps $(BUILD)/opt/unit-tests $(BUILD)/san/unit-tests
	@echo "== unit tests (optimised build)"
	@CK_TIMEOUT_MULTIPLIER=10 $(BUILD)/opt/unit-tests
	@echo "== unit tests (AddressSanitizer + UndefinedBehaviorSanitizer)"
	@CK_TIMEOUT_MULTIPLIER=10 ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 $(BUILD)/san/unit-tests
