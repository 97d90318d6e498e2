/*
 * assets.h - the status page's files (web/), compiled into the binary.
 *
 * The table is generated at build time by embed.cmake from the files of web/: a C file
 * with each file's bytes, so the daemon needs nothing on disk besides the
 * replica, and the page can never be out of step with the API it talks to.
 */
#ifndef HSD_ASSETS_H
#define HSD_ASSETS_H

#include <stddef.h>

typedef struct hsd_asset {
	const char *path;         /* URL path: "/" for index.html, "/app.js" */
	const char *content_type;
	const unsigned char *data;
	size_t len;
} hsd_asset;

/* The asset served at path, or NULL. */
const hsd_asset *hsd_asset_find(const char *path);

#endif
