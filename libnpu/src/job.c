// SPDX-License-Identifier: MIT
/* libnpu: a device job's clock, watchdog budget and profile accounting. */
#include <time.h>

#include "context.h"

uint64_t npu_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t npu_stream_watchdog(const struct npub_stream *sr)
{
	/* A long stream gets twice its estimate (as npub_run_sim does). */
	if (sr->est_cycles > NPU_WATCHDOG_DEFAULT / 2)
		return sr->est_cycles > 0x7fffffffull ? 0xffffffffull : 2 * sr->est_cycles;
	return NPU_WATCHDOG_DEFAULT;
}

void npu_profile_add(struct npu_profile *p, const struct npu_job_report *rep)
{
	p->device_cycles += rep->cycles;
	p->macs += rep->macs;
	p->dram_read_bytes += rep->dram_read_bytes;
	p->dram_write_bytes += rep->dram_write_bytes;
	for (int k = 0; k < NPU_PROFILE_ENGINES; k++)
		p->busy_cycles[k] += rep->busy_cycles[k];
	p->device_jobs++;
}
