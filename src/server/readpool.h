/*
 * Reads off the writer (SPEC §3.5): a few threads, each with a read-only
 * connection of its own to the database, that run the Admin service's
 * reads beside the recorder (WAL lets readers run while it writes). So
 * `hbctl status`, `hbctl alerts` and notifiers catching up are answered
 * while the writer is busy, and while the disk is full or the database is
 * locked: nothing here needs to write. What a read needs from memory it
 * gets through recorder_read.
 *
 * Jobs run in the order they were queued, each on whichever thread is
 * free; a thread opens its connection on its first job and keeps it. A
 * read holds its connection's read transaction only while a statement
 * steps (store.c resets every statement before returning), so readers
 * never keep the WAL from being checkpointed.
 */
#ifndef HBMON_SERVER_READPOOL_H
#define HBMON_SERVER_READPOOL_H

#include <stddef.h>

#include "server/store.h"

struct readpool_job {
	/*
	 * Runs on a pool thread. reader: that thread's connection, or NULL
	 * when the database cannot be opened (the job then answers without
	 * it). May free the job.
	 */
	void (*run)(struct readpool_job *job, struct store *reader);
	struct readpool_job *next; /* the pool's */
};

struct readpool;

/*
 * Starts threads (at least 1) reading data_dir's database. Returns
 * HBMON_OK or HBMON_ENOMEM.
 */
int readpool_start(const char *data_dir, unsigned threads,
                   struct readpool **out);

/*
 * Queues job. Returns HBMON_OK, or HBMON_ECLOSED once readpool_stop has
 * begun (job is then not run). Thread-safe; never blocks.
 */
int readpool_submit(struct readpool *p, struct readpool_job *job);

/* Runs what is queued, stops the threads, closes the connections. NULL is
 * fine. */
void readpool_stop(struct readpool *p);

#endif
