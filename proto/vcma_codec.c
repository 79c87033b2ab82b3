// SPDX-License-Identifier: MIT
/*
 * vcma codec: frames of vcma_proto.h to and from struct vcma_msg.
 *
 * This is the trust boundary for untrusted guests. Every byte is read through
 * a bounds-checked cursor with explicit little-endian assembly (no casts of
 * wire bytes to structs, no unaligned loads), every count is checked against
 * its maximum before it is multiplied, and the payload length must match the
 * layout exactly. The semantic rules (enums, strings, relations between
 * fields) live in one function, msg_check(), that both directions call, so a
 * peer never sends what it would itself reject and a decoded message always
 * re-encodes to the same bytes.
 *
 * The reassembler at the end buffers a byte stream in one bounded buffer,
 * scans for the magic to resynchronise, drops a frame whose header is invalid
 * by one byte (the header itself is suspect) and a frame whose header is fine
 * but whose payload is invalid as a whole.
 */
#include "vcma_codec.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define HDR_LEN		((uint32_t)sizeof(struct vcma_hdr))
#define MIN_PAGE_SIZE	4096u
#define MAX_PAGE_SIZE	65536u

/* What the codec needs to know about each message type's payload. */
struct type_info {
	const char *name;
	uint32_t fixed;		/* bytes of the fixed part */
	uint32_t entry;		/* bytes per array entry, 0 = no array */
	uint32_t max_entries;
	bool may_continue;	/* VCMA_HDR_F_MORE allowed */
};

static const struct type_info types[VCMA_MSG_TYPE_MAX + 1] = {
	[VCMA_MSG_HELLO] = { "HELLO", sizeof(struct vcma_hello),
		sizeof(struct vcma_mem_range), VCMA_MAX_MEM_RANGES, false },
	[VCMA_MSG_RESERVE] = { "RESERVE", VCMA_RESERVE_BASE_LEN, 0, 0, false },
	[VCMA_MSG_RESERVE_RESULT] = { "RESERVE_RESULT",
		sizeof(struct vcma_reserve_result), 0, 0, false },
	[VCMA_MSG_RELEASE] = { "RELEASE", sizeof(struct vcma_release), 0, 0, false },
	[VCMA_MSG_RELEASE_RESULT] = { "RELEASE_RESULT",
		VCMA_RELEASE_RESULT_BASE_LEN, 0, 0, false },
	[VCMA_MSG_BALLOON_SET] = { "BALLOON_SET",
		sizeof(struct vcma_balloon_set), 0, 0, false },
	[VCMA_MSG_BALLOON_REPORT] = { "BALLOON_REPORT",
		sizeof(struct vcma_balloon_report), sizeof(__le64),
		VCMA_MAX_CHUNKS_FRAME, true },
	[VCMA_MSG_STATUS] = { "STATUS", 0, 0, 0, false },
	[VCMA_MSG_STATUS_RESULT] = { "STATUS_RESULT",
		sizeof(struct vcma_status_result), sizeof(struct vcma_grant_info),
		VCMA_MAX_GRANTS_FRAME, true },
	[VCMA_MSG_EVENT] = { "EVENT", sizeof(struct vcma_event), 0, 0, false },
	[VCMA_MSG_PING] = { "PING", 0, 0, 0, false },
	[VCMA_MSG_PONG] = { "PONG", 0, 0, 0, false },
	[VCMA_MSG_ERROR] = { "ERROR", sizeof(struct vcma_error), 0, 0, false },
	[VCMA_MSG_BALLOON_STATS] = { "BALLOON_STATS", 0, 0, 0, false },
	[VCMA_MSG_BALLOON_STATS_RESULT] = { "BALLOON_STATS_RESULT",
		sizeof(struct vcma_balloon_stats_result), 0, 0, false },
};

/*
 * Bytes a capability appends to a fixed-size type: the frame is then either
 * the fixed size or the fixed size plus these, nothing in between.
 */
static const uint32_t type_ext[VCMA_MSG_TYPE_MAX + 1] = {
	[VCMA_MSG_RESERVE] = sizeof(struct vcma_reserve) - VCMA_RESERVE_BASE_LEN,
	[VCMA_MSG_RELEASE_RESULT] = sizeof(struct vcma_release_result) -
		VCMA_RELEASE_RESULT_BASE_LEN,
};

static const struct type_info *type_info(unsigned int type)
{
	if (type == 0 || type > VCMA_MSG_TYPE_MAX)
		return NULL;
	return &types[type];
}

/* ---- byte cursors ---------------------------------------------------- */

/*
 * Writer and reader share one shape: a position inside a region whose size
 * was established before the first access. A read past the end sets err
 * instead of touching memory, so a logic slip cannot become an overread.
 */
struct wcur {
	uint8_t *p;
	size_t pos, len;
	bool overflow;
};

struct rcur {
	const uint8_t *p;
	size_t pos, len;
	int err;
};

static void put_le(struct wcur *w, uint64_t v, unsigned int bytes)
{
	if (w->len - w->pos < bytes) {
		w->overflow = true;	/* cannot happen: size checked up front */
		return;
	}
	for (unsigned int i = 0; i < bytes; i++)
		w->p[w->pos + i] = (uint8_t)(v >> (8 * i));
	w->pos += bytes;
}

static void put8(struct wcur *w, uint8_t v) { put_le(w, v, 1); }
static void put16(struct wcur *w, uint16_t v) { put_le(w, v, 2); }
static void put32(struct wcur *w, uint32_t v) { put_le(w, v, 4); }
static void put64(struct wcur *w, uint64_t v) { put_le(w, v, 8); }

static void put_bytes(struct wcur *w, const void *src, size_t n)
{
	if (w->len - w->pos < n) {
		w->overflow = true;
		return;
	}
	if (src)
		memcpy(w->p + w->pos, src, n);
	else
		memset(w->p + w->pos, 0, n);
	w->pos += n;
}

static void put_zero(struct wcur *w, size_t n) { put_bytes(w, NULL, n); }

