/* modelfile: see modelfile.h. */
#include "modelfile.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void mf_put(struct mf_buf *w, uint64_t v, unsigned bytes)
{
	for (unsigned i = 0; i < bytes && w->n < w->cap; i++)
		w->p[w->n++] = (uint8_t)(v >> (8 * i));
}

uint64_t mf_get(const uint8_t *p, unsigned bytes)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < bytes; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

uint64_t mf_hash(const uint8_t *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
}

int mf_write(const char *path, struct mf_buf *w, struct errbuf *eb)
{
	mf_put(w, mf_hash(w->p, w->n), 8);
	FILE *f = fopen(path, "wb");
	if (!f)
		return err_set(eb, -ERR_IO, "%s: cannot write the model file: %s", path, strerror(errno));
	bool ok = fwrite(w->p, 1, w->n, f) == w->n;
	int e = errno;
	if (fclose(f) != 0 && ok) { /* closed once, whatever failed: a second fclose freed twice */
		ok = false;
		e = errno;
	}
	return ok ? 0 : err_set(eb, -ERR_IO, "%s: cannot write the model file: %s", path, strerror(e));
}

int mf_read(const char *path, size_t head, mf_size_fn size, uint8_t **out, size_t *out_n, struct errbuf *eb)
{
	*out = NULL;
	FILE *f = fopen(path, "rb");
	if (!f)
		return err_set(eb, -ERR_IO, "%s: cannot open the model file: %s", path, strerror(errno));
	/* The header first: it says how long the file is, so that a file that is not a model (or
	 * /dev/zero) is refused after its header, and no more than the header's size is read. */
	uint8_t *p = malloc(head);
	size_t n = p ? fread(p, 1, head, f) : 0, want = 0;
	int rc = !p ? err_set(eb, -ERR_NOMEM, "%s: out of memory reading the model", path)
	       : ferror(f) ? err_set(eb, -ERR_IO, "%s: read error", path)
			   : size(path, p, n, &want, eb);
	if (!rc && want < n)
		rc = err_set(eb, -ERR_FORMAT, "%s: model file is %zu bytes, its header says %zu (truncated or padded)", path,
			     n, want);
	if (!rc) {
		uint8_t *q = realloc(p, want + 1);
		if (!q)
			rc = err_set(eb, -ERR_NOMEM, "%s: out of memory reading the model", path);
		else
			p = q;
	}
	if (!rc) {
		n += fread(p + n, 1, want + 1 - n, f); /* one byte more than wanted: a padded file shows */
		if (ferror(f))
			rc = err_set(eb, -ERR_IO, "%s: read error", path);
	}
	fclose(f);
	if (!rc && n != want)
		rc = err_set(eb, -ERR_FORMAT, "%s: model file is %zu bytes, its header says %zu (truncated or padded)", path,
			     n, want);
	if (!rc && (want < 8 || mf_get(p + n - 8, 8) != mf_hash(p, n - 8)))
		rc = err_set(eb, -ERR_FORMAT, "%s: model file corrupt (checksum mismatch)", path);
	if (rc) {
		free(p);
		return rc;
	}
	*out = p;
	*out_n = n;
	return 0;
}
