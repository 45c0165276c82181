/*
 * What a notification says: a template set (one directory per language,
 * e.g. templates/en, templates/id) turned into Telegram HTML and e-mail
 * text for one alert or a coalesced burst of them. The files are the
 * operator's to change; docs/notifiers.md lists the placeholders.
 *
 *   words.ini              localized words and per-kind headlines
 *   telegram.html          one alert, Telegram HTML
 *   telegram-batch.html    the first lines of a coalesced message
 *   email-subject.txt      one alert's subject line
 *   email-body.txt         one alert's body (plain text)
 *   email-batch-subject.txt  a coalesced mail's subject line
 *   email-footer.txt       the end of every mail, after its alerts
 */
#ifndef HBMON_NOTIFY_MESSAGE_H
#define HBMON_NOTIFY_MESSAGE_H

#include <stdbool.h>
#include <stddef.h>

#include "hbmon/v1/alert.pb-c.h"
#include "common/strbuf.h"

struct message_set;

struct message_options {
	const char *dir;      /* templates_dir overriding the built-in set;
	                       * NULL or "": the built-in set only */
	const char *lang;     /* sub-directory: "en", "id", ... */
	int tz_offset_min;    /* a UTC offset, or TZ_ZONE (common/tz.h) */
	const char *notifier; /* this notifier's name, for {{notifier}} */
};

/*
 * Loads and checks every file of the set (unknown placeholders and
 * unbalanced sections are errors). Each file comes from dir/LANG/FILE when
 * dir holds it, else from the copy compiled into the program (the set in
 * src/notify/templates: en and id); a dir that does not exist is an error,
 * not a silent fall-back. out: freed with message_set_free. why:
 * "templates/id/telegram.html:4: unknown placeholder {{sumary}}", or the
 * file that cannot be read. Returns HBMON_OK, HBMON_ENOENT, HBMON_EINVAL
 * or HBMON_ENOMEM.
 */
int message_set_load(const struct message_options *opts,
                     struct message_set **out, char *why, size_t why_len);

/* Frees a set. NULL is fine. */
void message_set_free(struct message_set *m);

/*
 * Telegram HTML for a prefix of alerts[0..n) (n >= 1) that fits in limit
 * bytes: as many whole alerts as fit, under a header when more than one;
 * a single alert too long on its own is cut (html_truncate). Appends to
 * out; *taken is how many alerts the text covers (>= 1).
 */
void message_telegram(const struct message_set *m,
                      const Hbmon__V1__Alert *const *alerts, size_t n,
                      size_t limit, struct strbuf *out, size_t *taken);

/*
 * Subject (one line, UTF-8, not yet MIME-encoded) and body (plain text,
 * "\n" line ends) of one mail for alerts[0..n) (n >= 1).
 */
void message_email(const struct message_set *m,
                   const Hbmon__V1__Alert *const *alerts, size_t n,
                   struct strbuf *subject, struct strbuf *body);

/*
 * The words of alert a's Telegram message as plain text (tags dropped,
 * entities decoded, never cut), for a terminal. Appends to out.
 */
void message_text(const struct message_set *m, const Hbmon__V1__Alert *a,
                  struct strbuf *out);

/*
 * A duration the way the set's words say it: two units at most, e.g.
 * "2 h 5 min" or, in Indonesian, "2 jam 5 menit". Appends to out.
 */
void message_duration(const struct message_set *m, int64_t ms,
                      struct strbuf *out);

#endif