/* A NUL-terminated host string into a NUL-padded field of width bytes. */
static void put_str(struct wcur *w, const char *s, size_t width)
{
	size_t n = strnlen(s, width);

	put_bytes(w, s, n);
	put_zero(w, width - n);
}

static uint64_t get_le(struct rcur *r, unsigned int bytes)
{
	uint64_t v = 0;

	if (r->len - r->pos < bytes) {
		r->pos = r->len;
		if (!r->err)
			r->err = VCMA_CERR_LENGTH;
		return 0;
	}
	for (unsigned int i = 0; i < bytes; i++)
		v |= (uint64_t)r->p[r->pos + i] << (8 * i);
	r->pos += bytes;
	return v;
}

static uint8_t get8(struct rcur *r) { return (uint8_t)get_le(r, 1); }
static uint16_t get16(struct rcur *r) { return (uint16_t)get_le(r, 2); }
static uint32_t get32(struct rcur *r) { return (uint32_t)get_le(r, 4); }
static uint64_t get64(struct rcur *r) { return get_le(r, 8); }

static void get_bytes(struct rcur *r, void *dst, size_t n)
{
	if (r->len - r->pos < n) {
		r->pos = r->len;
		if (!r->err)
			r->err = VCMA_CERR_LENGTH;
		memset(dst, 0, n);
		return;
	}
	memcpy(dst, r->p + r->pos, n);
	r->pos += n;
}

/* Reserved bytes: must be zero on the wire. */
static void get_zero(struct rcur *r, size_t n)
{
	size_t avail = r->len - r->pos;

	for (size_t i = 0; i < n && i < avail; i++) {
		if (r->p[r->pos + i] != 0 && !r->err)
			r->err = VCMA_CERR_RESERVED;
	}
	if (avail < n) {
		r->pos = r->len;
		if (!r->err)
			r->err = VCMA_CERR_LENGTH;
		return;
	}
	r->pos += n;
}

/*
 * A NUL-padded field of width bytes into out[width + 1]. The padding rule
 * (nothing but NULs after the first NUL) is checked here; the characters
 * themselves are checked by msg_check() for both directions.
 */
static void get_str(struct rcur *r, char *out, size_t width)
{
	size_t n;

	get_bytes(r, out, width);
	out[width] = '\0';
	n = strnlen(out, width);
	/* Padding is all NUL iff each byte equals the next and the first (out[n]) is NUL. */
	if (n < width && memcmp(out + n, out + n + 1, width - n - 1) != 0 && !r->err)
		r->err = VCMA_CERR_VALUE;
}

/* ---- semantic rules, shared by encode and decode ---------------------- */

static bool str_ok(const char *s, size_t width)
{
	size_t n = strnlen(s, width + 1);

	if (n > width)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c > 0x7e)
			return false;
	}
	return true;
}

static bool pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

/* [gpa, gpa + size) is non-empty and does not wrap around. */
static bool range_ok(uint64_t gpa, uint64_t size)
{
	return size && gpa <= UINT64_MAX - (size - 1);
}

static bool zero_bytes(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i])
			return false;
	}
	return true;
}

/* Smallest possible chunk for an order: every guest page is >= 4 KiB. */
static uint64_t min_chunk(uint8_t order)
{
	return (uint64_t)MIN_PAGE_SIZE << order;
}

static int check_hello(const struct vcma_hello_h *h)
{
	if (h->nr_ranges > VCMA_MAX_MEM_RANGES)
		return VCMA_CERR_COUNT;
	if (h->proto_min < 1 || h->proto_min > h->proto_max)
		return VCMA_CERR_VALUE;
	if (!str_ok(h->software, VCMA_NAME_LEN))
		return VCMA_CERR_VALUE;
	if (h->role == VCMA_ROLE_HOST) {
		/* The guest-only fields stay zero so that nobody reads meaning into them. */
		if (h->page_size || h->pageblock_order || h->max_order ||
		    h->nr_ranges || !zero_bytes(h->boot_id, sizeof(h->boot_id)))
			return VCMA_CERR_VALUE;
		return VCMA_CERR_OK;
	}
	if (h->role != VCMA_ROLE_GUEST)
		return VCMA_CERR_VALUE;
	if (!pow2(h->page_size) || h->page_size < MIN_PAGE_SIZE ||
	    h->page_size > MAX_PAGE_SIZE)
		return VCMA_CERR_VALUE;
	if (h->pageblock_order > VCMA_ORDER_MAX || h->max_order > VCMA_ORDER_MAX)
		return VCMA_CERR_VALUE;
	for (uint32_t i = 0; i < h->nr_ranges; i++) {
		const struct vcma_mem_range_h *mr = &h->ranges[i];

		if (!range_ok(mr->gpa, mr->size) || mr->zone > VCMA_ZONE_MAX ||
		    mr->node == VCMA_NODE_ANY)
			return VCMA_CERR_VALUE;
	}
	return VCMA_CERR_OK;
}

static int check_reserve(const struct vcma_reserve_h *r)
{
	if (!r->size || r->size % MIN_PAGE_SIZE)
		return VCMA_CERR_VALUE;
	if (r->align && !pow2(r->align))
		return VCMA_CERR_VALUE;
	if (r->flags & ~VCMA_RSV_KNOWN)
		return VCMA_CERR_VALUE;
	/* Failing fast and waiting out pins contradict each other. */
	if ((r->flags & VCMA_RSV_FAIL_FAST) && (r->flags & VCMA_RSV_WAIT_PINS))
		return VCMA_CERR_VALUE;
	if (!str_ok(r->label, VCMA_NAME_LEN))
		return VCMA_CERR_VALUE;
	/* A limit is a page-aligned address the grant can end at: at least the size. */
	if (r->max_addr && (r->max_addr % MIN_PAGE_SIZE || r->max_addr < r->size))
		return VCMA_CERR_VALUE;
	return VCMA_CERR_OK;
}

