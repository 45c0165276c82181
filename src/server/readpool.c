/* Reader threads, each with its own read-only database connection. */
#include "server/readpool.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "hbmon/error.h"

#define THREADS_MAX 16

struct readpool {
	char data_dir[4096];
	pthread_mutex_t lock; /* guards the queue and stopping */
	pthread_cond_t wake;
	struct readpool_job *head, **tail;
	bool stopping;
	unsigned n_threads;
	pthread_t threads[THREADS_MAX];
};

static void *
reader_main(void *arg)
{
	struct readpool *p = arg;
	struct store *reader = NULL;
	bool warned = false;

	pthread_mutex_lock(&p->lock);
	for (;;) {
		struct readpool_job *job;

		while (p->head == NULL && !p->stopping) {
			pthread_cond_wait(&p->wake, &p->lock);
		}
		if (p->head == NULL) {
			break; /* stopping, and nothing left */
		}
		job = p->head;
		p->head = job->next;
		if (p->head == NULL) {
			p->tail = &p->head;
		}
		pthread_mutex_unlock(&p->lock);
		if (reader == NULL) {
			char why[512];
			if (store_open_reader(p->data_dir, &reader, why,
			                      sizeof(why)) != HBMON_OK) {
				reader = NULL;
				if (!warned) {
					log_warn("admin reads cannot open the "
					         "database",
					         "why=%s", why);
					warned = true;
				}
			}
		}
		job->run(job, reader);
		pthread_mutex_lock(&p->lock);
	}
	pthread_mutex_unlock(&p->lock);
	store_close(reader);
	return NULL;
}

int
readpool_start(const char *data_dir, unsigned threads, struct readpool **out)
{
	struct readpool *p = calloc(1, sizeof(*p));

	if (p == NULL) {
		return HBMON_ENOMEM;
	}
	snprintf(p->data_dir, sizeof(p->data_dir), "%s", data_dir);
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->wake, NULL);
	p->tail = &p->head;
	if (threads < 1) {
		threads = 1;
	}
	if (threads > THREADS_MAX) {
		threads = THREADS_MAX;
	}
	for (; p->n_threads < threads; p->n_threads++) {
		if (pthread_create(&p->threads[p->n_threads], NULL, reader_main,
		                   p) != 0) {
			break;
		}
	}
	if (p->n_threads == 0) {
		pthread_cond_destroy(&p->wake);
		pthread_mutex_destroy(&p->lock);
		free(p);
		return HBMON_ENOMEM;
	}
	*out = p;
	return HBMON_OK;
}

int
readpool_submit(struct readpool *p, struct readpool_job *job)
{
	pthread_mutex_lock(&p->lock);
	if (p->stopping) {
		pthread_mutex_unlock(&p->lock);
		return HBMON_ECLOSED;
	}
	job->next = NULL;
	*p->tail = job;
	p->tail = &job->next;
	pthread_cond_signal(&p->wake);
	pthread_mutex_unlock(&p->lock);
	return HBMON_OK;
}

void
readpool_stop(struct readpool *p)
{
	if (p == NULL) {
		return;
	}
	pthread_mutex_lock(&p->lock);
	p->stopping = true;
	pthread_cond_broadcast(&p->wake);
	pthread_mutex_unlock(&p->lock);
	for (unsigned i = 0; i < p->n_threads; i++) {
		pthread_join(p->threads[i], NULL);
	}
	pthread_cond_destroy(&p->wake);
	pthread_mutex_destroy(&p->lock);
	free(p);
}
