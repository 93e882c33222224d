# The npu-run command line: top-1 on test images (float and int8), --output,
# --trace, and bad input. Included by the top Makefile after
# libnpu/libnpu.mk (NPU_RUN) and models/models.mk (FMNIST_NPUB).
.PHONY: check-npu-run
check-npu-run: deps $(NPU_RUN) $(NPU_RUN_SAN) $(FMNIST_NPUB)
	@echo "== npu-run command line"
	@./tests/cli/test_npu_run.sh $(BUILD) opt
	@echo "== npu-run command line (AddressSanitizer + UndefinedBehaviorSanitizer)"
	@$(CLI_SAN_ENV) ./tests/cli/test_npu_run.sh $(BUILD) san

check: check-npu-run
