/* SPDX-License-Identifier: MIT */
/*
 * Test utilities for compiler suites: build an npuc graph in a few lines.
 * Every helper takes the graph explicitly and fails the running Check test
 * (with the library's diagnostic) when the library call fails.
 */
#ifndef TEST_GRAPH_BUILD_H
#define TEST_GRAPH_BUILD_H

#include <stdint.h>

#include "ir.h"

/* A tensor (F32, or dtype dt); rank -1 / dims NULL = shape left to inference. */
int gb_tensor(struct npuc_graph *g, const char *name, int rank, const int64_t *dims);
int gb_tensor_t(struct npuc_graph *g, const char *name, enum npuc_dtype dt, int rank,
		const int64_t *dims);
/* A constant tensor; vals (numel elements of dt) is copied. */
int gb_const(struct npuc_graph *g, const char *name, int rank, const int64_t *dims,
	     const float *vals);
int gb_const_t(struct npuc_graph *g, const char *name, enum npuc_dtype dt, int rank,
	       const int64_t *dims, const void *vals);
/* A default-domain node named "n<index>". */
int gb_node(struct npuc_graph *g, const char *op, const int *in, int n_in, const int *out,
	    int n_out);
/* A default-domain node with one output, named "n<index>_<op>". */
int gb_node1(struct npuc_graph *g, const char *op, const int *in, int n_in, int out);

void gb_attr_i(struct npuc_graph *g, int node, const char *name, int64_t v);
void gb_attr_f(struct npuc_graph *g, int node, const char *name, float v);
void gb_attr_s(struct npuc_graph *g, int node, const char *name, const char *v);
void gb_attr_ints(struct npuc_graph *g, int node, const char *name, int n, const int64_t *v);

/* Sets the graph inputs / outputs (and their tensor flags). */
void gb_io(struct npuc_graph *g, const int *in, int n_in, const int *out, int n_out);

/* The suites' LCG: a float in [-1, 1) from *s; fill writes n of them seeded by seed. */
float gb_frand(unsigned int *s);
void gb_fill(float *p, int64_t n, unsigned int seed);

#endif /* TEST_GRAPH_BUILD_H */
