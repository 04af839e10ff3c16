/* modelfile: what the trained predictors' model files share (doc/model-format.md): fields
 * little-endian, an FNV-1a 64 checksum of every byte before it at the end, and a reader that
 * reads the header first and then no more than the header says the file holds. */
#ifndef PRECRAFT_MODELS_MODELFILE_H
#define PRECRAFT_MODELS_MODELFILE_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

/* A file image being written: 'cap' bytes at 'p', 'n' used.  mf_put past 'cap' writes nothing
 * (the caller sizes the buffer from what it will write). */
struct mf_buf {
	uint8_t *p;
	size_t n, cap;
};

void mf_put(struct mf_buf *w, uint64_t v, unsigned bytes);
uint64_t mf_get(const uint8_t *p, unsigned bytes);
uint64_t mf_hash(const uint8_t *p, size_t n);

/* Appends the checksum (w->cap must leave 8 bytes for it) and writes 'w' to 'path'. */
int mf_write(const char *path, struct mf_buf *w, struct errbuf *eb) WARN_UNUSED;

/* From the first 'n' bytes of a file (at least its header, if it has one), the whole length the
 * header declares, in '*want'; or a negative ERR_* with detail for a file that is not the model. */
typedef int (*mf_size_fn)(const char *path, const uint8_t *p, size_t n, size_t *want, struct errbuf *eb);

/* Reads the model file 'path': its first 'head' bytes, then what 'size' says the file holds and
 * one byte more (so that padding shows); checks the length and the checksum.  '*p' (malloc'd,
 * the caller frees it) holds the '*n' bytes.  Returns 0 or a negative ERR_* with detail. */
int mf_read(const char *path, size_t head, mf_size_fn size, uint8_t **p, size_t *n, struct errbuf *eb) WARN_UNUSED;

#endif
