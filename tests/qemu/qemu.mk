# The QEMU devices "npu" (PCI) and "npu-sysbus" (devicetree), firmware-sim/qemu/:
# scripts/build-qemu.sh builds Debian's QEMU 7.2 with them for x86_64 and
# aarch64 (cached under ~/.cache/npu, keyed by the sources), and the qtest
# suite drives the PCI device without a guest kernel.
QEMU_DIR      := $(BUILD)/qemu
QEMU_X86      := $(QEMU_DIR)/qemu-system-x86_64
QEMU_ARM      := $(QEMU_DIR)/qemu-system-aarch64
QTEST_SRCS    := $(wildcard tests/qemu/*.c) tests/unit/util/stream.c
QTEST_HDRS    := $(wildcard tests/qemu/*.h) tests/unit/util/stream.h $(SIM_HDRS)
QTEST_BIN     := $(BUILD)/opt/qemu-npu-tests

# Always asks the script: a warm cache answers in well under a second.
$(QEMU_X86): FORCE
	@./scripts/build-qemu.sh $(QEMU_DIR)
$(QEMU_ARM): $(QEMU_X86)

$(QTEST_BIN): $(QTEST_SRCS) $(QTEST_HDRS) $(LIBNPUSIM_A)
	@mkdir -p $(dir $@)
	$(call msg,CC,$@)
	$(Q)$(CC) $(BASE_CFLAGS) -O2 $(SIM_INC) -Itests/unit -Itests/unit/util $(QTEST_SRCS) $(LIBNPUSIM_A) \
		$(CHECK_LIBS) -lm -o $@

.PHONY: qemu check-qemu FORCE
qemu: $(QEMU_X86)

# Every test starts and kills its own QEMU; the whole run is bounded.
check-qemu: deps $(QEMU_X86) $(QTEST_BIN)
	@echo "== QEMU device npu (qtest)"
	@rm -rf $(BUILD)/qemu-logs && mkdir -p $(BUILD)/qemu-logs
	@NPU_QEMU=$(abspath $(QEMU_X86)) NPU_QTEST_LOGDIR=$(abspath $(BUILD)/qemu-logs) \
		timeout 600 $(QTEST_BIN)