static int check_reserve_result(const struct vcma_reserve_result_h *r)
{
	if (r->status > VCMA_STATUS_MAX || r->ev.cause > VCMA_CAUSE_MAX)
		return VCMA_CERR_VALUE;
	if (r->status == VCMA_OK) {
		if (!r->grant_id || !range_ok(r->gpa, r->size))
			return VCMA_CERR_VALUE;
	} else if (r->grant_id) {
		return VCMA_CERR_VALUE;
	}
	return VCMA_CERR_OK;
}

static int check_balloon_report(const struct vcma_balloon_report_h *b)
{
	if (b->nr_chunks > VCMA_MAX_CHUNKS_FRAME)
		return VCMA_CERR_COUNT;
	if (b->status > VCMA_STATUS_MAX || b->chunk_order > VCMA_ORDER_MAX)
		return VCMA_CERR_VALUE;
	if (b->target_bytes % min_chunk(b->chunk_order) ||
	    b->actual_bytes % min_chunk(b->chunk_order))
		return VCMA_CERR_VALUE;
	/* A direction without chunks, or chunks without one, means nothing. */
	if (b->nr_chunks == 0) {
		if (b->direction != 0)
			return VCMA_CERR_VALUE;
	} else if (b->direction != VCMA_BALLOON_INFLATED &&
		   b->direction != VCMA_BALLOON_DEFLATED) {
		return VCMA_CERR_VALUE;
	}
	for (uint32_t i = 0; i < b->nr_chunks; i++) {
		if (b->chunks[i] % MIN_PAGE_SIZE ||
		    !range_ok(b->chunks[i], min_chunk(b->chunk_order)))
			return VCMA_CERR_VALUE;
	}
	return VCMA_CERR_OK;
}

static int check_status_result(const struct vcma_status_result_h *s)
{
	if (s->nr_grants > VCMA_MAX_GRANTS_FRAME)
		return VCMA_CERR_COUNT;
	for (uint32_t i = 0; i < s->nr_grants; i++) {
		const struct vcma_grant_info_h *g = &s->grants[i];

		if (!g->grant_id || !range_ok(g->gpa, g->size) ||
		    !str_ok(g->label, VCMA_NAME_LEN))
			return VCMA_CERR_VALUE;
		if (g->flags & ~VCMA_GRANT_F_KNOWN || !str_ok(g->holder, VCMA_HOLDER_LEN))
			return VCMA_CERR_VALUE;
		/* A holder is named exactly when something holds the grant. */
		if (!g->flags != !g->holder[0])
			return VCMA_CERR_VALUE;
		/* The 64-byte entries have nowhere to carry either. */
		if (!s->holders && g->flags)
			return VCMA_CERR_VALUE;
	}
	return VCMA_CERR_OK;
}

/* E_CLAIMED names its holder (the 64-byte form); every other status does not. */
static int check_release_result(const struct vcma_release_result_h *r)
{
	if (r->status > VCMA_STATUS_MAX || !str_ok(r->holder, VCMA_HOLDER_LEN))
		return VCMA_CERR_VALUE;
	if ((r->status == VCMA_E_CLAIMED) != (r->holder[0] != '\0'))
		return VCMA_CERR_VALUE;
	return VCMA_CERR_OK;
}

/* The BALLOON_STATS_RESULT counters in the order of their valid bits. */
#define BST_FIELD(f) { offsetof(struct vcma_balloon_stats_result_h, f), #f }
static const struct {
	size_t off;
	const char *name;
} bst_fields[VCMA_BST_NR_COUNTERS] = {
	BST_FIELD(mem_total), BST_FIELD(mem_free), BST_FIELD(mem_available),
	BST_FIELD(disk_caches), BST_FIELD(swap_in), BST_FIELD(swap_out),
	BST_FIELD(major_faults), BST_FIELD(minor_faults), BST_FIELD(oom_kills),
	BST_FIELD(hugetlb_allocs), BST_FIELD(hugetlb_failures),
	BST_FIELD(pressure_deflated), BST_FIELD(pressure_events),
};

static uint64_t bst_get(const struct vcma_balloon_stats_result_h *s, unsigned int i)
{
	uint64_t v;

	memcpy(&v, (const char *)s + bst_fields[i].off, sizeof(v));
	return v;
}

uint64_t *vcma_bst_counter(struct vcma_balloon_stats_result_h *s, unsigned int i)
{
	if (i >= VCMA_BST_NR_COUNTERS)
		return NULL;
	return (uint64_t *)(void *)((char *)s + bst_fields[i].off);
}

const char *vcma_bst_counter_name(unsigned int i)
{
	return i < VCMA_BST_NR_COUNTERS ? bst_fields[i].name : "?";
}

/*
 * A counter the guest could not read is zero, so that nobody reads meaning
 * into it; so are the node fields without VCMA_BST_NODES and the entries
 * past nr_nodes. Free memory cannot exceed the total.
 */
static int check_balloon_stats_result(const struct vcma_balloon_stats_result_h *s)
{
	const uint32_t both = VCMA_BST_MEM_TOTAL | VCMA_BST_MEM_FREE;

	if (s->valid & ~VCMA_BST_KNOWN)
		return VCMA_CERR_VALUE;
	for (unsigned int i = 0; i < VCMA_BST_NR_COUNTERS; i++) {
		if (!(s->valid & (1u << i)) && bst_get(s, i))
			return VCMA_CERR_VALUE;
	}
	if ((s->valid & both) == both && s->mem_free > s->mem_total)
		return VCMA_CERR_VALUE;
	if (s->actual_bytes % MIN_PAGE_SIZE)
		return VCMA_CERR_VALUE;
	if (s->nr_nodes > VCMA_STATS_MAX_NODES || s->chunk_order > VCMA_ORDER_MAX)
		return VCMA_CERR_VALUE;
	if (!(s->valid & VCMA_BST_NODES) && (s->nr_nodes || s->chunk_order))
		return VCMA_CERR_VALUE;
	for (unsigned int i = s->nr_nodes; i < VCMA_STATS_MAX_NODES; i++) {
		if (s->chunks_by_node[i])
			return VCMA_CERR_VALUE;
	}
	return VCMA_CERR_OK;
}

