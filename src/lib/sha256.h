/*
 * sha256.h - SHA-256 (FIPS 180-4), for the tokens of hubsync serve, which
 * are kept hashed (users.c). Small and dependency-free so that every build
 * (Windows too) has it.
 */
#ifndef HS_SHA256_H
#define HS_SHA256_H

#include <stddef.h>

/* The digest of n bytes at p as 64 lowercase hex digits into out[65]. */
void hs_sha256_hex(const void *p, size_t n, char out[65]);

#endif
