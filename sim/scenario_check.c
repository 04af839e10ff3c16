/* scenario_check: what a scenario key's value must be (the key table's checks, scenario.c), and
 * the port lists of policy.high_ports and low_ports. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <unistd.h>

#include "core/policy.h"
#include "models/registry.h"
#include "scenario.h"
#include "scenario_impl.h"

int scenario_ports(const char *list, uint16_t *ports, uint8_t *n)
{
	*n = 0;
	for (const char *s = list; *s;) {
		char *end;
		errno = 0;
		unsigned long v = strtoul(s, &end, 10);
		if (end == s || errno || v > 65535 || (*end && *end != ',') || *n == POLICY_MAX_PORTS || *s == '-')
			return -ERR_FORMAT;
		ports[(*n)++] = (uint16_t)v;
		s = *end ? end + 1 : end;
	}
	return 0;
}

const char *scn__check_ipv4(const struct scenario *s, const char *v)
{
	(void)s;
	uint8_t a[4];
	return !*v || inet_pton(AF_INET, v, a) == 1 ? NULL : "an IPv4 address, or nothing";
}

/* A link slower than 1 kbit/s would take hours for one frame, and below about 1e-9 Mbit/s a
 * frame's transmission time no longer fits 64-bit nanoseconds (1e-200 behaved as infinitely
 * fast): 0 (infinite) or from 0.001 Mbit/s, so that the largest frame takes at most 2.1 s. */
const char *scn__check_rate(const struct scenario *s, const char *v)
{
	(void)s;
	double r = strtod(v, NULL);
	return r == 0 || r >= SCN_RATE_MIN_MBPS ? NULL : "0 (infinite) or from 0.001 Mbit/s";
}

const char *scn__check_ports(const struct scenario *s, const char *v)
{
	(void)s;
	uint16_t p[POLICY_MAX_PORTS];
	uint8_t n;
	return scenario_ports(v, p, &n) ? "up to 8 comma-separated ports" : NULL;
}

const char *scn__check_predictor(const struct scenario *s, const char *v)
{
	(void)s;
	return models_find(v) ? NULL : "a predictor's name (see 'precraft predictors')";
}

const char *scn__check_compress(const struct scenario *s, const char *v)
{
	(void)s;
	return !*v || !strcmp(v, "none") || !strcmp(v, "vj") || models_find(v)
		       ? NULL
		       : "none, vj, or a predictor's name (last, header, ml, xgb: see 'precraft predictors')";
}

const char *scn__check_file(const struct scenario *s, const char *v)
{
	char path[SCN_PATH * 2];
	if (strcmp(v, "default") == 0)
		return NULL;
	scenario_resolve(s, v, path, sizeof path);
	return access(path, R_OK) == 0 ? NULL : "'default' or a readable file (relative to the scenario's folder)";
}

const char *scn__check_file_opt(const struct scenario *s, const char *v)
{
	char path[SCN_PATH * 2];
	if (!v[0] || !strcmp(v, "none"))
		return NULL;
	scenario_resolve(s, v, path, sizeof path);
	return access(path, R_OK) == 0 ? NULL : "empty, none, or a readable file (relative to the scenario's folder)";
}
