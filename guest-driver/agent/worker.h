/* SPDX-License-Identifier: MIT */
/*
 * The agent's worker thread: runs the request handler (and so the backend,
 * whose ioctls block until a RESERVE's deadline) off the event loop. Jobs run
 * one at a time in submission order; finished jobs come back through a pipe
 * that the loop watches, so the loop never blocks on the backend and can keep
 * answering PING while a long reservation runs.
 */
#ifndef VCMA_AGENT_WORKER_H
#define VCMA_AGENT_WORKER_H

#include <stdint.h>

#include "handler.h"

enum agent_job_kind {
	AGENT_JOB_MSG,		/* answer msg */
	AGENT_JOB_HELLO,	/* produce the guest HELLO */
	AGENT_JOB_TICK,		/* let simulated time pass */
	AGENT_JOB_PRESSURE,	/* report chunks given back under memory pressure */
};

struct agent_job {
	struct agent_job *next;
	enum agent_job_kind kind;
	uint64_t conn_gen;	/* connection the answer belongs to */
	struct vcma_msg *msg;	/* AGENT_JOB_MSG, owned by the job */
	struct agent_out out;	/* filled by the worker */
	int ret;		/* handler result */
};

struct agent_worker;

/* max_pending bounds the queue; NULL if the thread cannot start. */
struct agent_worker *agent_worker_new(struct agent_handler *h, struct agent_backend *be,
				      unsigned int max_pending);
/* Waits for the job in progress, drops queued jobs, joins the thread. */
void agent_worker_free(struct agent_worker *w);

/* Takes ownership of job on success; -EBUSY if the queue is full. */
int agent_worker_submit(struct agent_worker *w, struct agent_job *job);
/* Readable when finished jobs wait; watch it in the loop. */
int agent_worker_fd(const struct agent_worker *w);
/* Detach the list of finished jobs (oldest first), NULL if none. */
struct agent_job *agent_worker_take_done(struct agent_worker *w);
unsigned int agent_worker_pending(struct agent_worker *w);

struct agent_job *agent_job_new(enum agent_job_kind kind, uint64_t conn_gen,
				const struct vcma_msg *msg);
void agent_job_free(struct agent_job *job);

#endif /* VCMA_AGENT_WORKER_H */
