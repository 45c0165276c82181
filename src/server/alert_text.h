/*
 * The words of the server's alerts: the one-line summary a person reads
 * on a phone (SPEC §3.4), for every kind the server raises. The engine
 * decides what an alert says — kind, state, subject, repeat and the facts
 * in its details — and this file words it from those alone, so:
 *
 *   - the summary never states a fact that is not also a field of the
 *     alert (a notifier that words alerts in another language has every
 *     number the English sentence has), and
 *   - wording changes here without touching a decision in engine.c.
 *
 * Where words live is written down in docs/alerts.md ("Where the words
 * are"): this file for the summary (hbctl, JSON, and the English
 * notifier set, which shows it as its headline); the notifier's templates
 * for messages in other languages.
 *
 * Pure functions: no allocation, no I/O, thread-safe.
 */
#ifndef HBMON_SERVER_ALERT_TEXT_H
#define HBMON_SERVER_ALERT_TEXT_H

#include <stddef.h>

#include "hbmon/v1/alert.pb-c.h"

/* Longest summary the server writes, with its NUL; longer ones are cut
 * at a character boundary. */
#define ALERT_TEXT_MAX 512

/*
 * Writes the summary of a into buf (NUL-terminated, cut at a UTF-8
 * character boundary when it does not fit). Reads a->kind, a->state,
 * a->robot, a->account (both "" for the server's own alerts; account ""
 * for a robot), a->repeat and a->details (which may be NULL: only the
 * subject is then said); a->summary is not read. buf_len must be at
 * least 1. Returns the length written.
 */
size_t alert_text_summary(const Hbmon__V1__Alert *a, char *buf, size_t buf_len);

/* Most hints an alert carries, and room for their text. */
#define ALERT_TEXT_HINTS_MAX  3
#define ALERT_TEXT_HINTS_SIZE 320

/*
 * The commands a person may run next about a (details.hints): "hbctl ack
 * SEQ" while an episode is firing (its repeats stop), "hbctl pause
 * SUBJECT --for 1h" for a robot's or an account's firing alert, "hbctl
 * history SUBJECT" for a one-off about a subject. Reads a->seq, a->kind,
 * a->state, a->robot and a->account. The strings are written into buf
 * (of ALERT_TEXT_HINTS_SIZE bytes) and out[] points into it (at most
 * ALERT_TEXT_HINTS_MAX). Returns how many.
 */
size_t alert_text_hints(const Hbmon__V1__Alert *a, char *buf, size_t buf_len,
                        char **out, size_t max);

#endif
