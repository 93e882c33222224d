// SPDX-License-Identifier: MIT
/*
 * npuc's memory budgets (ir.h): a tiny graph that declares enormous
 * tensors is refused with a message naming the node, before or instead of
 * allocating them. Static shapes are refused by shape inference; computed
 * shapes by the float executor (one tensor over NPUC_MAX_VALUE_BYTES, or
 * the values alive in one run over NPUC_MAX_LIVE_BYTES).
 */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "ir.h"
#include "util/graph_build.h"
#include "ref_float.h"
#include "shape_infer.h"

/* Floats in NPUC_MAX_VALUE_BYTES: the largest tensor npuc computes. */
#define MAX_FLOATS ((int64_t)(NPUC_MAX_VALUE_BYTES / sizeof(float)))

static struct npuc_graph *g;
static struct npuc_diag d;

static void setup(void)
{
	g = npuc_graph_new();
	ck_assert_ptr_nonnull(g);
	g->opset = 13;
	memset(&d, 0, sizeof(d));
}

static void teardown(void)
{
	npuc_graph_free(g);
	g = NULL;
}

/* x (float [1]) expanded to the shape in an int64 tensor; returns the output. */
static int expand_of(int x, int shape, const char *name)
{
	int y = gb_tensor(g, name, -1, NULL);
	int in[2] = { x, shape };

	gb_node1(g, "Expand", in, 2, y);
	return y;
}

/* x [n, 1] + y [1, n]: n * n floats from two small inputs. */
static int outer_sum(int64_t n)
{
	int64_t col[2] = { n, 1 }, row[2] = { 1, n };
	int in[2] = { gb_tensor(g, "x", 2, col), gb_tensor(g, "y", 2, row) };
	int z = gb_tensor(g, "z", -1, NULL);

	gb_node1(g, "Add", in, 2, z);
	gb_io(g, in, 2, &z, 1);
	return z;
}

START_TEST(test_static_shape_over_budget)
{
	int z;

	ck_assert_int_eq(MAX_FLOATS, INT64_C(8192) * 8192);
	outer_sum(8193);
	ck_assert_int_eq(npuc_shape_infer(g, &d), -1);
	ck_assert_msg(strstr(d.msg, "n0_Add") && strstr(d.msg, "output 'z'") &&
		      strstr(d.msg, "67125249 elements") && strstr(d.msg, "at most 256 MiB"),
		      "%s", d.msg);
	/* At the limit it is fine. */
	npuc_graph_free(g);
	setup();
	z = outer_sum(8192);
	ck_assert_msg(npuc_shape_infer(g, &d) == 0, "%s", d.msg);
	ck_assert_int_eq(npuc_tensor_numel(&g->t[z]), MAX_FLOATS);
}
END_TEST

/* The shape is a graph input: only the run knows it. */
START_TEST(test_computed_shape_over_budget)
{
	int64_t one = 1, big = MAX_FLOATS + 1;
	float xv = 1.0f;
	int x = gb_tensor(g, "x", 1, &one);
	int s = gb_tensor_t(g, "s", NPUC_DT_I64, 1, &one);
	int y = expand_of(x, s, "y");
	int in[2] = { x, s };
	struct npuc_value iv[2], out;

	gb_io(g, in, 2, &y, 1);
	ck_assert_msg(npuc_shape_infer(g, &d) == 0, "%s", d.msg);
	ck_assert_int_eq(npuc_value_wrap(&iv[0], NPUC_DT_F32, 1, &one, &xv, &d), 0);
	ck_assert_int_eq(npuc_value_wrap(&iv[1], NPUC_DT_I64, 1, &one, &big, &d), 0);
	ck_assert_int_eq(npuc_ref_run(g, iv, &out, NULL, &d), -1);
	ck_assert_msg(strstr(d.msg, "n0_Expand") && strstr(d.msg, "limit of 256 MiB"), "%s",
		      d.msg);
	ck_assert_ptr_null(out.data);
	/* 2^32 elements: the shape itself is refused, not allocated. */
	big = INT64_C(1) << 32;
	ck_assert_int_eq(npuc_ref_run(g, iv, &out, NULL, &d), -1);
	ck_assert_msg(strstr(d.msg, "4294967296") && strstr(d.msg, "2^31"), "%s", d.msg);
}
END_TEST

/*
 * Five tensors of a quarter of the live budget each, all read by one
 * final node: the fifth puts the run over NPUC_MAX_LIVE_BYTES.
 */
START_TEST(test_live_values_over_budget)
{
	int64_t one = 1, quarter = (int64_t)(NPUC_MAX_LIVE_BYTES / 4 / sizeof(float));
	float xv = 1.0f;
	int x = gb_tensor(g, "x", 1, &one);
	int s = gb_tensor_t(g, "s", NPUC_DT_I64, 1, &one);
	int in[2] = { x, s }, parts[5], y = gb_tensor(g, "y", -1, NULL);
	struct npuc_value iv[2], out;

	ck_assert_int_le(quarter, MAX_FLOATS);	/* each one alone is allowed */
	for (int i = 0; i < 5; i++) {
		char name[16];

		snprintf(name, sizeof(name), "e%d", i);
		parts[i] = expand_of(x, s, name);
	}
	gb_node1(g, "Sum", parts, 5, y);
	gb_io(g, in, 2, &y, 1);
	ck_assert_msg(npuc_shape_infer(g, &d) == 0, "%s", d.msg);
	ck_assert_int_eq(npuc_value_wrap(&iv[0], NPUC_DT_F32, 1, &one, &xv, &d), 0);
	ck_assert_int_eq(npuc_value_wrap(&iv[1], NPUC_DT_I64, 1, &one, &quarter, &d), 0);
	ck_assert_int_eq(npuc_ref_run(g, iv, &out, NULL, &d), -1);
	ck_assert_msg(strstr(d.msg, "n4_Expand") && strstr(d.msg, "budget of 1024 MiB"), "%s",
		      d.msg);
	/* The same graph with small tensors runs (Sum of five ones). */
	quarter = 1000;
	ck_assert_msg(npuc_ref_run(g, iv, &out, NULL, &d) == 0, "%s", d.msg);
	ck_assert_int_eq(out.numel, 1000);
	ck_assert(((float *)out.data)[999] == 5.0f);
	npuc_value_free(&out);
}
END_TEST

Suite *suite_budgets(void);
Suite *suite_budgets(void)
{
	Suite *s = suite_create("budgets");
	TCase *tc = tcase_create("memory");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_static_shape_over_budget);
	tcase_add_test(tc, test_computed_shape_over_budget);
	tcase_add_test(tc, test_live_values_over_budget);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}
