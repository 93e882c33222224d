# npu.ko style gates, in `make check`: checkpatch.pl --strict (from Debian's
# linux-source package) and sparse (make C=2) against Debian's 6.1 and 6.12
# headers.
DRIVER_SRCS := $(wildcard driver/*.c driver/*.h)

.PHONY: check-driver
check-driver: deps
	@echo "== npu.ko: checkpatch --strict, sparse"
	@./driver/check-style.sh $(abspath $(BUILD))
