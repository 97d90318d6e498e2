/*
 * dynload.c - libcurl, libpq and libmicrohttpd loaded on first use.
 *
 * Why: the three libraries and what they need (GnuTLS, OpenSSL, Kerberos,
 * LDAP...: 35 shared objects) cost every start of the hubsync command about
 * 5 ms of loading, relocating and library constructors, half of a 10-row
 * `hubsync sync` with a file master, which uses none of them
 * (docs/PERFORMANCE.md, "The whole hubsync sync command"). Only a server
 * master (master_http.c: curl), a PostgreSQL store (store_pg.c: libpq) and
 * `hubsync daemon` / `serve` (src/daemon: libmicrohttpd) need them.
 *
 * How: this file defines the functions of those libraries that hubsync
 * calls, each a wrapper that dlopen()s the library by its SONAME (taken
 * from the library linked at build time, HS_SONAME_*) the first time one
 * of its functions is called, and calls the real function. The callers
 * include the libraries' own headers and call them as usual; the compiler
 * checks every wrapper against the header's prototype. It is linked into
 * libhubsync.a only (the command, the daemon, the tests); libhubsync.so
 * links the libraries as usual, and so does the Windows build (one static
 * .exe). A function not wrapped here fails the command's link with an
 * undefined symbol: add it below.
 *
 * When a library cannot be loaded: one line on stderr saying which and
 * what to do, and every call fails as the library itself fails (NULL
 * handle, an error code), so the caller's own message follows.
 */
#include <curl/curl.h>
#include <libpq-fe.h>
#include <microhttpd.h>

#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

struct dynlib {
	const char *soname;
	const char *package; /* what to install when it is missing */
	const char *const *names; /* the functions, NULL-terminated */
	void **slots;             /* where their addresses go, same order */
	int tried, ok;            /* under dynlib_mutex */
};

static pthread_mutex_t dynlib_mutex = PTHREAD_MUTEX_INITIALIZER;

/* Open l and fill its slots; on failure say so once and leave ok 0. */
static void dynlib_load(struct dynlib *l)
{
	void *h = dlopen(l->soname, RTLD_NOW | RTLD_LOCAL);
	const char *missing = NULL;
	if (h) {
		for (int i = 0; l->names[i]; i++) {
			l->slots[i] = dlsym(h, l->names[i]);
			if (!l->slots[i] && !missing)
				missing = l->names[i];
		}
	}
	if (!h || missing) {
		fprintf(stderr, "hubsync: cannot load %s (%s%s): install %s\n",
			l->soname, h ? "no function " : dlerror(),
			h ? missing : "", l->package);
		return;
	}
	l->ok = 1;
}

/* 1 once l is loaded (loading it on the first call, from any thread). */
static int dynlib_ready(struct dynlib *l)
{
	int ok;
	pthread_mutex_lock(&dynlib_mutex);
	if (!l->tried) {
		l->tried = 1;
		dynlib_load(l);
	}
	ok = l->ok;
	pthread_mutex_unlock(&dynlib_mutex);
	return ok;
}

/* ---- libcurl (master_http.c) --------------------------------------- */

static const char *const CURL_NAMES[] = {
	"curl_easy_init", "curl_easy_cleanup", "curl_easy_perform",
	"curl_easy_setopt", "curl_easy_getinfo", "curl_easy_strerror",
	"curl_slist_append", "curl_slist_free_all", NULL};
static struct {
	CURL *(*easy_init)(void);
	void (*easy_cleanup)(CURL *);
	CURLcode (*easy_perform)(CURL *);
	CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
	CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
	const char *(*easy_strerror)(CURLcode);
	struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
	void (*slist_free_all)(struct curl_slist *);
} curl_fn;
_Static_assert(sizeof(curl_fn) == (sizeof(CURL_NAMES) / sizeof(*CURL_NAMES) - 1) *
		       sizeof(void *), "one slot per name");
static struct dynlib curl_lib = {HS_SONAME_CURL, "libcurl (libcurl3-gnutls)",
				 CURL_NAMES, (void **)&curl_fn, 0, 0};
#define curl_ready() dynlib_ready(&curl_lib)

CURL *(curl_easy_init)(void)
{
	return curl_ready() ? curl_fn.easy_init() : NULL;
}

void(curl_easy_cleanup)(CURL *curl)
{
	if (curl && curl_ready())
		curl_fn.easy_cleanup(curl);
}

CURLcode(curl_easy_perform)(CURL *curl)
{
	return curl_ready() ? curl_fn.easy_perform(curl) : CURLE_FAILED_INIT;
}

