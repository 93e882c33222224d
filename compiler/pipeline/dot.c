// SPDX-License-Identifier: MIT
/* npuc --dump-graph (dot.h). */
#include <errno.h>
#include <string.h>

#include "dot.h"

/* Prints s as the inside of a dot string literal. */
static void dot_str(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', f);
		if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
}

static const char *node_color(const struct npub_model *m, int i)
{
	if (!m || i < 0 || (uint32_t)i >= m->n_layers)
		return "white";
	switch (m->layers[i].target) {
	case NPUB_TARGET_NPU: return "palegreen";
	case NPUB_TARGET_CPU:
	case NPUB_TARGET_QCPU: return "lightsalmon";
	case NPUB_TARGET_HOST: return "lightblue";
	default: return "gray90";
	}
}

void npuc_dot_print(FILE *f, const struct npuq_graph *g, const struct npub_model *m)
{
	fputs("digraph npuc {\n  rankdir=TB;\n  node [fontname=\"monospace\" fontsize=10];\n", f);
	for (int i = 0; i < g->n_inputs; i++) {
		fprintf(f, "  t%d [shape=ellipse label=\"", g->inputs[i]);
		dot_str(f, g->t[g->inputs[i]].name);
		fputs("\"];\n", f);
	}
	for (int i = 0; i < g->n_nodes; i++) {
		const struct npuq_node *n = &g->nodes[i];
		const struct npuq_tensor *o = n->n_out ? &g->t[n->out[0]] : NULL;

		fprintf(f, "  n%d [shape=box style=filled fillcolor=%s label=\"%s\\n", i,
			node_color(m, i), npuq_op_name(n->op));
		dot_str(f, n->name);
		if (o)
			fprintf(f, "\\n%dx%dx%d", o->h, o->w, o->c);
		if (n->op == NPUQ_CPU) {
			fputs("\\nCPU: ", f);
			dot_str(f, n->u.cpu.reason);
		}
		fputs("\"];\n", f);
		for (int k = 0; k < n->n_in; k++) {
			const struct npuq_tensor *t;
			int src;

			if (n->in[k] < 0)
				continue;
			t = &g->t[n->in[k]];
			src = t->producer;
			if (src >= 0)
				fprintf(f, "  n%d -> n%d", src, i);
			else
				fprintf(f, "  t%d -> n%d", n->in[k], i);
			if (t->flags & NPUQ_T_FLOAT)
				fputs(" [label=\"f32\"];\n", f);
			else
				fprintf(f, " [label=\"s=%.3g zp=%d\"];\n", t->scale, (int)t->zp);
		}
	}
	for (int i = 0; i < g->n_outputs; i++) {
		int t = g->outputs[i];

		fprintf(f, "  o%d [shape=ellipse label=\"", t);
		dot_str(f, g->t[t].name);
		fputs("\"];\n", f);
		if (g->t[t].producer >= 0)
			fprintf(f, "  n%d -> o%d;\n", g->t[t].producer, t);
		else
			fprintf(f, "  t%d -> o%d;\n", t, t);
	}
	fputs("}\n", f);
}

int npuc_dot_write(const struct npuq_graph *g, const struct npub_model *m, const char *path,
		   struct npuc_diag *d)
{
	FILE *f = fopen(path, "w");

	if (!f) {
		npuc_diag_set(d, "%s: %s", path, strerror(errno));
		return -1;
	}
	npuc_dot_print(f, g, m);
	if (ferror(f) | fclose(f)) {
		npuc_diag_set(d, "%s: write error", path);
		return -1;
	}
	return 0;
}
