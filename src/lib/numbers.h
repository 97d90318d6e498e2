/*
 * numbers.h - numbered series (quote and project numbers) that stay unique
 * across PCs while offline: each replica draws from blocks it reserved
 * from the master (private part; the API is in hubsync.h).
 */
#ifndef HS_NUMBERS_H
#define HS_NUMBERS_H

#include "master.h"
#include "replica.h"

#define HS_NUMBER_BLOCK_DEFAULT 20

/* The blocks reserved and the series known (hs_exec, CREATE ... IF NOT
 * EXISTS): made with the replica's metadata (hs_schema_create_meta), and
 * again where they are used (a replica an older hubsync made). */
extern const char *const HS_NUMBERS_DDL;

/* Under the master lock: reserve a fresh block for every series this
 * replica uses whose reserve is below half a block. The blocks are kept
 * in *blocks (series, first, last) for hs_numbers_store. HS_OK, or an
 * hs_error with err set. */
int hs_numbers_top_up(hs_replica *r, hs_master *m, hs_rowset *blocks,
		      hs_buf *err);
/* In the local transaction: add the reserved blocks. SQLite code. */
int hs_numbers_store(hs_replica *r, const hs_rowset *blocks);

#endif
