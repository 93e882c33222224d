# VM tests: Debian's kernels boot in our QEMU with the npu device; npu.ko's
# kselftests run inside (tests/vm/vmtest.sh). `make vmtest` (6.1 now; the
# 6.12 and arm64 runs come with their issues).
VM_SERIES ?= 6.1 6.12
VM_DEPS   := $(LIBNPUSIM_A) $(LIBNPU_A) $(LIBNPUC_A) $(FMNIST_NPUB) $(QEMU_X86)

.PHONY: vmtest
vmtest: deps $(VM_DEPS)
	@for s in $(VM_SERIES); do \
		./tests/vm/vmtest.sh $$s $(abspath $(BUILD)) $(abspath $(QEMU_X86)) || exit 1; \
	done

# make bench: driver latency and throughput measured in the 6.12 VM.
.PHONY: vmbench
vmbench: deps $(VM_DEPS)
	@./tests/vm/vmtest.sh 6.12 $(abspath $(BUILD)) $(abspath $(QEMU_X86)) bench
bench: vmbench
