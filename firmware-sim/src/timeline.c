// SPDX-License-Identifier: MIT
/*
 * Cycle model scheduling: the dispatcher issues commands in stream order to
 * per-engine in-order queues of depth NPU_QUEUE_DEPTH; engines run
 * concurrently.
 *
 * Hazard rule (independent of timing): when a command is dispatched, the
 * commands that may still be running on another engine are that engine's
 * last NPU_QUEUE_DEPTH commands (the dispatcher stalls on a full queue, so
 * older ones have finished on any implementation), minus those a WAIT,
 * SIGNAL or END has since ordered. A conflicting SRAM access against one
 * of them is a race on real hardware, whatever this model's timing says,
 * so it faults with NPU_FAULT_HAZARD.
 */
#include <string.h>

#include "internal.h"

void timeline_reset(struct timeline *tl, const struct npusim_config *cfg)
{
	memset(tl, 0, sizeof(*tl));
	tl->cfg = cfg;
}

void timeline_dispatch(struct timeline *tl)
{
	tl->now += tl->cfg->cmd_cycles;
	tl->ctrl_busy += tl->cfg->cmd_cycles;
}

/* i-th oldest entry of the history (0 = oldest kept). */
static unsigned int q_index(const struct engine_queue *q, unsigned int i)
{
	return (q->head + NPU_QUEUE_DEPTH - q->count + i) % NPU_QUEUE_DEPTH;
}

static int spans_overlap(const struct sram_span *a, unsigned int na,
			 const struct sram_span *b, unsigned int nb)
{
	for (unsigned int i = 0; i < na; i++)
		for (unsigned int j = 0; j < nb; j++)
			if (a[i].start < b[j].end && b[j].start < a[i].end &&
			    a[i].start < a[i].end && b[j].start < b[j].end)
				return 1;
	return 0;
}

/* Read-after-write, write-after-read or write-after-write between two commands. */
static int conflicts(const struct cmd_info *x, const struct cmd_info *y)
{
	return spans_overlap(x->writes, x->nwrites, y->reads, y->nreads) ||
	       spans_overlap(x->writes, x->nwrites, y->writes, y->nwrites) ||
	       spans_overlap(x->reads, x->nreads, y->writes, y->nwrites);
}

int timeline_issue(struct timeline *tl, const struct cmd_info *info, int hazard_check,
		   struct timeline_event *ev)
{
	struct engine_queue *q = &tl->q[info->engine];
	uint64_t start, end;
	unsigned int slot;

	/* Queue full: the dispatcher stalls until the oldest command finishes. */
	if (q->count == NPU_QUEUE_DEPTH && q->end[q_index(q, 0)] > tl->now)
		tl->now = q->end[q_index(q, 0)];
	start = tl->now > q->free_at ? tl->now : q->free_at;
	/* Saturating: hostile costs must not wrap past the watchdog. */
	end = info->cycles > UINT64_MAX - start ? UINT64_MAX : start + (info->cycles ? info->cycles : 1);

	if (hazard_check) {
		for (int e = 0; e < NPU_ENGINE_COUNT - 1; e++) {
			const struct engine_queue *o = &tl->q[e];

			if (e == (int)info->engine)
				continue;
			for (unsigned int i = 0; i < o->count; i++) {
				unsigned int k = q_index(o, i);

				if (o->seq[k] > o->retired && conflicts(info, &o->info[k]))
					return NPU_FAULT_HAZARD;
			}
		}
	}

	slot = q->head;
	q->end[slot] = end;
	q->seq[slot] = ++q->issued;
	q->info[slot] = *info;
	q->head = (q->head + 1) % NPU_QUEUE_DEPTH;
	if (q->count < NPU_QUEUE_DEPTH)
		q->count++;
	q->free_at = end;
	q->busy += end - start;

	if (ev) {
		ev->engine = info->engine;
		ev->start = start;
		ev->end = end;
		ev->macs = info->macs;
		ev->dram_bytes = info->dram_read + info->dram_write;
	}
	return NPU_FAULT_NONE;
}

void timeline_wait(struct timeline *tl, uint32_t engine_mask, uint32_t max_outstanding)
{
	for (int e = 0; e < NPU_ENGINE_COUNT - 1; e++) {
		struct engine_queue *q = &tl->q[e];
		unsigned int first = q->count, n;

		if (!(engine_mask & (1u << e)))
			continue;
		/* All but the last max_outstanding commands are now ordered. */
		if (q->issued > max_outstanding && q->issued - max_outstanding > q->retired)
			q->retired = q->issued - max_outstanding;
		/* History ends are increasing: find the oldest still running. */
		for (unsigned int i = 0; i < q->count; i++) {
			if (q->end[q_index(q, i)] > tl->now) {
				first = i;
				break;
			}
		}
		n = q->count - first;
		if (n > max_outstanding)
			tl->now = q->end[q_index(q, first + n - max_outstanding - 1)];
	}
}

uint64_t timeline_end(const struct timeline *tl)
{
	uint64_t end = tl->now;

	for (int e = 0; e < NPU_ENGINE_COUNT - 1; e++)
		if (tl->q[e].free_at > end)
			end = tl->q[e].free_at;
	return end;
}
