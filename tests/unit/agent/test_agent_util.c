// SPDX-License-Identifier: MIT
/* Unit tests of the helpers shared by vcma-agent and vcma-guest. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent_util.h"
#include "backend.h"
#include "devnode.h"

/* Sizes ("64M") are proto/vcma_size.c, tested in tests/unit/proto/test_size.c. */

static void test_parse_u64(void **state)
{
	uint64_t v;

	(void)state;
	assert_int_equal(vcma_parse_u64("42", 1, 100, &v), 0);
	assert_true(v == 42);
	assert_int_equal(vcma_parse_u64("0", 1, 100, &v), -ERANGE);
	assert_int_equal(vcma_parse_u64("101", 1, 100, &v), -ERANGE);
	assert_int_equal(vcma_parse_u64("4x", 1, 100, &v), -EINVAL);
	assert_int_equal(vcma_parse_u64("", 0, 100, &v), -EINVAL);
}

static void test_copy_label(void **state)
{
	char dst[8];

	(void)state;
	assert_int_equal(vcma_copy_label(dst, sizeof(dst), "nic0"), 0);
	assert_string_equal(dst, "nic0");
	assert_int_equal(dst[7], 0);
	assert_int_equal(vcma_copy_label(dst, sizeof(dst), "1234567"), 0);
	assert_int_equal(vcma_copy_label(dst, sizeof(dst), "12345678"), -EINVAL);
	assert_int_equal(vcma_copy_label(dst, sizeof(dst), "a\tb"), -EINVAL);
	assert_int_equal(vcma_copy_label(dst, sizeof(dst), ""), 0);
	assert_string_equal(dst, "");
}

static void test_status_from_errno(void **state)
{
	(void)state;
	assert_int_equal(vcma_status_from_errno(0, VCMA_CAUSE_NONE), VCMA_OK);
	assert_int_equal(vcma_status_from_errno(-ENOSPC, VCMA_CAUSE_NO_RANGE), VCMA_E_NOSPC);
	assert_int_equal(vcma_status_from_errno(-EADDRNOTAVAIL, VCMA_CAUSE_ADDR_LIMIT), VCMA_E_NOSPC);
	assert_int_equal(vcma_status_from_errno(-EBUSY, VCMA_CAUSE_PINNED), VCMA_E_BUSY);
	assert_int_equal(vcma_status_from_errno(-ENOMEM, VCMA_CAUSE_FLOOR), VCMA_E_FLOOR);
	assert_int_equal(vcma_status_from_errno(-EBUSY, VCMA_CAUSE_DEADLINE), VCMA_E_TIMEOUT);
	assert_int_equal(vcma_status_from_errno(-ENOENT, 0), VCMA_E_NOENT);
	assert_int_equal(vcma_status_from_errno(-ENODEV, 0), VCMA_E_NODEV);
	assert_int_equal(vcma_status_from_errno(-EINVAL, 0), VCMA_E_INVAL);
	assert_int_equal(vcma_status_from_errno(-ENOTTY, 0), VCMA_E_UNSUPPORTED);
	assert_int_equal(vcma_status_from_errno(-EIO, 0), VCMA_E_INTERNAL);
}

static void test_parse_holders(void **state)
{
	char holder[VCMA_HOLDER_LEN + 1];
	uint32_t flags;

	(void)state;
	agent_parse_holders("", &flags, holder, sizeof(holder));
	assert_int_equal(flags, 0);
	assert_string_equal(holder, "");
	/* A claim is named before a dma-buf, a dma-buf before a mapping. */
	agent_parse_holders("export dma-buf:app[42]\nclaim nic0\nmmap 2\n", &flags, holder,
			    sizeof(holder));
	assert_int_equal(flags, VCMA_GRANT_F_CLAIMED | VCMA_GRANT_F_EXPORTED | VCMA_GRANT_F_MAPPED);
	assert_string_equal(holder, "nic0");
	agent_parse_holders("hold dma-buf:app[42]\nmmap 1\n", &flags, holder, sizeof(holder));
	assert_int_equal(flags, VCMA_GRANT_F_EXPORTED | VCMA_GRANT_F_MAPPED);
	assert_string_equal(holder, "dma-buf:app[42]");
	agent_parse_holders("mmap 3", &flags, holder, sizeof(holder));
	assert_int_equal(flags, VCMA_GRANT_F_MAPPED);
	assert_string_equal(holder, "mmap");
	/* Unknown kinds hold the grant too; odd bytes and long names are tamed. */
	agent_parse_holders("pin\n", &flags, holder, sizeof(holder));
	assert_int_equal(flags, VCMA_GRANT_F_CLAIMED);
	assert_string_equal(holder, "pin");
	agent_parse_holders("claim a\tb\x01", &flags, holder, sizeof(holder));
	assert_string_equal(holder, "a_b_");
	agent_parse_holders("claim 0123456789012345678901234567890123456789012345678901234567",
			    &flags, holder, sizeof(holder));
	assert_int_equal(strlen(holder), VCMA_HOLDER_LEN);
	agent_parse_holders("\n\nexport\n", &flags, holder, sizeof(holder));
	assert_int_equal(flags, VCMA_GRANT_F_EXPORTED);
	assert_string_equal(holder, "dma-buf");
}

