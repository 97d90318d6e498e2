/*
 * users.h - the users of a hubsync serve store (users.c): the public
 * hs_user_* functions, and who a request's token is for server.c.
 */
#ifndef HS_USERS_H
#define HS_USERS_H

#include "hubsync.h"
#include "util.h"

struct hs_server_user {
	char *name;
	int read_only;
	int limited;   /* 1: only tables[] */
	char **tables;
	int ntables;
};

/* STORE/users.db (malloc'd). */
char *hs_users_path(const char *store);
/* The user whose token is token: HS_OK and *out, HS_EINVALID when no
 * user has it (err: why), another code when the users cannot be read. */
int hs_users_find(const char *store, const char *token, hs_server_user **out,
		  hs_buf *err);
void hs_users_free(hs_server_user *u);
/* Add every user of store from (token hashes as they are: the tokens
 * keep working) to store to; *copied: how many. None is fine (a store
 * without users). HS_EINVALID when to has one of them already. */
int hs_users_copy(const char *from, const char *to, int *copied, hs_buf *err);
/* 1 if u may sync table. */
int hs_users_may(const hs_server_user *u, const char *table);

#endif
