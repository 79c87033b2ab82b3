// SPDX-License-Identifier: MIT
/*
 * Worker thread (see worker.h). Locking: `lock` protects both queues and
 * `stop`; the handler and backend are touched only by the worker thread
 * while it runs. The pipe carries no data, only wake-ups: the loop drains it
 * and then takes the whole done list under the lock.
 */
#include "worker.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct agent_worker {
	struct agent_handler *h;
	struct agent_backend *be;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct agent_job *todo, *todo_tail;
	struct agent_job *done, *done_tail;
	unsigned int pending, max_pending;
	bool stop;
	int pipe[2];
};

struct agent_job *agent_job_new(enum agent_job_kind kind, uint64_t conn_gen,
				const struct vcma_msg *msg)
{
	struct agent_job *job = calloc(1, sizeof(*job));

	if (!job)
		return NULL;
	job->kind = kind;
	job->conn_gen = conn_gen;
	if (msg) {
		job->msg = malloc(sizeof(*job->msg));
		if (!job->msg) {
			free(job);
			return NULL;
		}
		memcpy(job->msg, msg, sizeof(*msg));
	}
	return job;
}

void agent_job_free(struct agent_job *job)
{
	if (!job)
		return;
	free(job->msg);
	agent_out_free(&job->out);
	free(job);
}

static void run_job(struct agent_worker *w, struct agent_job *job)
{
	switch (job->kind) {
	case AGENT_JOB_MSG:
		job->ret = agent_handler_handle(w->h, job->msg, &job->out);
		break;
	case AGENT_JOB_HELLO:
		job->ret = agent_handler_hello(w->h, 0, &job->out);
		break;
	case AGENT_JOB_PRESSURE:
		job->ret = agent_handler_pressure(w->h, &job->out);
		break;
	case AGENT_JOB_TICK:
		if (w->be->ops->tick)
			w->be->ops->tick(w->be->priv);
		job->ret = 0;
		break;
	}
}

static void *worker_main(void *arg)
{
	struct agent_worker *w = arg;

	pthread_mutex_lock(&w->lock);
	for (;;) {
		struct agent_job *job;
		char one = 1;

		while (!w->todo && !w->stop)
			pthread_cond_wait(&w->cond, &w->lock);
		if (w->stop)
			break;
		job = w->todo;
		w->todo = job->next;
		if (!w->todo)
			w->todo_tail = NULL;
		job->next = NULL;
		pthread_mutex_unlock(&w->lock);

		run_job(w, job);

		pthread_mutex_lock(&w->lock);
		w->pending--;
		if (w->done_tail)
			w->done_tail->next = job;
		else
			w->done = job;
		w->done_tail = job;
		/* A full pipe already holds a wake-up; losing this byte is harmless. */
		if (write(w->pipe[1], &one, 1) < 0 && errno != EAGAIN)
			break;
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

struct agent_worker *agent_worker_new(struct agent_handler *h, struct agent_backend *be,
				      unsigned int max_pending)
{
	struct agent_worker *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	w->h = h;
	w->be = be;
	w->max_pending = max_pending;
	if (pipe2(w->pipe, O_CLOEXEC | O_NONBLOCK)) {
		free(w);
		return NULL;
	}
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	if (pthread_create(&w->thread, NULL, worker_main, w)) {
		close(w->pipe[0]);
		close(w->pipe[1]);
		pthread_cond_destroy(&w->cond);
		pthread_mutex_destroy(&w->lock);
		free(w);
		return NULL;
	}
	return w;
}

static void free_list(struct agent_job *job)
{
	while (job) {
		struct agent_job *next = job->next;

		agent_job_free(job);
		job = next;
	}
}

void agent_worker_free(struct agent_worker *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	w->stop = true;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	free_list(w->todo);
	free_list(w->done);
	close(w->pipe[0]);
	close(w->pipe[1]);
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->lock);
	free(w);
}

int agent_worker_submit(struct agent_worker *w, struct agent_job *job)
{
	int ret = 0;

	pthread_mutex_lock(&w->lock);
	if (w->pending >= w->max_pending) {
		ret = -EBUSY;
	} else {
		job->next = NULL;
		if (w->todo_tail)
			w->todo_tail->next = job;
		else
			w->todo = job;
		w->todo_tail = job;
		w->pending++;
		pthread_cond_signal(&w->cond);
	}
	pthread_mutex_unlock(&w->lock);
	return ret;
}

int agent_worker_fd(const struct agent_worker *w)
{
	return w->pipe[0];
}

struct agent_job *agent_worker_take_done(struct agent_worker *w)
{
	struct agent_job *list;
	char buf[64];

	while (read(w->pipe[0], buf, sizeof(buf)) > 0)
		;
	pthread_mutex_lock(&w->lock);
	list = w->done;
	w->done = w->done_tail = NULL;
	pthread_mutex_unlock(&w->lock);
	return list;
}

unsigned int agent_worker_pending(struct agent_worker *w)
{
	unsigned int n;

	pthread_mutex_lock(&w->lock);
	n = w->pending;
	pthread_mutex_unlock(&w->lock);
	return n;
}