static void test_uuid(void **state)
{
	static const uint8_t want[16] = {
		0x9f, 0x73, 0x24, 0xe0, 0x25, 0xc7, 0x4a, 0x38,
		0xa4, 0x75, 0xc3, 0x22, 0x48, 0xbb, 0x36, 0x2f,
	};
	uint8_t id[16];

	(void)state;
	assert_int_equal(agent_parse_uuid("9f7324e0-25c7-4a38-a475-c32248bb362f\n", id), 0);
	assert_memory_equal(id, want, 16);
	assert_int_equal(agent_parse_uuid("9F7324E025C74A38A475C32248BB362F", id), 0);
	assert_memory_equal(id, want, 16);
	assert_int_equal(agent_parse_uuid("9f7324e0-25c7-4a38-a475-c32248bb362", id), -EINVAL);
	assert_int_equal(agent_parse_uuid("9f7324e0-25c7-4a38-a475-c32248bb362f0", id), -EINVAL);
	assert_int_equal(agent_parse_uuid("zz7324e0-25c7-4a38-a475-c32248bb362f", id), -EINVAL);
}

/* This machine's own procfs: the parser must understand a real kernel. */
static void test_read_meminfo_real(void **state)
{
	struct agent_meminfo *mi = malloc(sizeof(*mi));
	uint8_t id[16], zero[16] = { 0 };
	uint32_t i;

	(void)state;
	assert_non_null(mi);
	assert_int_equal(agent_read_meminfo(NULL, mi), 0);
	assert_true(mi->mem_total > 0);
	assert_true(mi->mem_free <= mi->mem_total);
	assert_true(mi->nr_ranges > 0);
	for (i = 0; i < mi->nr_ranges; i++) {
		assert_true(mi->ranges[i].size > 0);
		assert_true(mi->ranges[i].zone <= VCMA_ZONE_MAX);
		if (i)
			assert_true(mi->ranges[i].gpa >= mi->ranges[i - 1].gpa ||
				    mi->ranges[i].node != mi->ranges[i - 1].node);
	}
	free(mi);
	assert_int_equal(agent_read_boot_id(NULL, id), 0);
	assert_memory_not_equal(id, zero, 16);
	assert_int_equal(agent_read_meminfo("/nonexistent", &(struct agent_meminfo){ 0 }),
			 -ENOENT);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/*
 * Port discovery in a sysfs-shaped directory. The node it creates is the real
 * 1:3 (/dev/null), so nothing fake is opened.
 */
static void test_find_port(void **state)
{
	char root[] = "/tmp/vcma-agent-test-XXXXXX";
	char sys[256], dev[256], p[512], out[256];
	struct stat st;

	(void)state;
	if (geteuid() != 0)
		skip();
	assert_non_null(mkdtemp(root));
	snprintf(sys, sizeof(sys), "%s/sys", root);
	snprintf(dev, sizeof(dev), "%s/dev", root);
	assert_int_equal(mkdir(sys, 0755), 0);
	assert_int_equal(mkdir(dev, 0755), 0);
	assert_int_equal(agent_find_port(sys, dev, "org.vcma.0", out, sizeof(out)), -ENOENT);

	snprintf(p, sizeof(p), "%s/vport1p1", sys);
	assert_int_equal(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/vport1p1/name", sys);
	write_file(p, "org.qemu.guest_agent.0\n");
	snprintf(p, sizeof(p), "%s/vport1p2", sys);
	assert_int_equal(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/vport1p2/name", sys);
	write_file(p, "org.vcma.0\n");
	snprintf(p, sizeof(p), "%s/vport1p2/dev", sys);
	write_file(p, "1:3\n");

	assert_int_equal(agent_find_port(sys, dev, "org.vcma.0", out, sizeof(out)), 0);
	snprintf(p, sizeof(p), "%s/vport1p2", dev);
	assert_string_equal(out, p);
	assert_int_equal(stat(p, &st), 0);
	assert_true(S_ISCHR(st.st_mode));
	assert_int_equal(major(st.st_rdev), 1);
	assert_int_equal(minor(st.st_rdev), 3);
	/* Second time the node exists and is reused. */
	assert_int_equal(agent_find_port(sys, dev, "org.vcma.0", out, sizeof(out)), 0);
	assert_int_equal(agent_find_port(sys, dev, "org.other", out, sizeof(out)), -ENOENT);

	unlink(p);
	snprintf(p, sizeof(p), "%s/vport1p2/dev", sys);
	write_file(p, "garbage\n");
	assert_int_equal(agent_find_port(sys, dev, "org.vcma.0", out, sizeof(out)), -EINVAL);

	snprintf(p, sizeof(p), "rm -rf '%s'", root);
	assert_int_equal(system(p), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_u64),
		cmocka_unit_test(test_copy_label),
		cmocka_unit_test(test_status_from_errno),
		cmocka_unit_test(test_parse_holders),
		cmocka_unit_test(test_uuid),
		cmocka_unit_test(test_read_meminfo_real),
		cmocka_unit_test(test_find_port),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests_name("agent_util", tests, NULL, NULL);
}