/* Header-level rules of a host-side message (the encoder's view of vcma_hdr). */
static int check_header(uint8_t version, uint8_t type, uint16_t flags)
{
	const struct type_info *ti = type_info(type);

	if (version < VCMA_PROTO_MIN || version > VCMA_PROTO_MAX)
		return VCMA_CERR_VERSION;
	if (!ti)
		return VCMA_CERR_TYPE;
	/* HELLO must be readable before any version is agreed. */
	if (type == VCMA_MSG_HELLO && version != VCMA_PROTO_V1)
		return VCMA_CERR_VERSION;
	if (flags & ~VCMA_HDR_F_KNOWN)
		return VCMA_CERR_FLAGS;
	if ((flags & VCMA_HDR_F_MORE) && !ti->may_continue)
		return VCMA_CERR_FLAGS;
	return VCMA_CERR_OK;
}

static int msg_check(const struct vcma_msg *m)
{
	int rc = check_header(m->version, m->type, m->flags);

	if (rc)
		return rc;
	switch (m->type) {
	case VCMA_MSG_HELLO:
		return check_hello(&m->u.hello);
	case VCMA_MSG_RESERVE:
		return check_reserve(&m->u.reserve);
	case VCMA_MSG_RESERVE_RESULT:
		return check_reserve_result(&m->u.reserve_result);
	case VCMA_MSG_RELEASE:
		return m->u.release.grant_id ? VCMA_CERR_OK : VCMA_CERR_VALUE;
	case VCMA_MSG_RELEASE_RESULT:
		return check_release_result(&m->u.release_result);
	case VCMA_MSG_BALLOON_SET:
		if (m->u.balloon_set.chunk_order > VCMA_ORDER_MAX ||
		    m->u.balloon_set.target_bytes %
		    min_chunk(m->u.balloon_set.chunk_order))
			return VCMA_CERR_VALUE;
		return VCMA_CERR_OK;
	case VCMA_MSG_BALLOON_REPORT:
		return check_balloon_report(&m->u.balloon_report);
	case VCMA_MSG_STATUS_RESULT:
		return check_status_result(&m->u.status_result);
	case VCMA_MSG_EVENT:
		return m->u.event.kind >= 1 && m->u.event.kind <= VCMA_EV_MAX ?
			VCMA_CERR_OK : VCMA_CERR_VALUE;
	case VCMA_MSG_BALLOON_STATS_RESULT:
		return check_balloon_stats_result(&m->u.balloon_stats_result);
	case VCMA_MSG_ERROR:
		if (m->u.error.status == VCMA_OK ||
		    m->u.error.status > VCMA_STATUS_MAX ||
		    m->u.error.ref_type > VCMA_MSG_TYPE_MAX ||
		    !str_ok(m->u.error.message, sizeof(m->u.error.message) - 1))
			return VCMA_CERR_VALUE;
		return VCMA_CERR_OK;
	default:	/* STATUS, BALLOON_STATS, PING, PONG: no payload */
		return VCMA_CERR_OK;
	}
}

/* Entries of the variable array of m (0 for fixed-size types). */
static uint32_t msg_count(const struct vcma_msg *m)
{
	switch (m->type) {
	case VCMA_MSG_HELLO:
		return m->u.hello.nr_ranges;
	case VCMA_MSG_BALLOON_REPORT:
		return m->u.balloon_report.nr_chunks;
	case VCMA_MSG_STATUS_RESULT:
		return m->u.status_result.nr_grants;
	default:
		return 0;
	}
}

/* Bytes per array entry of m: STATUS_RESULT entries grow with the holders. */
static uint32_t msg_entry(const struct vcma_msg *m)
{
	if (m->type == VCMA_MSG_STATUS_RESULT && m->u.status_result.holders)
		return VCMA_GRANT_INFO_EXT_LEN;
	return types[m->type].entry;
}

/* Bytes of the capability extension m carries (0 for the base form). */
static uint32_t msg_ext(const struct vcma_msg *m)
{
	if (m->type == VCMA_MSG_RESERVE && m->u.reserve.max_addr)
		return type_ext[VCMA_MSG_RESERVE];
	if (m->type == VCMA_MSG_RELEASE_RESULT &&
	    m->u.release_result.status == VCMA_E_CLAIMED)
		return type_ext[VCMA_MSG_RELEASE_RESULT];
	return 0;
}

/* ---- encode ----------------------------------------------------------- */

void vcma_msg_init(struct vcma_msg *m, uint8_t type, uint64_t id)
{
	memset(m, 0, sizeof(*m));
	m->version = VCMA_PROTO_V1;
	m->type = type;
	m->id = id;
}

int vcma_encoded_size(const struct vcma_msg *m)
{
	int rc = msg_check(m);
	const struct type_info *ti;

	if (rc)
		return rc;
	ti = type_info(m->type);
	if (!ti)	/* msg_check knows better; keeps analyzers convinced */
		return VCMA_CERR_TYPE;
	/* msg_check bounded the count, so this stays far below INT_MAX. */
	return (int)(HDR_LEN + ti->fixed + msg_ext(m) +
		     (uint64_t)msg_count(m) * msg_entry(m));
}

static void enc_hello(struct wcur *w, const struct vcma_hello_h *h)
{
	put16(w, h->proto_min);
	put16(w, h->proto_max);
	put8(w, h->role);
	put8(w, h->pageblock_order);
	put8(w, h->max_order);
	put_zero(w, 1);
	put64(w, h->caps);
	put32(w, h->page_size);
	put32(w, h->nr_ranges);
	put_bytes(w, h->boot_id, sizeof(h->boot_id));
	put64(w, h->mem_total);
	put64(w, h->mem_free);
	put64(w, h->mem_movable);
	put_str(w, h->software, VCMA_NAME_LEN);
	for (uint32_t i = 0; i < h->nr_ranges; i++) {
		put64(w, h->ranges[i].gpa);
		put64(w, h->ranges[i].size);
		put32(w, h->ranges[i].node);
		put8(w, h->ranges[i].zone);
		put_zero(w, 3);
	}
}

