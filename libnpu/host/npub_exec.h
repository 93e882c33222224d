/* SPDX-License-Identifier: MIT */
/*
 * Running a loaded .npub plan (npub.h).
 *
 * Building blocks a runtime reuses, whatever hosts the NPU:
 *  - npub_input_import / npub_output_export: graph I/O values in their
 *    ONNX-visible layout (as npuq_ref_run takes and gives them) <-> the
 *    NHWC bytes of an INPUT / OUTPUT region;
 *  - npub_host_step: one non-NPU step (QUANTIZE, DEQUANTIZE, COPY, a float
 *    CPU node through ref_float, an int8 node through qref) on host
 *    mappings of the regions.
 * And a complete in-process executor on libnpusim (npub_run_sim): every
 * region in one flat NPU address space, streams relocated and run on a
 * simulator core, host steps in between. Its outputs are bit-exact with
 * npuq_ref_run on the qgraph the model was lowered from.
 */
#ifndef NPUC_NPUB_EXEC_H
#define NPUC_NPUB_EXEC_H

#include <stdint.h>

#include "npub.h"
#include "npusim.h"
#include "ref_float.h"

/* Copies graph input i (a value as npuq_ref_run takes it) into its region's bytes. */
int npub_input_import(const struct npub_model *m, uint32_t i, const struct npuc_value *v,
		      void *region, struct npuc_diag *d);
/* Graph output i from its region's bytes into *v (owned; npuc_value_free). */
int npub_output_export(const struct npub_model *m, uint32_t i, const void *region,
		       struct npuc_value *v, struct npuc_diag *d);

/*
 * Runs step `step` (any kind but NPU) with region r mapped at host address
 * region_host[r] (m->n_regions entries). 0, -1 or NPUC_REF_UNSUPPORTED
 * (a CPU node ref_float does not implement); diag set.
 */
int npub_host_step(const struct npub_model *m, uint32_t step, uint8_t *const *region_host,
		   struct npuc_diag *d);

/*
 * A host plan: every CPU step of model m prepared once (its node built as
 * a one-node graph with its constants and attributes), so that a run only
 * reads the inputs and computes. Read-only once made: any number of runs
 * may use it at once. NULL only when out of memory (diag set). m must
 * outlive it.
 */
struct npub_host_plan;
struct npub_host_plan *npub_host_plan_new(const struct npub_model *m, struct npuc_diag *d);
void npub_host_plan_free(struct npub_host_plan *p);
/* npub_host_step with a host plan of m (NULL: prepare each CPU step per call). */
int npub_host_step_planned(const struct npub_model *m, const struct npub_host_plan *plan,
			   uint32_t step, uint8_t *const *region_host, struct npuc_diag *d);

/*
 * The fault a job of stream s reported, as text for a message: "stream 2
 * faulted: BAD_FIELD in the CONV at command offset 96 (field k_h)"; other
 * faults give fault_addr. Used by every runner of .npub streams.
 */
void npub_fault_text(const struct npub_model *m, uint32_t s, const struct npu_job_report *rep,
		     char *buf, size_t len);

struct npub_run_stats {
	uint64_t cycles, macs, dram_read, dram_write;	/* summed over NPU jobs */
	uint64_t busy[4];				/* per engine, summed */
	uint32_t npu_jobs, host_steps;
};

/*
 * Runs the whole plan on an in-process simulator core (created from the
 * model's target configuration when core is NULL). inputs[i] / outputs[i]
 * as for npuq_ref_run (outputs owned by the caller, cleared on failure).
 * stats may be NULL. 0, -1 or NPUC_REF_UNSUPPORTED (diag set).
 */
int npub_run_sim(const struct npub_model *m, struct npusim_core *core,
		 const struct npuc_value *inputs, struct npuc_value *outputs,
		 struct npub_run_stats *stats, struct npuc_diag *d);
/*
 * The same with an explicit per-job watchdog budget in cycles (0: the
 * default, NPU_WATCHDOG_DEFAULT or twice the stream's estimate if larger,
 * at most 2^32 - 1). A hostile stream costs the host at most about its
 * budget in work, so tests running untrusted files pass a small one.
 */
int npub_run_sim_budget(const struct npub_model *m, struct npusim_core *core,
			const struct npuc_value *inputs, struct npuc_value *outputs,
			struct npub_run_stats *stats, uint64_t watchdog_cycles,
			struct npuc_diag *d);

#endif /* NPUC_NPUB_EXEC_H */