/* The one argument after option has the type its number says (curl.h,
 * CURLOPTTYPE_*), as curl itself reads it. */
CURLcode(curl_easy_setopt)(CURL *curl, CURLoption option, ...)
{
	va_list ap;
	CURLcode rc;
	if (!curl_ready())
		return CURLE_FAILED_INIT;
	va_start(ap, option);
	if (option < CURLOPTTYPE_OBJECTPOINT)
		rc = curl_fn.easy_setopt(curl, option, va_arg(ap, long));
	else if (option < CURLOPTTYPE_FUNCTIONPOINT)
		rc = curl_fn.easy_setopt(curl, option, va_arg(ap, void *));
	else if (option < CURLOPTTYPE_OFF_T)
		rc = curl_fn.easy_setopt(curl, option, va_arg(ap, void (*)(void)));
	else if (option < CURLOPTTYPE_BLOB)
		rc = curl_fn.easy_setopt(curl, option, va_arg(ap, curl_off_t));
	else
		rc = curl_fn.easy_setopt(curl, option, va_arg(ap, void *));
	va_end(ap);
	return rc;
}

/* Every CURLINFO takes a pointer. */
CURLcode(curl_easy_getinfo)(CURL *curl, CURLINFO info, ...)
{
	va_list ap;
	void *p;
	if (!curl_ready())
		return CURLE_FAILED_INIT;
	va_start(ap, info);
	p = va_arg(ap, void *);
	va_end(ap);
	return curl_fn.easy_getinfo(curl, info, p);
}

const char *(curl_easy_strerror)(CURLcode code)
{
	return curl_ready() ? curl_fn.easy_strerror(code) :
			      "libcurl could not be loaded";
}

struct curl_slist *(curl_slist_append)(struct curl_slist *list,
				       const char *data)
{
	return curl_ready() ? curl_fn.slist_append(list, data) : NULL;
}

void(curl_slist_free_all)(struct curl_slist *list)
{
	if (list && curl_ready())
		curl_fn.slist_free_all(list);
}

/* ---- libpq (store_pg.c) --------------------------------------------- */

static const char *const PQ_NAMES[] = {
	"PQconnectdb", "PQfinish", "PQstatus", "PQerrorMessage",
	"PQparameterStatus", "PQsetClientEncoding", "PQsetNoticeProcessor",
	"PQexec", "PQexecParams", "PQprepare", "PQexecPrepared",
	"PQresultStatus", "PQresultErrorField", "PQntuples", "PQgetvalue",
	"PQgetlength", "PQgetisnull", "PQclear", "PQsocket", "PQconsumeInput",
	"PQfreemem", "PQnotifies", "PQtransactionStatus", "PQnfields",
	"PQcmdTuples", "PQenterPipelineMode", "PQexitPipelineMode",
	"PQpipelineSync", "PQgetResult", "PQsendPrepare", "PQsendQueryParams",
	"PQsendQueryPrepared", "PQisBusy", "PQputCopyData", "PQputCopyEnd",
	NULL};
static struct {
	PGconn *(*connectdb)(const char *);
	void (*finish)(PGconn *);
	ConnStatusType (*status)(const PGconn *);
	char *(*error_message)(const PGconn *);
	const char *(*parameter_status)(const PGconn *, const char *);
	int (*set_client_encoding)(PGconn *, const char *);
	PQnoticeProcessor (*set_notice_processor)(PGconn *, PQnoticeProcessor,
						  void *);
	PGresult *(*exec)(PGconn *, const char *);
	PGresult *(*exec_params)(PGconn *, const char *, int, const Oid *,
				 const char *const *, const int *, const int *,
				 int);
	PGresult *(*prepare)(PGconn *, const char *, const char *, int,
			     const Oid *);
	PGresult *(*exec_prepared)(PGconn *, const char *, int,
				   const char *const *, const int *,
				   const int *, int);
	ExecStatusType (*result_status)(const PGresult *);
	char *(*result_error_field)(const PGresult *, int);
	int (*ntuples)(const PGresult *);
	char *(*getvalue)(const PGresult *, int, int);
	int (*getlength)(const PGresult *, int, int);
	int (*getisnull)(const PGresult *, int, int);
	void (*clear)(PGresult *);
	int (*socket)(const PGconn *);
	int (*consume_input)(PGconn *);
	void (*freemem)(void *);
	PGnotify *(*notifies)(PGconn *);
	PGTransactionStatusType (*transaction_status)(const PGconn *);
	int (*nfields)(const PGresult *);
	char *(*cmd_tuples)(PGresult *);
	int (*enter_pipeline_mode)(PGconn *);
	int (*exit_pipeline_mode)(PGconn *);
	int (*pipeline_sync)(PGconn *);
	PGresult *(*get_result)(PGconn *);
	int (*send_prepare)(PGconn *, const char *, const char *, int,
			    const Oid *);
	int (*send_query_params)(PGconn *, const char *, int, const Oid *,
				 const char *const *, const int *, const int *,
				 int);
	int (*send_query_prepared)(PGconn *, const char *, int,
				   const char *const *, const int *,
				   const int *, int);
	int (*is_busy)(PGconn *);
	int (*put_copy_data)(PGconn *, const char *, int);
	int (*put_copy_end)(PGconn *, const char *);
} pq_fn;
_Static_assert(sizeof(pq_fn) == (sizeof(PQ_NAMES) / sizeof(*PQ_NAMES) - 1) *
		       sizeof(void *), "one slot per name");
