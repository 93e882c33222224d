# ONNX backend node tests (Debian package libonnx-testdata) through npuc:
# pre-quantised tests via QDQ/QOperator import, float tests via
# calibration + quantisation, executed by the int8 reference executor
# (and lowering + libnpusim where available). Included by the top Makefile
# after compiler/compiler.mk; `make check` depends on check-conformance.
#
# Runs the optimised build (the code users run). CONFORMANCE_FLOOR is the
# number of passing tests measured when the runner was written: fewer
# passes fail the target even if nothing reports FAIL.
CONFORMANCE_BIN   := $(BUILD)/opt/run-node-tests
CONFORMANCE_DIR   ?= /usr/include/onnx/backend/test/data/node
CONFORMANCE_FLOOR ?= 161
CONFORMANCE_SRCS  := tests/conformance/run_node_tests.c
CONFORMANCE_LIBS  := $(NPUC_LDLIBS) -lm

$(CONFORMANCE_BIN): $(CONFORMANCE_SRCS) $(NPUC_LIBS) $(LIBNPUSIM_A) $(NPUC_HDRS) \
		| $(NPUC_GEN_H)
	@mkdir -p $(dir $@)
	$(call msg,CC,$@)
	$(Q)$(CC) $(BASE_CFLAGS) $(OPT) $(NPUC_INC) $(CONFORMANCE_SRCS) $(NPUC_LIBS) \
		$(LIBNPUSIM_A) $(CONFORMANCE_LIBS) -o $@

.PHONY: check-conformance
check-conformance: deps $(CONFORMANCE_BIN)
	@echo "== ONNX backend node tests (optimised build)"
	@test -d $(CONFORMANCE_DIR) || { echo "conformance: $(CONFORMANCE_DIR) missing" \
		"(install libonnx-testdata: make deps)" >&2; exit 1; }
	@$(CONFORMANCE_BIN) --floor $(CONFORMANCE_FLOOR) $(CONFORMANCE_DIR) \
		> $(BUILD)/conformance.log; rc=$$?; \
		grep '^FAIL' $(BUILD)/conformance.log; \
		grep '^conformance:' $(BUILD)/conformance.log; \
		echo "conformance: full log in $(BUILD)/conformance.log"; exit $$rc

check: check-conformance
