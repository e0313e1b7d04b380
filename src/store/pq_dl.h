/*
 * src/store/pq_dl.h: libpq, loaded when the first DATABASE_URL is used.
 * Included by pg_int.h after <libpq-fe.h>: every PQ* call of the store
 * goes through pq_api, filled by pq_load().
 */
#ifndef SK_STORE_PQ_DL_H
#define SK_STORE_PQ_DL_H

#include <stddef.h>
#include <libpq-fe.h>

#define PQ_FUNCS(X) \
	X(PQconnectStartParams) X(PQconnectPoll) X(PQstatus) X(PQerrorMessage) \
	X(PQfinish) X(PQsocket) X(PQsetnonblocking) X(PQsetNoticeProcessor) \
	X(PQflush) X(PQsendQueryParams) X(PQsendQuery) X(PQisBusy) \
	X(PQgetResult) X(PQconsumeInput) X(PQresultStatus) \
	X(PQresultErrorMessage) X(PQresultErrorField) X(PQresStatus) \
	X(PQntuples) X(PQnfields) X(PQgetvalue) X(PQgetlength) \
	X(PQgetisnull) X(PQclear) X(PQfreemem) X(PQconninfoParse) \
	X(PQconninfoFree)

struct pq_api {
#define PQ_FIELD(f) __typeof__(&f) f;
	PQ_FUNCS(PQ_FIELD)
#undef PQ_FIELD
};
extern struct pq_api pq_api;

/* 0 when libpq is there (loaded now or before); -1 with `err` set. */
int pq_load(char *err, size_t errlen);

#ifndef PQ_DL_IMPL
#define PQconnectStartParams pq_api.PQconnectStartParams
#define PQconnectPoll pq_api.PQconnectPoll
#define PQstatus pq_api.PQstatus
#define PQerrorMessage pq_api.PQerrorMessage
#define PQfinish pq_api.PQfinish
#define PQsocket pq_api.PQsocket
#define PQsetnonblocking pq_api.PQsetnonblocking
#define PQsetNoticeProcessor pq_api.PQsetNoticeProcessor
#define PQflush pq_api.PQflush
#define PQsendQueryParams pq_api.PQsendQueryParams
#define PQsendQuery pq_api.PQsendQuery
#define PQisBusy pq_api.PQisBusy
#define PQgetResult pq_api.PQgetResult
#define PQconsumeInput pq_api.PQconsumeInput
#define PQresultStatus pq_api.PQresultStatus
#define PQresultErrorMessage pq_api.PQresultErrorMessage
#define PQresultErrorField pq_api.PQresultErrorField
#define PQresStatus pq_api.PQresStatus
#define PQntuples pq_api.PQntuples
#define PQnfields pq_api.PQnfields
#define PQgetvalue pq_api.PQgetvalue
#define PQgetlength pq_api.PQgetlength
#define PQgetisnull pq_api.PQgetisnull
#define PQclear pq_api.PQclear
#define PQfreemem pq_api.PQfreemem
#define PQconninfoParse pq_api.PQconninfoParse
#define PQconninfoFree pq_api.PQconninfoFree
#endif
#endif