static void enc_evidence(struct wcur *w, const struct vcma_evidence_h *e)
{
	put32(w, e->ranges_scanned);
	put32(w, e->ranges_tried);
	put32(w, e->pages_migrated);
	put32(w, e->pinned_met);
	put32(w, e->bh_invalidations);
	put32(w, e->retries);
	put64(w, e->elapsed_us);
	put32(w, e->cause);
	put_zero(w, 4);
}

static void enc_balloon_stats(struct wcur *w, const struct vcma_balloon_stats_result_h *s)
{
	put32(w, s->valid);
	put8(w, s->chunk_order);
	put8(w, s->nr_nodes);
	put_zero(w, 2);
	put64(w, s->actual_bytes);
	for (unsigned int i = 0; i < VCMA_BST_NR_COUNTERS; i++)
		put64(w, bst_get(s, i));
	for (unsigned int i = 0; i < VCMA_STATS_MAX_NODES; i++)
		put32(w, s->chunks_by_node[i]);
}

static void enc_payload(struct wcur *w, const struct vcma_msg *m)
{
	const struct vcma_reserve_h *rv = &m->u.reserve;
	const struct vcma_reserve_result_h *rr = &m->u.reserve_result;
	const struct vcma_balloon_report_h *br = &m->u.balloon_report;
	const struct vcma_status_result_h *sr = &m->u.status_result;

	switch (m->type) {
	case VCMA_MSG_HELLO:
		enc_hello(w, &m->u.hello);
		break;
	case VCMA_MSG_RESERVE:
		put64(w, rv->size);
		put64(w, rv->align);
		put64(w, rv->tag);
		put32(w, rv->node);
		put32(w, rv->flags);
		put32(w, rv->deadline_ms);
		put_zero(w, 4);
		put_str(w, rv->label, VCMA_NAME_LEN);
		if (rv->max_addr)
			put64(w, rv->max_addr);
		break;
	case VCMA_MSG_RESERVE_RESULT:
		put32(w, rr->status);
		put_zero(w, 4);
		put64(w, rr->grant_id);
		put64(w, rr->gpa);
		put64(w, rr->size);
		put64(w, rr->tag);
		enc_evidence(w, &rr->ev);
		break;
	case VCMA_MSG_RELEASE:
		put64(w, m->u.release.grant_id);
		break;
	case VCMA_MSG_RELEASE_RESULT:
		put32(w, m->u.release_result.status);
		put_zero(w, 4);
		put64(w, m->u.release_result.grant_id);
		if (m->u.release_result.status == VCMA_E_CLAIMED)
			put_str(w, m->u.release_result.holder, VCMA_HOLDER_LEN);
		break;
	case VCMA_MSG_BALLOON_SET:
		put64(w, m->u.balloon_set.target_bytes);
		put8(w, m->u.balloon_set.chunk_order);
		put_zero(w, 7);
		break;
	case VCMA_MSG_BALLOON_REPORT:
		put64(w, br->target_bytes);
		put64(w, br->actual_bytes);
		put32(w, br->status);
		put8(w, br->chunk_order);
		put8(w, br->direction);
		put16(w, br->nr_chunks);
		for (uint32_t i = 0; i < br->nr_chunks; i++)
			put64(w, br->chunks[i]);
		break;
	case VCMA_MSG_STATUS_RESULT:
		put64(w, sr->mem_total);
		put64(w, sr->mem_free);
		put64(w, sr->mem_available);
		put64(w, sr->balloon_bytes);
		put64(w, sr->grant_bytes);
		put64(w, sr->reserve_ok);
		put64(w, sr->reserve_fail);
		put32(w, sr->floor_pages);
		put32(w, sr->nr_grants);
		put_bytes(w, sr->boot_id, sizeof(sr->boot_id));
		for (uint32_t i = 0; i < sr->nr_grants; i++) {
			put64(w, sr->grants[i].grant_id);
			put64(w, sr->grants[i].gpa);
			put64(w, sr->grants[i].size);
			put64(w, sr->grants[i].tag);
			put_str(w, sr->grants[i].label, VCMA_NAME_LEN);
			if (!sr->holders)
				continue;
			put32(w, sr->grants[i].flags);
			put_zero(w, 4);
			put_str(w, sr->grants[i].holder, VCMA_HOLDER_LEN);
		}
		break;
	case VCMA_MSG_EVENT:
		put32(w, m->u.event.kind);
		put_zero(w, 4);
		put64(w, m->u.event.arg0);
		put64(w, m->u.event.arg1);
		break;
	case VCMA_MSG_ERROR:
		put32(w, m->u.error.status);
		put8(w, m->u.error.ref_type);
		put_zero(w, 3);
		put_str(w, m->u.error.message, sizeof(m->u.error.message) - 1);
		break;
	case VCMA_MSG_BALLOON_STATS_RESULT:
		enc_balloon_stats(w, &m->u.balloon_stats_result);
		break;
	default:
		break;
	}
}

int vcma_encode(const struct vcma_msg *m, uint8_t *buf, size_t cap)
{
	int size = vcma_encoded_size(m);
	struct wcur w = { buf, 0, 0, false };

	if (size < 0)
		return size;
	if (!buf || cap < (size_t)size)
		return VCMA_CERR_NOSPACE;
	w.len = (size_t)size;
	put32(&w, VCMA_MAGIC);
	put8(&w, m->version);
	put8(&w, m->type);
	put16(&w, m->flags);
	put32(&w, (uint32_t)size - HDR_LEN);
	put32(&w, 0);
	put64(&w, m->id);
	enc_payload(&w, m);
	/* The layout tables and the writers disagree: a codec bug, not the caller's. */
	if (w.overflow || w.pos != (size_t)size)
		return VCMA_CERR_LENGTH;
	return size;
}

/* ---- decode ----------------------------------------------------------- */

struct wire_hdr {
	uint8_t version, type;
	uint16_t flags;
	uint32_t payload_len;
	uint64_t id;
};

static const uint8_t magic_bytes[4] = { 'V', 'C', 'M', 'A' };

