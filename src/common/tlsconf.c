/* nng TLS configs from PEM files, checked up front; see tlsconf.h. */
#include "common/tlsconf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/error.h>
#include <mbedtls/pk.h>
#include <mbedtls/x509_crt.h>

#include "hbmon/error.h"

const char *const tlsconf_verify_words[] = { "none", "optional", "required",
	                                     NULL };

void
tlsconf_free(nng_tls_config *cfg)
{
	if (cfg != NULL) {
		nng_tls_config_free(cfg);
	}
}

bool
tlsconf_is_tls_url(const char *url)
{
	return url != NULL && strncmp(url, "tls+tcp://", 10) == 0;
}

/*
 * Reads a whole PEM file as a NUL-terminated string (what mbedTLS wants).
 * what: the setting's name, for messages. *out: malloc'd.
 */
static int
read_pem(const char *what, const char *path, char **out, size_t *out_len,
         char *why, size_t why_len)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t n = 0;
	int rv;

	if (f == NULL) {
		rv = errno == ENOENT ? HBMON_ENOENT : HBMON_EIO;
		snprintf(why, why_len, "%s %s: %s", what, path,
		         strerror(errno));
		return rv;
	}
	if ((buf = malloc(TLSCONF_FILE_MAX + 1)) == NULL) {
		fclose(f);
		return HBMON_ENOMEM;
	}
	n = fread(buf, 1, TLSCONF_FILE_MAX + 1, f);
	if (ferror(f)) {
		snprintf(why, why_len, "%s %s: %s", what, path,
		         strerror(errno));
		rv = HBMON_EIO;
		goto fail;
	}
	if (n > TLSCONF_FILE_MAX) {
		snprintf(why, why_len,
		         "%s %s is larger than %d bytes: not a PEM file", what,
		         path, TLSCONF_FILE_MAX);
		rv = HBMON_EINVAL;
		goto fail;
	}
	buf[n] = '\0';
	if (strstr(buf, "-----BEGIN ") == NULL || strlen(buf) != n) {
		snprintf(why, why_len, "%s %s is not a PEM file", what, path);
		rv = HBMON_EINVAL;
		goto fail;
	}
	fclose(f);
	*out = buf;
	*out_len = n;
	return HBMON_OK;

fail:
	fclose(f);
	free(buf);
	return rv;
}

/* mbedTLS's own words for an error. */
static const char *
mbed_words(int rv, char *buf, size_t len)
{
	mbedtls_strerror(rv, buf, len);
	return buf;
}

/*
 * Checks that cert (PEM) parses and that key (PEM) parses and belongs to
 * it. A certificate not valid now is not an error: warn says so.
 */
static int
check_pair(const char *cert_file, const char *cert, size_t cert_len,
           const char *key_file, const char *key, size_t key_len, char *why,
           size_t why_len, char *warn, size_t warn_len)
{
	mbedtls_x509_crt crt;
	mbedtls_pk_context pk;
	char words[128];
	int rv, err = HBMON_EINVAL;

	mbedtls_x509_crt_init(&crt);
	mbedtls_pk_init(&pk);
	/* PEM input includes its terminating NUL in the length. */
	if ((rv = mbedtls_x509_crt_parse(&crt, (const unsigned char *) cert,
	                                 cert_len + 1)) != 0) {
		snprintf(why, why_len,
		         "tls_cert_file %s: not a certificate: %s", cert_file,
		         mbed_words(rv, words, sizeof(words)));
		goto done;
	}
	if (mbedtls_x509_time_is_past(&crt.valid_to)) {
		snprintf(warn, warn_len,
		         "tls_cert_file %s expired on %04d-%02d-%02d: peers "
		         "will refuse every handshake until it is renewed",
		         cert_file, crt.valid_to.year, crt.valid_to.mon,
		         crt.valid_to.day);
	} else if (mbedtls_x509_time_is_future(&crt.valid_from)) {
		snprintf(warn, warn_len,
		         "tls_cert_file %s is not valid before "
		         "%04d-%02d-%02d (check this machine's clock): peers "
		         "will refuse every handshake until then",
		         cert_file, crt.valid_from.year, crt.valid_from.mon,
		         crt.valid_from.day);
	}
	if ((rv = mbedtls_pk_parse_key(&pk, (const unsigned char *) key,
	                               key_len + 1, NULL, 0)) != 0) {
		snprintf(why, why_len,
		         "tls_key_file %s: not an unencrypted private key: %s",
		         key_file, mbed_words(rv, words, sizeof(words)));
		goto done;
	}
	if (mbedtls_pk_check_pair(&crt.pk, &pk) != 0) {
		snprintf(why, why_len,
		         "tls_key_file %s is not the key of the certificate in "
		         "tls_cert_file %s",
		         key_file, cert_file);
		goto done;
	}
	err = HBMON_OK;
done:
	mbedtls_pk_free(&pk);
	mbedtls_x509_crt_free(&crt);
	return err;
}