static struct dynlib pq_lib = {HS_SONAME_PQ, "libpq (libpq5)", PQ_NAMES,
			       (void **)&pq_fn, 0, 0};
#define pq_ready() dynlib_ready(&pq_lib)

/* Without the library there is no connection: PQconnectdb returns NULL,
 * which PQstatus reports as CONNECTION_BAD (as libpq does). Results are
 * NULL too, which libpq's result functions also accept. */
PGconn *(PQconnectdb)(const char *conninfo)
{
	return pq_ready() ? pq_fn.connectdb(conninfo) : NULL;
}

void(PQfinish)(PGconn *conn)
{
	if (conn && pq_ready())
		pq_fn.finish(conn);
}

ConnStatusType(PQstatus)(const PGconn *conn)
{
	return conn && pq_ready() ? pq_fn.status(conn) : CONNECTION_BAD;
}

char *(PQerrorMessage)(const PGconn *conn)
{
	static char none[] = "libpq could not be loaded\n";
	return pq_ready() ? pq_fn.error_message(conn) : none;
}

const char *(PQparameterStatus)(const PGconn *conn, const char *paramName)
{
	return pq_ready() ? pq_fn.parameter_status(conn, paramName) : NULL;
}

int(PQsetClientEncoding)(PGconn *conn, const char *encoding)
{
	return pq_ready() ? pq_fn.set_client_encoding(conn, encoding) : -1;
}

PQnoticeProcessor(PQsetNoticeProcessor)(PGconn *conn, PQnoticeProcessor proc,
					void *arg)
{
	return pq_ready() ? pq_fn.set_notice_processor(conn, proc, arg) : NULL;
}

PGresult *(PQexec)(PGconn *conn, const char *query)
{
	return pq_ready() ? pq_fn.exec(conn, query) : NULL;
}

PGresult *(PQexecParams)(PGconn *conn, const char *command, int nParams,
			 const Oid *paramTypes, const char *const *paramValues,
			 const int *paramLengths, const int *paramFormats,
			 int resultFormat)
{
	return pq_ready() ? pq_fn.exec_params(conn, command, nParams, paramTypes,
					      paramValues, paramLengths,
					      paramFormats, resultFormat) :
			    NULL;
}

PGresult *(PQprepare)(PGconn *conn, const char *stmtName, const char *query,
		      int nParams, const Oid *paramTypes)
{
	return pq_ready() ? pq_fn.prepare(conn, stmtName, query, nParams,
					  paramTypes) :
			    NULL;
}

PGresult *(PQexecPrepared)(PGconn *conn, const char *stmtName, int nParams,
			   const char *const *paramValues,
			   const int *paramLengths, const int *paramFormats,
			   int resultFormat)
{
	return pq_ready() ? pq_fn.exec_prepared(conn, stmtName, nParams,
						paramValues, paramLengths,
						paramFormats, resultFormat) :
			    NULL;
}

ExecStatusType(PQresultStatus)(const PGresult *res)
{
	return res && pq_ready() ? pq_fn.result_status(res) : PGRES_FATAL_ERROR;
}

char *(PQresultErrorField)(const PGresult *res, int fieldcode)
{
	return res && pq_ready() ? pq_fn.result_error_field(res, fieldcode) :
				   NULL;
}

int(PQntuples)(const PGresult *res)
{
	return res && pq_ready() ? pq_fn.ntuples(res) : 0;
}

char *(PQgetvalue)(const PGresult *res, int tup_num, int field_num)
{
	return res && pq_ready() ? pq_fn.getvalue(res, tup_num, field_num) :
				   NULL;
}

int(PQgetlength)(const PGresult *res, int tup_num, int field_num)
{
	return res && pq_ready() ? pq_fn.getlength(res, tup_num, field_num) : 0;
}

