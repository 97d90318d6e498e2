/*
 * fuzz_wire.c - the sync protocol's frame decoder (src/lib/wire.c), as a
 * hostile client's request or a hostile server's answer reaches it.
 *
 * Input: byte 0 picks the form. Even: the rest is the decompressed frames
 * (type, length, payload...), which the target compresses into a proper
 * stream, so that the fuzzer explores frame contents rather than zstd.
 * Odd: the rest is the stream as sent (magic, zstd), raw. Each frame is
 * then decoded with the getters its type calls for (push row, pulled row,
 * row set, or a run of values, texts and numbers). Decoding must succeed
 * or fail cleanly; never crash, leak or read outside its buffers.
 * Seeds: fuzz/corpus/wire/.
 */
#include "wire.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct src {
	const uint8_t *p;
	size_t n, pos;
} src;

static long src_read(void *ctx, void *p, size_t n)
{
	src *s = ctx;
	if (n > s->n - s->pos)
		n = s->n - s->pos;
	if (n > 13)
		n = 13; /* odd pieces, as a network gives them */
	memcpy(p, s->p + s->pos, n);
	s->pos += n;
	return (long)n;
}

static int buf_write(void *ctx, const void *p, size_t n)
{
	hs_buf_putn(ctx, p, n);
	return 0;
}

static sqlite3 *db;
static sqlite3_stmt *select1;

static void decode_frame(hs_wire_in *in, int type)
{
	hs_changeset cs = {0};
	hs_rowset rs = {0};
	int npk;
	switch (type) {
	case HS_F_PUSHROW:
		hs_wire_get_pushrow(in, &cs, &npk);
		break;
	case HS_F_PULLROW:
		hs_wire_get_pullrow(in, &cs, &npk);
		break;
	case HS_F_SITES:
	case HS_F_RESOLVE:
		hs_wire_get_rowset(in, &rs);
		break;
	default:
		for (int i = 0; !in->err && in->pos < in->flen && i < 64; i++) {
			switch (i % 4) {
			case 0:
				sqlite3_value_free(hs_wire_get_value(in));
				break;
			case 1:
				free(hs_wire_get_text(in));
				break;
			case 2:
				hs_wire_get_int(in);
				break;
			default:
				hs_wire_get_count(in);
			}
		}
	}
	hs_changeset_clear(&cs);
	hs_rowset_clear(&rs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	hs_buf b;
	src s;
	hs_wire_in in;
	int t;
	if (!db) {
		sqlite3_open(":memory:", &db);
		hs_select1_prepare(db, &select1);
	}
	if (size < 1)
		return 0;
	hs_buf_init(&b);
	if (data[0] & 1) {
		s.p = data + 1;
		s.n = size - 1;
	} else {
		/* a proper stream around the given frame bytes */
		hs_wire_out w;
		hs_wire_out_init(&w, buf_write, &b, 1);
		hs_wire_out_raw(&w, data + 1, size - 1);
		hs_wire_out_finish(&w);
		hs_wire_out_free(&w);
		s.p = (const uint8_t *)b.s;
		s.n = b.len;
	}
	s.pos = 0;
	if (hs_wire_in_init(&in, src_read, &s, select1) == 0)
		while ((t = hs_wire_next(&in)) > 0)
			decode_frame(&in, t);
	hs_wire_in_free(&in);
	hs_buf_free(&b);
	return 0;
}
