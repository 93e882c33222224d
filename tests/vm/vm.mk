# VM tests: Debian's kernels boot in our QEMU with the npu device; npu.ko's
# kselftests, libnpu's suite on the kernel device, npu-run and the
# Fashion-MNIST run through the driver (tests/vm/vmtest.sh).
#   make vmtest              the PC machine (x86_64), PCI device
#   make vmtest ARCH=arm64   the Arm virt board: devicetree and PCI devices,
#                            the module cross-built, static aarch64 tests
# make check runs both.
VM_SERIES ?= 6.1 6.12
VM_ARCH   := $(if $(filter arm64 aarch64,$(ARCH)),arm64,amd64)
VM_DEPS   := $(LIBNPUSIM_A) $(LIBNPU_A) $(NPUC_LIBS) $(FMNIST_NPUB) $(QEMU_X86)

# The libraries for the aarch64 test programs, cross-compiled in a build
# tree of their own. -O2: Debian's aarch64 GCC 12 has an internal compiler
# error in the -O3 loop vectoriser on compiler/quantize/quantize.c.
VM_CROSS     := $(BUILD)/aarch64
VM_CROSS_LIBS := $(addprefix $(VM_CROSS)/lib/,libnpu.a libnpuc.a libnpuhost.a libnpub.a libnpusim.a)

.PHONY: vmtest vmtest-amd64 vmtest-arm64 vm-cross-libs
vmtest: vmtest-$(VM_ARCH)

vmtest-amd64: deps $(VM_DEPS)
	@for s in $(VM_SERIES); do \
		./tests/vm/vmtest.sh $$s $(abspath $(BUILD)) $(abspath $(QEMU_X86)) test amd64 || exit 1; \
	done

vm-cross-libs: deps
	@$(MAKE) -s --no-print-directory BUILD=$(VM_CROSS) CC=aarch64-linux-gnu-gcc OPT=-O2 ARCH= \
		$(VM_CROSS_LIBS)

vmtest-arm64: deps $(VM_DEPS) $(QEMU_ARM) vm-cross-libs
	@for s in $(VM_SERIES); do \
		./tests/vm/vmtest.sh $$s $(abspath $(BUILD)) $(abspath $(QEMU_ARM)) test arm64 || exit 1; \
	done

# make bench: driver latency and throughput measured in the 6.12 VM.
.PHONY: vmbench
vmbench: deps $(VM_DEPS)
	@./tests/vm/vmtest.sh 6.12 $(abspath $(BUILD)) $(abspath $(QEMU_X86)) bench amd64
bench: vmbench