/*
 * Everything that can be judged from the header alone. With fewer than
 * HDR_LEN bytes only the magic prefix can be judged. Returns VCMA_CERR_OK
 * with *h filled, VCMA_CERR_SHORT, or the header's error.
 */
static int decode_hdr(const uint8_t *buf, size_t len, struct wire_hdr *h)
{
	struct rcur r = { buf, 0, HDR_LEN, 0 };
	const struct type_info *ti;
	uint32_t reserved;
	int rc;

	if (memcmp(buf, magic_bytes, len < 4 ? len : 4) != 0)
		return VCMA_CERR_MAGIC;
	if (len < HDR_LEN)
		return VCMA_CERR_SHORT;
	get32(&r);
	h->version = get8(&r);
	h->type = get8(&r);
	h->flags = get16(&r);
	h->payload_len = get32(&r);
	reserved = get32(&r);
	h->id = get64(&r);
	rc = check_header(h->version, h->type, h->flags);
	if (rc)
		return rc;
	if (reserved)
		return VCMA_CERR_RESERVED;
	if (h->payload_len > VCMA_MAX_PAYLOAD)
		return VCMA_CERR_TOOBIG;
	ti = type_info(h->type);
	if (ti->entry ? h->payload_len < ti->fixed :
	    h->payload_len != ti->fixed &&
	    !(type_ext[h->type] && h->payload_len == ti->fixed + type_ext[h->type]))
		return VCMA_CERR_LENGTH;
	return VCMA_CERR_OK;
}

/* The array count must fit its maximum and fill the rest of the payload exactly. */
static int check_count(const struct type_info *ti, uint32_t payload_len,
		       uint32_t count)
{
	if (count > ti->max_entries)
		return VCMA_CERR_COUNT;
	if ((uint64_t)payload_len - ti->fixed != (uint64_t)count * ti->entry)
		return VCMA_CERR_COUNT;
	return VCMA_CERR_OK;
}

/*
 * STATUS_RESULT entries are 64 bytes, or 120 with holders: the count must
 * fill the rest of the payload exactly with one of the two, which says
 * which. Without grants there is nothing to tell apart.
 */
static int check_grant_count(size_t payload_len, struct vcma_status_result_h *sr)
{
	const struct type_info *ti = &types[VCMA_MSG_STATUS_RESULT];
	uint64_t rest = (uint64_t)payload_len - ti->fixed;

	if (sr->nr_grants > ti->max_entries)
		return VCMA_CERR_COUNT;
	sr->holders = 0;
	if (rest == (uint64_t)sr->nr_grants * ti->entry)
		return VCMA_CERR_OK;
	if (rest == (uint64_t)sr->nr_grants * VCMA_GRANT_INFO_EXT_LEN) {
		sr->holders = 1;
		return VCMA_CERR_OK;
	}
	return VCMA_CERR_COUNT;
}

static void dec_hello(struct rcur *r, struct vcma_hello_h *h)
{
	h->proto_min = get16(r);
	h->proto_max = get16(r);
	h->role = get8(r);
	h->pageblock_order = get8(r);
	h->max_order = get8(r);
	get_zero(r, 1);
	h->caps = get64(r);
	h->page_size = get32(r);
	h->nr_ranges = get32(r);
	get_bytes(r, h->boot_id, sizeof(h->boot_id));
	h->mem_total = get64(r);
	h->mem_free = get64(r);
	h->mem_movable = get64(r);
	get_str(r, h->software, VCMA_NAME_LEN);
	if (!r->err)
		r->err = check_count(&types[VCMA_MSG_HELLO], (uint32_t)r->len,
				     h->nr_ranges);
	for (uint32_t i = 0; !r->err && i < h->nr_ranges; i++) {
		h->ranges[i].gpa = get64(r);
		h->ranges[i].size = get64(r);
		h->ranges[i].node = get32(r);
		h->ranges[i].zone = get8(r);
		get_zero(r, 3);
	}
}

static void dec_evidence(struct rcur *r, struct vcma_evidence_h *e)
{
	e->ranges_scanned = get32(r);
	e->ranges_tried = get32(r);
	e->pages_migrated = get32(r);
	e->pinned_met = get32(r);
	e->bh_invalidations = get32(r);
	e->retries = get32(r);
	e->elapsed_us = get64(r);
	e->cause = get32(r);
	get_zero(r, 4);
}

static void dec_balloon_stats(struct rcur *r, struct vcma_balloon_stats_result_h *s)
{
	s->valid = get32(r);
	s->chunk_order = get8(r);
	s->nr_nodes = get8(r);
	get_zero(r, 2);
	s->actual_bytes = get64(r);
	for (unsigned int i = 0; i < VCMA_BST_NR_COUNTERS; i++)
		*vcma_bst_counter(s, i) = get64(r);
	for (unsigned int i = 0; i < VCMA_STATS_MAX_NODES; i++)
		s->chunks_by_node[i] = get32(r);
}