int(PQgetisnull)(const PGresult *res, int tup_num, int field_num)
{
	return res && pq_ready() ? pq_fn.getisnull(res, tup_num, field_num) : 1;
}

void(PQclear)(PGresult *res)
{
	if (res && pq_ready())
		pq_fn.clear(res);
}

int(PQsocket)(const PGconn *conn)
{
	return conn && pq_ready() ? pq_fn.socket(conn) : -1;
}

int(PQconsumeInput)(PGconn *conn)
{
	return conn && pq_ready() ? pq_fn.consume_input(conn) : 0;
}

void(PQfreemem)(void *ptr)
{
	if (ptr && pq_ready())
		pq_fn.freemem(ptr);
}

PGnotify *(PQnotifies)(PGconn *conn)
{
	return conn && pq_ready() ? pq_fn.notifies(conn) : NULL;
}

PGTransactionStatusType(PQtransactionStatus)(const PGconn *conn)
{
	return conn && pq_ready() ? pq_fn.transaction_status(conn) :
				    PQTRANS_UNKNOWN;
}

int(PQnfields)(const PGresult *res)
{
	return res && pq_ready() ? pq_fn.nfields(res) : 0;
}

char *(PQcmdTuples)(PGresult *res)
{
	static char none[] = "";
	return res && pq_ready() ? pq_fn.cmd_tuples(res) : none;
}

int(PQenterPipelineMode)(PGconn *conn)
{
	return conn && pq_ready() ? pq_fn.enter_pipeline_mode(conn) : 0;
}

int(PQexitPipelineMode)(PGconn *conn)
{
	return conn && pq_ready() ? pq_fn.exit_pipeline_mode(conn) : 0;
}

int(PQpipelineSync)(PGconn *conn)
{
	return conn && pq_ready() ? pq_fn.pipeline_sync(conn) : 0;
}

PGresult *(PQgetResult)(PGconn *conn)
{
	return conn && pq_ready() ? pq_fn.get_result(conn) : NULL;
}

int(PQsendPrepare)(PGconn *conn, const char *stmtName, const char *query,
		   int nParams, const Oid *paramTypes)
{
	return conn && pq_ready() ? pq_fn.send_prepare(conn, stmtName, query,
						       nParams, paramTypes) :
				    0;
}

int(PQsendQueryParams)(PGconn *conn, const char *command, int nParams,
		       const Oid *paramTypes, const char *const *paramValues,
		       const int *paramLengths, const int *paramFormats,
		       int resultFormat)
{
	return conn && pq_ready() ?
		       pq_fn.send_query_params(conn, command, nParams,
					       paramTypes, paramValues,
					       paramLengths, paramFormats,
					       resultFormat) :
		       0;
}

int(PQsendQueryPrepared)(PGconn *conn, const char *stmtName, int nParams,
			 const char *const *paramValues,
			 const int *paramLengths, const int *paramFormats,
			 int resultFormat)
{
	return conn && pq_ready() ?
		       pq_fn.send_query_prepared(conn, stmtName, nParams,
						 paramValues, paramLengths,
						 paramFormats, resultFormat) :
		       0;
}

int(PQisBusy)(PGconn *conn)
{
	return conn && pq_ready() ? pq_fn.is_busy(conn) : 0;
}

int(PQputCopyData)(PGconn *conn, const char *buffer, int nbytes)
{
	return conn && pq_ready() ? pq_fn.put_copy_data(conn, buffer, nbytes)
				  : -1;
}

int(PQputCopyEnd)(PGconn *conn, const char *errormsg)
{
	return conn && pq_ready() ? pq_fn.put_copy_end(conn, errormsg) : -1;
}

/* ---- libmicrohttpd (src/daemon: http.c, serve.c) -------------------- */

static const char *const MHD_NAMES[] = {
	"MHD_start_daemon_va", "MHD_stop_daemon", "MHD_get_daemon_info",
	"MHD_set_connection_option", "MHD_lookup_connection_value",
	"MHD_create_response_from_buffer", "MHD_create_response_from_callback",
	"MHD_add_response_header", "MHD_queue_response",
	"MHD_destroy_response", NULL};
