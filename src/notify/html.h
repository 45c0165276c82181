/*
 * Telegram's HTML subset (parse_mode HTML): cutting a message to a length
 * without breaking a tag or an entity, and the plain text of a message for
 * when Telegram refuses the markup.
 */
#ifndef HBMON_NOTIFY_HTML_H
#define HBMON_NOTIFY_HTML_H

#include <stddef.h>

#include "common/strbuf.h"

/*
 * Cuts html (len bytes) so that the result, with "…" and the closing tags
 * of every element still open at the cut, is at most limit bytes, and
 * appends it to out. The cut never falls inside a tag, an entity or a UTF-8
 * character. Text that already fits is appended unchanged.
 */
void html_truncate(const char *html, size_t len, size_t limit,
                   struct strbuf *out);

/*
 * Appends the text of html to out: tags dropped, &lt; &gt; &amp; &quot;
 * &#NN; and &#xNN; decoded.
 */
void html_to_text(const char *html, struct strbuf *out);

#endif