static void dec_payload(struct rcur *r, struct vcma_msg *m)
{
	struct vcma_reserve_h *rv = &m->u.reserve;
	struct vcma_reserve_result_h *rr = &m->u.reserve_result;
	struct vcma_balloon_report_h *br = &m->u.balloon_report;
	struct vcma_status_result_h *sr = &m->u.status_result;

	switch (m->type) {
	case VCMA_MSG_HELLO:
		dec_hello(r, &m->u.hello);
		break;
	case VCMA_MSG_RESERVE:
		rv->size = get64(r);
		rv->align = get64(r);
		rv->tag = get64(r);
		rv->node = get32(r);
		rv->flags = get32(r);
		rv->deadline_ms = get32(r);
		get_zero(r, 4);
		get_str(r, rv->label, VCMA_NAME_LEN);
		/* The long form exists only to carry a limit: zero there is invalid. */
		if (r->len > VCMA_RESERVE_BASE_LEN) {
			rv->max_addr = get64(r);
			if (!rv->max_addr && !r->err)
				r->err = VCMA_CERR_VALUE;
		}
		break;
	case VCMA_MSG_RESERVE_RESULT:
		rr->status = get32(r);
		get_zero(r, 4);
		rr->grant_id = get64(r);
		rr->gpa = get64(r);
		rr->size = get64(r);
		rr->tag = get64(r);
		dec_evidence(r, &rr->ev);
		break;
	case VCMA_MSG_RELEASE:
		m->u.release.grant_id = get64(r);
		break;
	case VCMA_MSG_RELEASE_RESULT:
		m->u.release_result.status = get32(r);
		get_zero(r, 4);
		m->u.release_result.grant_id = get64(r);
		/* The long form is E_CLAIMED's and carries the holder; msg_check pairs the two. */
		if (r->len > VCMA_RELEASE_RESULT_BASE_LEN) {
			get_str(r, m->u.release_result.holder, VCMA_HOLDER_LEN);
			if (m->u.release_result.status != VCMA_E_CLAIMED && !r->err)
				r->err = VCMA_CERR_VALUE;
		}
		break;
	case VCMA_MSG_BALLOON_SET:
		m->u.balloon_set.target_bytes = get64(r);
		m->u.balloon_set.chunk_order = get8(r);
		get_zero(r, 7);
		break;
	case VCMA_MSG_BALLOON_REPORT:
		br->target_bytes = get64(r);
		br->actual_bytes = get64(r);
		br->status = get32(r);
		br->chunk_order = get8(r);
		br->direction = get8(r);
		br->nr_chunks = get16(r);
		if (!r->err)
			r->err = check_count(&types[VCMA_MSG_BALLOON_REPORT],
					     (uint32_t)r->len, br->nr_chunks);
		for (uint32_t i = 0; !r->err && i < br->nr_chunks; i++)
			br->chunks[i] = get64(r);
		break;
	case VCMA_MSG_STATUS_RESULT:
		sr->mem_total = get64(r);
		sr->mem_free = get64(r);
		sr->mem_available = get64(r);
		sr->balloon_bytes = get64(r);
		sr->grant_bytes = get64(r);
		sr->reserve_ok = get64(r);
		sr->reserve_fail = get64(r);
		sr->floor_pages = get32(r);
		sr->nr_grants = get32(r);
		get_bytes(r, sr->boot_id, sizeof(sr->boot_id));
		if (!r->err)
			r->err = check_grant_count(r->len, sr);
		for (uint32_t i = 0; !r->err && i < sr->nr_grants; i++) {
			struct vcma_grant_info_h *g = &sr->grants[i];

			g->grant_id = get64(r);
			g->gpa = get64(r);
			g->size = get64(r);
			g->tag = get64(r);
			get_str(r, g->label, VCMA_NAME_LEN);
			g->flags = 0;
			g->holder[0] = '\0';
			if (!sr->holders)
				continue;
			g->flags = get32(r);
			get_zero(r, 4);
			get_str(r, g->holder, VCMA_HOLDER_LEN);
		}
		break;
	case VCMA_MSG_EVENT:
		m->u.event.kind = get32(r);
		get_zero(r, 4);
		m->u.event.arg0 = get64(r);
		m->u.event.arg1 = get64(r);
		break;
	case VCMA_MSG_ERROR:
		m->u.error.status = get32(r);
		m->u.error.ref_type = get8(r);
		get_zero(r, 3);
		get_str(r, m->u.error.message, sizeof(m->u.error.message) - 1);
		break;
	case VCMA_MSG_BALLOON_STATS_RESULT:
		dec_balloon_stats(r, &m->u.balloon_stats_result);
		break;
	default:
		break;
	}
}

/*
 * Zero what a decode of this type fills in, but not the arrays beyond their
 * count: a 30 KiB memset per frame would dominate small frames, and entries
 * past the count are not part of the message.
 */
static void clear_fixed(struct vcma_msg *m)
{
	size_t n;

	switch (m->type) {
	case VCMA_MSG_HELLO:
		n = offsetof(struct vcma_hello_h, ranges);
		break;
	case VCMA_MSG_BALLOON_REPORT:
		n = offsetof(struct vcma_balloon_report_h, chunks);
		break;
	case VCMA_MSG_STATUS_RESULT:
		n = offsetof(struct vcma_status_result_h, grants);
		break;
	case VCMA_MSG_BALLOON_STATS_RESULT:
		n = sizeof(struct vcma_balloon_stats_result_h);
		break;
	default:	/* every other member is smaller than the largest of these */
		n = sizeof(struct vcma_reserve_result_h);
		if (n < sizeof(struct vcma_reserve_h))
			n = sizeof(struct vcma_reserve_h);
		if (n < sizeof(struct vcma_release_result_h))
			n = sizeof(struct vcma_release_result_h);
		if (n < sizeof(struct vcma_error_h))
			n = sizeof(struct vcma_error_h);
		break;
	}
	memset(&m->u, 0, n);
}

int vcma_decode(const uint8_t *buf, size_t len, struct vcma_msg *m)
{
	struct wire_hdr h;
	struct rcur r;
	int rc;

	if (!buf || !len)
		return VCMA_CERR_SHORT;
	rc = decode_hdr(buf, len, &h);
	if (rc)
		return rc;
	if (len - HDR_LEN < h.payload_len)
		return VCMA_CERR_SHORT;

	m->version = h.version;
	m->type = h.type;
	m->flags = h.flags;
	m->id = h.id;
	clear_fixed(m);
	r = (struct rcur){ buf + HDR_LEN, 0, h.payload_len, 0 };
	dec_payload(&r, m);
	if (r.err)
		return r.err;
	if (r.pos != r.len)	/* the layout tables and the decoders disagree */
		return VCMA_CERR_LENGTH;
	rc = msg_check(m);
	if (rc)
		return rc;
	return (int)(HDR_LEN + h.payload_len);
}

/* ---- names ------------------------------------------------------------ */