static struct {
	struct MHD_Daemon *(*start_daemon_va)(unsigned int, uint16_t,
					      MHD_AcceptPolicyCallback, void *,
					      MHD_AccessHandlerCallback, void *,
					      va_list);
	void (*stop_daemon)(struct MHD_Daemon *);
	const union MHD_DaemonInfo *(*get_daemon_info)(struct MHD_Daemon *,
						       enum MHD_DaemonInfoType,
						       ...);
	enum MHD_Result (*set_connection_option)(struct MHD_Connection *,
						 enum MHD_CONNECTION_OPTION,
						 ...);
	const char *(*lookup_connection_value)(struct MHD_Connection *,
					       enum MHD_ValueKind,
					       const char *);
	struct MHD_Response *(*create_response_from_buffer)(
		size_t, void *, enum MHD_ResponseMemoryMode);
	struct MHD_Response *(*create_response_from_callback)(
		uint64_t, size_t, MHD_ContentReaderCallback, void *,
		MHD_ContentReaderFreeCallback);
	enum MHD_Result (*add_response_header)(struct MHD_Response *,
					       const char *, const char *);
	enum MHD_Result (*queue_response)(struct MHD_Connection *,
					  unsigned int, struct MHD_Response *);
	void (*destroy_response)(struct MHD_Response *);
} mhd_fn;
_Static_assert(sizeof(mhd_fn) == (sizeof(MHD_NAMES) / sizeof(*MHD_NAMES) - 1) *
		       sizeof(void *), "one slot per name");
static struct dynlib mhd_lib = {HS_SONAME_MHD,
				"libmicrohttpd (libmicrohttpd12)", MHD_NAMES,
				(void **)&mhd_fn, 0, 0};
#define mhd_ready() dynlib_ready(&mhd_lib)

/* The options list goes on as a va_list (MHD_start_daemon_va). */
struct MHD_Daemon *(MHD_start_daemon)(unsigned int flags, uint16_t port,
				      MHD_AcceptPolicyCallback apc,
				      void *apc_cls,
				      MHD_AccessHandlerCallback dh,
				      void *dh_cls, ...)
{
	struct MHD_Daemon *d;
	va_list ap;
	if (!mhd_ready())
		return NULL;
	va_start(ap, dh_cls);
	d = mhd_fn.start_daemon_va(flags, port, apc, apc_cls, dh, dh_cls, ap);
	va_end(ap);
	return d;
}

void(MHD_stop_daemon)(struct MHD_Daemon *daemon)
{
	if (daemon && mhd_ready())
		mhd_fn.stop_daemon(daemon);
}

/* No info type takes an argument after the type (microhttpd.h). */
const union MHD_DaemonInfo *(MHD_get_daemon_info)(
	struct MHD_Daemon *daemon, enum MHD_DaemonInfoType info_type, ...)
{
	return mhd_ready() ? mhd_fn.get_daemon_info(daemon, info_type) : NULL;
}

/* The one option, MHD_CONNECTION_OPTION_TIMEOUT, takes an unsigned int. */
enum MHD_Result(MHD_set_connection_option)(struct MHD_Connection *connection,
					   enum MHD_CONNECTION_OPTION option,
					   ...)
{
	va_list ap;
	unsigned int v;
	if (!mhd_ready())
		return MHD_NO;
	va_start(ap, option);
	v = va_arg(ap, unsigned int);
	va_end(ap);
	return mhd_fn.set_connection_option(connection, option, v);
}

const char *(MHD_lookup_connection_value)(struct MHD_Connection *connection,
					  enum MHD_ValueKind kind,
					  const char *key)
{
	return mhd_ready() ? mhd_fn.lookup_connection_value(connection, kind,
							     key) :
			     NULL;
}

struct MHD_Response *(MHD_create_response_from_buffer)(
	size_t size, void *buffer, enum MHD_ResponseMemoryMode mode)
{
	return mhd_ready() ? mhd_fn.create_response_from_buffer(size, buffer,
								 mode) :
			     NULL;
}

struct MHD_Response *(MHD_create_response_from_callback)(
	uint64_t size, size_t block_size, MHD_ContentReaderCallback crc,
	void *crc_cls, MHD_ContentReaderFreeCallback crfc)
{
	return mhd_ready() ? mhd_fn.create_response_from_callback(
				     size, block_size, crc, crc_cls, crfc) :
			     NULL;
}

enum MHD_Result(MHD_add_response_header)(struct MHD_Response *response,
					 const char *header,
					 const char *content)
{
	return mhd_ready() ? mhd_fn.add_response_header(response, header,
							 content) :
			     MHD_NO;
}

enum MHD_Result(MHD_queue_response)(struct MHD_Connection *connection,
				    unsigned int status_code,
				    struct MHD_Response *response)
{
	return mhd_ready() ? mhd_fn.queue_response(connection, status_code,
						    response) :
			     MHD_NO;
}

void(MHD_destroy_response)(struct MHD_Response *response)
{
	if (response && mhd_ready())
		mhd_fn.destroy_response(response);
}
