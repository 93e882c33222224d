// SPDX-License-Identifier: MIT
/* The float passes in order (passes.h). */
#include "passes.h"

int npuc_passes_run(struct npuc_graph *g, struct npuc_pass_stats *st, struct npuc_diag *d)
{
	if (npuc_pass_fold(g, st, d) < 0)
		return -1;
	return npuc_pass_fuse(g, st, d);
}
