/* esp_testlib: what the tunnel's test files share: a tunnel file written from text and read. */
#ifndef PRECRAFT_ESP_TESTLIB_H
#define PRECRAFT_ESP_TESTLIB_H

#include <CUnit/CUnit.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "esp.h"

/* esp_conf_load of 'text', through a temporary file removed after: its result. */
static inline int esp_test_load(const char *text, struct esp_conf **c, struct errbuf *eb)
{
	char path[] = "/tmp/precraft-esp-XXXXXX"; /* mkstemp's template: a name no other run has */
	int fd = mkstemp(path);
	CU_ASSERT_FATAL(fd >= 0);
	size_t n = strlen(text);
	ssize_t w = write(fd, text, n);
	close(fd);
	CU_ASSERT_FATAL(w == (ssize_t)n);
	int rc = esp_conf_load(path, c, eb);
	unlink(path);
	return rc;
}

#endif
