# The npu-run command line: top-1 on test images (float and int8), --output,
# --trace, and bad input. Included by the top Makefile after
# libnpu/libnpu.mk (NPU_RUN) and models/models.mk (FMNIST_NPUB).
.PHONY: check-npu-run
check-npu-run: deps $(NPU_RUN) $(FMNIST_NPUB)
	@echo "== npu-run command line"
	@./tests/cli/test_npu_run.sh $(BUILD)

check: check-npu-run