const char *vcma_codec_strerror(int err)
{
	static const char *const msgs[] = {
		[0] = "ok",
		[1] = "frame incomplete",
		[2] = "bad magic",
		[3] = "unsupported protocol version",
		[4] = "unknown message type",
		[5] = "unknown or misplaced header flag",
		[6] = "reserved field not zero",
		[7] = "payload larger than the maximum",
		[8] = "payload length wrong for the message type",
		[9] = "array count over its maximum or not matching the payload",
		[10] = "field value out of range",
		[11] = "output buffer too small",
		[12] = "out of memory",
	};

	if (err > 0 || -err >= (int)(sizeof(msgs) / sizeof(msgs[0])))
		return "unknown codec error";
	return msgs[-err];
}

const char *vcma_msg_type_name(unsigned int type)
{
	const struct type_info *ti = type_info(type);

	return ti ? ti->name : "?";
}

const char *vcma_status_name(unsigned int status)
{
	static const char *const names[VCMA_STATUS_MAX + 1] = {
		"OK", "E_INVAL", "E_NOSPC", "E_BUSY", "E_TIMEOUT", "E_FLOOR",
		"E_NOENT", "E_PROTO", "E_UNSUPPORTED", "E_INTERNAL", "E_AGAIN",
		"E_NODEV", "E_CLAIMED",
	};

	return status <= VCMA_STATUS_MAX ? names[status] : "?";
}

const char *vcma_cause_name(unsigned int cause)
{
	static const char *const names[VCMA_CAUSE_MAX + 1] = {
		"none", "unmovable", "pinned", "pagevec", "bh_lru", "writeback",
		"no_range", "floor", "deadline", "migrate", "limit", "addr_limit",
	};

	return cause <= VCMA_CAUSE_MAX ? names[cause] : "?";
}

/* ---- negotiation ------------------------------------------------------ */

int vcma_negotiate(uint16_t our_min, uint16_t our_max,
		   uint16_t their_min, uint16_t their_max)
{
	uint16_t lo = our_min > their_min ? our_min : their_min;
	uint16_t hi = our_max < their_max ? our_max : their_max;

	if (our_min < 1 || their_min < 1 || our_min > our_max ||
	    their_min > their_max || lo > hi)
		return -1;
	return hi;
}

uint64_t vcma_caps_common(uint64_t ours, uint64_t theirs)
{
	return ours & theirs & VCMA_CAP_KNOWN;
}

/* ---- stream reassembler ---------------------------------------------- */

struct vcma_reasm {
	uint8_t *buf;
	size_t cap;
	size_t start, end;	/* buffered bytes are buf[start, end) */
	struct vcma_reasm_stats st;
};

#define MAX_FRAME	((size_t)HDR_LEN + VCMA_MAX_PAYLOAD)

struct vcma_reasm *vcma_reasm_new(size_t max_buffer)
{
	struct vcma_reasm *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	/* Below one maximal frame a valid stream could wedge forever. */
	r->cap = max_buffer < MAX_FRAME ? MAX_FRAME : max_buffer;
	r->buf = malloc(r->cap);
	if (!r->buf) {
		free(r);
		return NULL;
	}
	return r;
}

void vcma_reasm_free(struct vcma_reasm *r)
{
	if (!r)
		return;
	free(r->buf);
	free(r);
}

size_t vcma_reasm_buffered(const struct vcma_reasm *r)
{
	return r->end - r->start;
}

size_t vcma_reasm_space(const struct vcma_reasm *r)
{
	return r->cap - vcma_reasm_buffered(r);
}

void vcma_reasm_reset(struct vcma_reasm *r)
{
	r->start = r->end = 0;
	memset(&r->st, 0, sizeof(r->st));
}

void vcma_reasm_stats(const struct vcma_reasm *r, struct vcma_reasm_stats *out)
{
	*out = r->st;
}

int vcma_reasm_feed(struct vcma_reasm *r, const void *data, size_t len)
{
	if (len > vcma_reasm_space(r))
		return VCMA_CERR_NOSPACE;
	if (!len)
		return 0;
	if (r->cap - r->end < len) {
		memmove(r->buf, r->buf + r->start, r->end - r->start);
		r->end -= r->start;
		r->start = 0;
	}
	memcpy(r->buf + r->end, data, len);
	r->end += len;
	return 0;
}

static void reasm_drop(struct vcma_reasm *r, size_t n, bool discarded)
{
	r->start += n;
	if (r->start == r->end)
		r->start = r->end = 0;
	if (discarded)
		r->st.bytes_discarded += n;
}

/*
 * Offset of the first place a frame could start: a full magic, or a magic
 * prefix running up to the end of the buffer. len if there is none.
 */
static size_t magic_scan(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		const uint8_t *v = memchr(p + i, magic_bytes[0], len - i);
		size_t n;

		if (!v)
			return len;
		i = (size_t)(v - p);
		n = len - i < 4 ? len - i : 4;
		if (memcmp(v, magic_bytes, n) == 0)
			return i;
	}
	return len;
}

int vcma_reasm_next(struct vcma_reasm *r, struct vcma_msg *m)
{
	for (;;) {
		const uint8_t *p = r->buf + r->start;
		size_t avail = r->end - r->start;
		size_t skip = magic_scan(p, avail);
		struct wire_hdr h;
		int rc;

		/*
		 * Garbage is counted, not reported: how many calls it takes to
		 * skip it depends only on how the bytes were chunked.
		 */
		if (skip) {
			reasm_drop(r, skip, true);
			continue;
		}
		if (avail < HDR_LEN)
			return 0;
		rc = decode_hdr(p, avail, &h);
		if (rc) {
			/* The header is suspect, so is its length: step past this magic only. */
			reasm_drop(r, 1, true);
			r->st.bad_frames++;
			r->st.last_error = rc;
			return rc;
		}
		if (avail - HDR_LEN < h.payload_len)
			return 0;
		rc = vcma_decode(p, avail, m);
		if (rc < 0) {
			/* A sound header frames the bad payload: skip it whole. */
			reasm_drop(r, HDR_LEN + h.payload_len, true);
			r->st.bad_frames++;
			r->st.last_error = rc;
			return rc;
		}
		reasm_drop(r, (size_t)rc, false);
		r->st.frames++;
		return 1;
	}
}
