// SPDX-License-Identifier: MIT
/*
 * The ONNX op table (libnpu/host/onnx_ops.def, onnx_ops.c): names in the
 * order the lookup's binary search needs, lookup by domain, flags, and
 * each stage reading its own column (the float reference, shape inference,
 * quantisation).
 */
#include <check.h>
#include <string.h>

#include "onnx_ops.h"
#include "ref_float.h"
#include "shape_infer.h"

START_TEST(test_names_sorted_and_found)
{
	for (int op = NPUC_OP_UNKNOWN + 1; op < NPUC_OP_COUNT; op++) {
		const char *name = npuc_op_name(op);
		const char *dom = npuc_op_domain(op);

		if (op > NPUC_OP_UNKNOWN + 1)
			ck_assert_msg(strcmp(npuc_op_name(op - 1), name) < 0,
				      "onnx_ops.def: %s must come after %s (strcmp order)",
				      npuc_op_name(op - 1), name);
		ck_assert_msg((int)npuc_op_find(dom, name) == op, "%s not found in '%s'", name, dom);
	}
	ck_assert_int_gt(NPUC_OP_COUNT, 100);
}
END_TEST

START_TEST(test_lookup_domains)
{
	ck_assert_int_eq(npuc_op_find("", "Conv"), NPUC_OP_Conv);
	ck_assert_int_eq(npuc_op_find(NULL, "Conv"), NPUC_OP_Conv);
	ck_assert_int_eq(npuc_op_find("ai.onnx", "Conv"), NPUC_OP_Conv);
	/* Another domain's op of the same name is not ONNX's. */
	ck_assert_int_eq(npuc_op_find("com.example", "Conv"), NPUC_OP_UNKNOWN);
	ck_assert_int_eq(npuc_op_find("com.microsoft", "Conv"), NPUC_OP_UNKNOWN);
	ck_assert_int_eq(npuc_op_find("com.microsoft", "QLinearAdd"), NPUC_OP_QLinearAdd);
	ck_assert_int_eq(npuc_op_find("", "QLinearAdd"), NPUC_OP_UNKNOWN);
	/* Case matters, as in ONNX; unknown and NULL names. */
	ck_assert_int_eq(npuc_op_find("", "conv"), NPUC_OP_UNKNOWN);
	ck_assert_int_eq(npuc_op_find("", "NoSuchOp"), NPUC_OP_UNKNOWN);
	ck_assert_int_eq(npuc_op_find("", ""), NPUC_OP_UNKNOWN);
	ck_assert_int_eq(npuc_op_find("", NULL), NPUC_OP_UNKNOWN);
	ck_assert_str_eq(npuc_op_name(NPUC_OP_UNKNOWN), "?");
	ck_assert_str_eq(npuc_op_name(NPUC_OP_COUNT), "?");
	ck_assert_str_eq(npuc_op_name(NPUC_OP_GlobalAveragePool), "GlobalAveragePool");
	ck_assert_str_eq(npuc_op_domain(NPUC_OP_QLinearConcat), "com.microsoft");
	ck_assert_str_eq(npuc_op_domain(NPUC_OP_QLinearConv), "");
}
END_TEST

START_TEST(test_node_flags)
{
	struct npuc_node n = { .name = "n", .op = "Conv", .domain = "" };

	ck_assert_int_eq(npuc_node_op(&n), NPUC_OP_Conv);
	ck_assert(npuc_node_has(&n, OPF_FUSE_ACT));
	ck_assert(!npuc_node_has(&n, OPF_NO_FOLD));
	n.op = "DequantizeLinear";
	ck_assert(npuc_node_has(&n, OPF_NO_FOLD | OPF_QUANTIZED));
	n.op = "MaxPool";
	ck_assert(npuc_node_has(&n, OPF_Q_PASS));
	n.domain = "com.example";
	ck_assert_int_eq(npuc_node_op(&n), NPUC_OP_UNKNOWN);
	ck_assert(!npuc_node_has(&n, OPF_Q_PASS));
	ck_assert_int_eq(npuc_op_flags(NPUC_OP_UNKNOWN), 0);
	ck_assert(!npuc_node_has(NULL, OPF_Q_PASS));
}
END_TEST

/* Each stage reads its column: a float kernel, shape inference's input counts. */
START_TEST(test_stage_columns)
{
	ck_assert(npuc_ref_op_supported("Conv", ""));
	ck_assert(npuc_ref_op_supported("TopK", "ai.onnx"));
	/* "missing" in the ref column: LpPool has shape inference but no kernel. */
	ck_assert(!npuc_ref_op_supported("LpPool", ""));
	ck_assert_int_eq(npuc_op_min_inputs("LpPool", 13), 1);
	ck_assert(!npuc_ref_op_supported("QLinearAdd", "com.microsoft"));
	ck_assert(!npuc_ref_op_supported("NoSuchOp", ""));
	/* Shape inference's min_in / min_in_new / since columns. */
	ck_assert_int_eq(npuc_op_min_inputs("Conv", 13), 2);
	ck_assert_int_eq(npuc_op_min_inputs("Reshape", 1), 1);
	ck_assert_int_eq(npuc_op_min_inputs("Reshape", 5), 2);
	ck_assert_int_eq(npuc_op_min_inputs("Unsqueeze", 12), 1);
	ck_assert_int_eq(npuc_op_min_inputs("Unsqueeze", 13), 2);
	/* No shape handler: no minimum either. */
	ck_assert_int_eq(npuc_op_min_inputs("TopK", 13), -1);
	ck_assert_int_eq(npuc_op_min_inputs("NoSuchOp", 13), -1);
}
END_TEST

Suite *suite_onnx_ops(void);
Suite *suite_onnx_ops(void)
{
	Suite *s = suite_create("onnx_ops");
	TCase *tc = tcase_create("table");

	tcase_add_test(tc, test_names_sorted_and_found);
	tcase_add_test(tc, test_lookup_domains);
	tcase_add_test(tc, test_node_flags);
	tcase_add_test(tc, test_stage_columns);
	suite_add_tcase(s, tc);
	return s;
}
