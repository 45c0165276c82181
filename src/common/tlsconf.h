/*
 * TLS settings for nng's tls+tcp:// transport (mbedTLS 2.28 underneath),
 * built from PEM files with errors a person can act on: which file, and
 * what is wrong with it, at start-up rather than as a failed handshake
 * later. The server uses one config for every tls+tcp:// listener it
 * has; hbctl, hbmon-notify and the test harness use a client config for
 * every tls+tcp:// URL they dial.
 *
 * mbedTLS 2.28 (nng's TLS) checks the server name only against DNS
 * subjectAltNames: a certificate for 127.0.0.1 needs
 * subjectAltName=DNS:127.0.0.1, not IP:127.0.0.1.
 */
#ifndef HBMON_COMMON_TLSCONF_H
#define HBMON_COMMON_TLSCONF_H

#include <stdbool.h>
#include <stddef.h>

#include <nng/nng.h>
#include <nng/supplemental/tls/tls.h>

/* tls_verify_peer: what the server asks of a client's certificate. */
enum tlsconf_verify {
	TLSCONF_VERIFY_NONE = 0,     /* none asked for */
	TLSCONF_VERIFY_OPTIONAL = 1, /* asked for; a connection without a
	                              * verified one is still served */
	TLSCONF_VERIFY_REQUIRED = 2, /* the handshake fails without one
	                              * signed by tls_ca_file */
};

/* The words of tls_verify_peer, NULL-terminated, in enum order. */
extern const char *const tlsconf_verify_words[];

/* Files larger than this are not PEM certificates or keys. */
#define TLSCONF_FILE_MAX (1024 * 1024)

/*
 * A server config: cert_file (PEM, the chain as served) and key_file (PEM
 * private key, unencrypted) are required; ca_file verifies clients and is
 * required unless verify is TLSCONF_VERIFY_NONE. The key is checked to
 * belong to the certificate. A certificate that has expired or is not yet
 * valid is not an error (refusing to start would silence the monitor
 * altogether), but warn (always written, "" when all is well) says so for
 * the caller to log loudly. out: free with nng_tls_config_free. why: a
 * sentence naming the file. Returns HBMON_OK, HBMON_EINVAL (a setting
 * missing or a file that is not what it should be), HBMON_ENOENT /
 * HBMON_EIO (cannot read a file) or HBMON_ENOMEM. Thread-safe.
 */
int tlsconf_server(const char *cert_file, const char *key_file,
                   const char *ca_file, enum tlsconf_verify verify,
                   nng_tls_config **out, char *why, size_t why_len, char *warn,
                   size_t warn_len);

/*
 * A client config: ca_file (required) verifies the server, whose
 * certificate must name server_name (NULL or "": the host of the URL
 * dialled, nng's default). cert_file and key_file (both or neither) are
 * presented when the server asks for a client certificate. out, warn and
 * errors as tlsconf_server. Thread-safe.
 */
int tlsconf_client(const char *ca_file, const char *cert_file,
                   const char *key_file, const char *server_name,
                   nng_tls_config **out, char *why, size_t why_len, char *warn,
                   size_t warn_len);

/*
 * A client config for a server dialling its own tls+tcp:// listeners (the
 * listener self-check): the server's certificate is not verified (the
 * address is the server's own and nothing secret is sent), and cert_file
 * / key_file, the server's own, are presented when a client certificate is
 * asked for. out and errors as tlsconf_server. Thread-safe.
 */
int tlsconf_self(const char *cert_file, const char *key_file,
                 nng_tls_config **out, char *why, size_t why_len);

/* What a client is told to use for tls+tcp:// URLs. */
struct tlsconf_files {
	const char *ca_file;     /* the CA that signed the server's cert */
	const char *cert_file;   /* a client certificate, or NULL */
	const char *key_file;    /* its key, or NULL */
	const char *server_name; /* what the server's cert names; NULL: the
	                          * URL's host */
};

/*
 * nng_dial(sock, url, flags), with a TLS config from files for a
 * tls+tcp:// URL (files unused otherwise; may then be NULL). A warning
 * about the client certificate goes to stderr. Returns 0 or the nng error
 * of the dial; when the TLS settings themselves cannot be used, returns
 * NNG_EINVAL with *tls_err the hbmon error and why the sentence
 * (*tls_err is HBMON_OK otherwise). Thread-safe.
 */
int tlsconf_dial(nng_socket sock, const char *url,
                 const struct tlsconf_files *files, int flags, int *tls_err,
                 char *why, size_t why_len);

/* Drops a reference to cfg (nng_tls_config_free). NULL is fine. */
void tlsconf_free(nng_tls_config *cfg);

/* Whether url is a tls+tcp:// URL. */
bool tlsconf_is_tls_url(const char *url);

#endif