/* Loads ca_file into cfg, checking it holds at least one certificate. */
static int
load_ca(nng_tls_config *cfg, const char *ca_file, char *why, size_t why_len)
{
	mbedtls_x509_crt crt;
	char *pem = NULL;
	size_t len;
	char words[128];
	int rv;

	if ((rv = read_pem("tls_ca_file", ca_file, &pem, &len, why, why_len)) !=
	    HBMON_OK) {
		return rv;
	}
	mbedtls_x509_crt_init(&crt);
	if ((rv = mbedtls_x509_crt_parse(&crt, (const unsigned char *) pem,
	                                 len + 1)) != 0) {
		snprintf(why, why_len,
		         "tls_ca_file %s: not a certificate bundle: %s",
		         ca_file, mbed_words(rv, words, sizeof(words)));
		rv = HBMON_EINVAL;
	} else if ((rv = nng_tls_config_ca_chain(cfg, pem, NULL)) != 0) {
		snprintf(why, why_len, "tls_ca_file %s: %s", ca_file,
		         nng_strerror(rv));
		rv = rv == NNG_ENOMEM ? HBMON_ENOMEM : HBMON_EINVAL;
	} else {
		rv = HBMON_OK;
	}
	mbedtls_x509_crt_free(&crt);
	free(pem);
	return rv;
}

/* Loads and checks our own certificate and key into cfg. */
static int
load_own(nng_tls_config *cfg, const char *cert_file, const char *key_file,
         char *why, size_t why_len, char *warn, size_t warn_len)
{
	char *cert = NULL, *key = NULL;
	size_t cert_len, key_len;
	int rv;

	if ((rv = read_pem("tls_cert_file", cert_file, &cert, &cert_len, why,
	                   why_len)) != HBMON_OK ||
	    (rv = read_pem("tls_key_file", key_file, &key, &key_len, why,
	                   why_len)) != HBMON_OK) {
		goto done;
	}
	if ((rv = check_pair(cert_file, cert, cert_len, key_file, key, key_len,
	                     why, why_len, warn, warn_len)) != HBMON_OK) {
		goto done;
	}
	if ((rv = nng_tls_config_own_cert(cfg, cert, key, NULL)) != 0) {
		snprintf(why, why_len, "tls_cert_file %s / tls_key_file %s: %s",
		         cert_file, key_file, nng_strerror(rv));
		rv = rv == NNG_ENOMEM ? HBMON_ENOMEM : HBMON_EINVAL;
		goto done;
	}
	rv = HBMON_OK;
done:
	if (key != NULL) {
		explicit_bzero(key, key_len);
	}
	free(key);
	free(cert);
	return rv;
}

/* A new nng TLS config for mode. */
static int
config_alloc(nng_tls_mode mode, nng_tls_config **out, char *why, size_t why_len)
{
	int rv = nng_tls_config_alloc(out, mode);

	if (rv != 0) {
		snprintf(why, why_len, "TLS: %s", nng_strerror(rv));
		return rv == NNG_ENOMEM ? HBMON_ENOMEM : HBMON_EIO;
	}
	return HBMON_OK;
}

static bool
empty(const char *s)
{
	return s == NULL || s[0] == '\0';
}

int
tlsconf_server(const char *cert_file, const char *key_file, const char *ca_file,
               enum tlsconf_verify verify, nng_tls_config **out, char *why,
               size_t why_len, char *warn, size_t warn_len)
{
	static const nng_tls_auth_mode modes[] = {
		NNG_TLS_AUTH_MODE_NONE,
		NNG_TLS_AUTH_MODE_OPTIONAL,
		NNG_TLS_AUTH_MODE_REQUIRED,
	};
	nng_tls_config *cfg = NULL;
	int rv;

	warn[0] = '\0';
	if (empty(cert_file) || empty(key_file)) {
		snprintf(why, why_len,
		         "a tls+tcp:// listener needs tls_cert_file and "
		         "tls_key_file (--tls-cert-file, --tls-key-file)");
		return HBMON_EINVAL;
	}
	if (verify != TLSCONF_VERIFY_NONE && empty(ca_file)) {
		snprintf(why, why_len,
		         "tls_verify_peer = %s needs tls_ca_file, the CA that "
		         "signs client certificates",
		         tlsconf_verify_words[verify]);
		return HBMON_EINVAL;
	}
	if ((rv = config_alloc(NNG_TLS_MODE_SERVER, &cfg, why, why_len)) !=
	    HBMON_OK) {
		return rv;
	}
	if ((rv = load_own(cfg, cert_file, key_file, why, why_len, warn,
	                   warn_len)) != HBMON_OK) {
		goto fail;
	}
	if (!empty(ca_file) &&
	    (rv = load_ca(cfg, ca_file, why, why_len)) != HBMON_OK) {
		goto fail;
	}
	if ((rv = nng_tls_config_auth_mode(cfg, modes[verify])) != 0) {
		snprintf(why, why_len, "tls_verify_peer: %s", nng_strerror(rv));
		rv = HBMON_EINVAL;
		goto fail;
	}
	*out = cfg;
	return HBMON_OK;

fail:
	nng_tls_config_free(cfg);
	return rv;
}

