/*
 * The pure parts of the status page and its door (statuspage.h,
 * http_views.h): escaping of whatever a robot sent, the token derived
 * from the admin secret (checked against openssl), and which listener
 * URLs count as loopback-only.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "hbmon/error.h"
#include "server/http_views.h"
#include "server/statuspage.h"

static char *
escaped(const char *s)
{
	struct strbuf out = STRBUF_INIT;

	statuspage_escape(&out, s);
	cr_assert(strbuf_ok(&out));
	return strbuf_take(&out);
}

TestSuite(statuspage, .timeout = 10);

Test(statuspage, markup_quotes_controls_and_bad_utf8_are_escaped)
{
	char *e = escaped("<script>&\"'\x01\x7f\xff ok é");

	cr_assert_str_eq(e, "&lt;script&gt;&amp;&quot;&#39;"
	                    "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd ok é");
	free(e);
	e = escaped("");
	cr_assert_str_eq(e, "");
	free(e);
}

Test(statuspage, token_is_the_documented_hmac)
{
	char token[HTTP_VIEWS_TOKEN_MAX];

	/* printf %s 'hbmon status page' |
	 *   openssl dgst -sha256 -hmac 'hbs_admin-secret-for-the-test' */
	cr_assert_eq(http_views_token("hbs_admin-secret-for-the-test", token,
	                              sizeof(token)),
	             HBMON_OK);
	cr_assert_str_eq(token, "hbv_2eec0e1d9319ee150d905f3b3d711e8a505c03be"
	                        "cee97377462800e447188eef");
	cr_assert_eq(http_views_token("", token, sizeof(token)), HBMON_EINVAL);
	cr_assert_eq(http_views_token("x", token, 10), HBMON_EINVAL);
}

Test(statuspage, loopback_only_listeners)
{
	cr_assert(http_views_loopback_url("http://127.0.0.1:7780"));
	cr_assert(http_views_loopback_url("https://127.1.2.3:0"));
	cr_assert(http_views_loopback_url("http://[::1]:7780"));
	cr_assert(http_views_loopback_url("http://LOCALHOST:7780"));
	cr_assert_not(http_views_loopback_url("http://0.0.0.0:7780"));
	cr_assert_not(http_views_loopback_url("http://[::]:7780"));
	cr_assert_not(http_views_loopback_url("http://127.evil.example:80"));
	cr_assert_not(http_views_loopback_url("http://192.168.1.5:7780"));
	cr_assert_not(http_views_loopback_url("http://localhost.example:80"));
	cr_assert_not(http_views_loopback_url("tcp://127.0.0.1:7780"));
}
