/* SPDX-License-Identifier: MIT */
/* npuc --dump-graph: the quantised graph as Graphviz dot. */
#ifndef NPUC_DOT_H
#define NPUC_DOT_H

#include <stdio.h>

#include "npub.h"
#include "qir.h"

/*
 * Writes g to path: one box per node (op, name, output shape; coloured by
 * where it runs: NPU, CPU fallback with its reason, or host), one ellipse
 * per graph input/output, edges labelled with the int8 scale/zero point.
 * m (may be NULL) gives each node's target (layer i = node i). 0 or -1.
 */
int npuc_dot_write(const struct npuq_graph *g, const struct npub_model *m, const char *path,
		   struct npuc_diag *d);
void npuc_dot_print(FILE *f, const struct npuq_graph *g, const struct npub_model *m);

#endif /* NPUC_DOT_H */
