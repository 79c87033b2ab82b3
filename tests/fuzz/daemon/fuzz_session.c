/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * libFuzzer target: what a hostile guest controls. A VM session with desired
 * reservations is brought to READY by a valid guest (HELLO, STATUS), then
 * the input is fed as channel bytes in chunks whose sizes the input picks,
 * with timer ticks in between. vcmad's answers are decoded and must be valid
 * frames; its bookkeeping must stay within its bounds.
 */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "vm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

static struct vm_limits lim;
static struct vcma_msg *scratch;
static uint64_t status_id;

static int out(void *io, const void *buf, size_t n)
{
	const uint8_t *p = buf;

	(void)io;
	while (n) {
		int k = vcma_decode(p, n, scratch);

		if (k <= 0)
			abort();	/* vcmad sent something it would itself reject */
		if (scratch->type == VCMA_MSG_STATUS)
			status_id = scratch->id;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

static void send_valid(struct vcma_vm *vm, struct vcma_msg *m)
{
	static uint8_t buf[VCMA_MAX_PAYLOAD + 64];
	int n = vcma_encode(m, buf, sizeof(buf));

	if (n > 0)
		vm_feed(vm, buf, (size_t)n, 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct vcma_vm *vm;
	struct vcma_msg *m;
	struct rsv_spec s = { .size = 2 << 20, .count = 3 };
	uint64_t first;
	int64_t now = 0;

	if (!scratch) {
		vlog_set_level(VLOG_ERR);	/* violations are expected here, by the thousand */
		vm_limits_default(&lim);
		lim.max_frames_per_sec = 1000;
		scratch = malloc(sizeof(*scratch));
	}
	m = calloc(1, sizeof(*m));
	vm = vm_new("fuzz", "/none", &lim);
	vm->write = out;
	vm_reserve(vm, &s, 0, &first);
	vm_session_start(vm, 0);
	if (len && (data[0] & 1)) {
		/* start from READY: valid HELLO and STATUS first */
		vcma_msg_init(m, VCMA_MSG_HELLO, 0);
		m->u.hello = (struct vcma_hello_h){ .proto_min = 1, .proto_max = 1,
			.role = VCMA_ROLE_GUEST, .caps = VCMA_CAP_RESERVE | VCMA_CAP_STATUS,
			.page_size = 4096, .mem_total = 1 << 30, .nr_ranges = 1 };
		m->u.hello.ranges[0] = (struct vcma_mem_range_h){ 1ull << 32, 1 << 30, 0, 2 };
		send_valid(vm, m);
		vcma_msg_init(m, VCMA_MSG_STATUS_RESULT, status_id);
		send_valid(vm, m);
	}
	for (size_t i = 1; i < len && !vm->drop;) {
		size_t chunk = (size_t)(data[i] % 97) + 1;

		i++;
		if (chunk > len - i)
			chunk = len - i;
		vm_feed(vm, data + i, chunk, now);
		i += chunk;
		now += 37;
		vm_tick(vm, now);
		if (vm->nr_infl > lim.max_inflight || vm->nr_rsv > lim.max_reservations ||
		    vm->nr_sync > lim.max_status_grants)
			abort();
	}
	if (vm->reasm && vcma_reasm_buffered(vm->reasm) > lim.max_reasm)
		abort();
	vm_session_end(vm, "fuzz");
	vm_free(vm);
	free(m);
	return 0;
}