int
tlsconf_client(const char *ca_file, const char *cert_file, const char *key_file,
               const char *server_name, nng_tls_config **out, char *why,
               size_t why_len, char *warn, size_t warn_len)
{
	nng_tls_config *cfg = NULL;
	int rv;

	warn[0] = '\0';
	if (empty(ca_file)) {
		snprintf(why, why_len,
		         "a tls+tcp:// URL needs the CA that signed the "
		         "server's certificate (--tls-ca-file or tls_ca_file)");
		return HBMON_EINVAL;
	}
	if (empty(cert_file) != empty(key_file)) {
		snprintf(why, why_len,
		         "a client certificate needs both its file and its "
		         "key (--tls-cert-file and --tls-key-file)");
		return HBMON_EINVAL;
	}
	if ((rv = config_alloc(NNG_TLS_MODE_CLIENT, &cfg, why, why_len)) !=
	    HBMON_OK) {
		return rv;
	}
	if ((rv = load_ca(cfg, ca_file, why, why_len)) != HBMON_OK) {
		goto fail;
	}
	if (!empty(cert_file) &&
	    (rv = load_own(cfg, cert_file, key_file, why, why_len, warn,
	                   warn_len)) != HBMON_OK) {
		goto fail;
	}
	if ((rv = nng_tls_config_auth_mode(cfg, NNG_TLS_AUTH_MODE_REQUIRED)) !=
	    0) {
		snprintf(why, why_len, "TLS: %s", nng_strerror(rv));
		rv = HBMON_EINVAL;
		goto fail;
	}
	if (!empty(server_name) &&
	    (rv = nng_tls_config_server_name(cfg, server_name)) != 0) {
		snprintf(why, why_len, "TLS server name %s: %s", server_name,
		         nng_strerror(rv));
		rv = rv == NNG_ENOMEM ? HBMON_ENOMEM : HBMON_EINVAL;
		goto fail;
	}
	*out = cfg;
	return HBMON_OK;

fail:
	nng_tls_config_free(cfg);
	return rv;
}

int
tlsconf_self(const char *cert_file, const char *key_file, nng_tls_config **out,
             char *why, size_t why_len)
{
	nng_tls_config *cfg = NULL;
	char warn[256];
	int rv;

	if ((rv = config_alloc(NNG_TLS_MODE_CLIENT, &cfg, why, why_len)) !=
	    HBMON_OK) {
		return rv;
	}
	/* An expired certificate is said loudly at start already. */
	if ((rv = load_own(cfg, cert_file, key_file, why, why_len, warn,
	                   sizeof(warn))) != HBMON_OK) {
		goto fail;
	}
	if ((rv = nng_tls_config_auth_mode(cfg, NNG_TLS_AUTH_MODE_NONE)) != 0) {
		snprintf(why, why_len, "TLS: %s", nng_strerror(rv));
		rv = HBMON_EINVAL;
		goto fail;
	}
	*out = cfg;
	return HBMON_OK;

fail:
	nng_tls_config_free(cfg);
	return rv;
}

int
tlsconf_dial(nng_socket sock, const char *url,
             const struct tlsconf_files *files, int flags, int *tls_err,
             char *why, size_t why_len)
{
	static const struct tlsconf_files none = { 0 };
	nng_tls_config *cfg = NULL;
	nng_dialer d;
	char warn[512];
	int rv;

	*tls_err = HBMON_OK;
	if (!tlsconf_is_tls_url(url)) {
		return nng_dial(sock, url, NULL, flags);
	}
	if (files == NULL) {
		files = &none;
	}
	if ((*tls_err =
	         tlsconf_client(files->ca_file, files->cert_file,
	                        files->key_file, files->server_name, &cfg, why,
	                        why_len, warn, sizeof(warn))) != HBMON_OK) {
		return NNG_EINVAL;
	}
	if (warn[0] != '\0') {
		fprintf(stderr, "warning: %s\n", warn);
	}
	if ((rv = nng_dialer_create(&d, sock, url)) == 0 &&
	    (rv = nng_dialer_set_ptr(d, NNG_OPT_TLS_CONFIG, cfg)) == 0) {
		rv = nng_dialer_start(d, flags);
	}
	tlsconf_free(cfg); /* the dialer holds its own */
	return rv;
}
