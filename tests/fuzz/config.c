/* config: the file parsers a user (or an attacker with write access to a shared scenario
 * folder) hands precraft: scenarios, route tables, cost profiles, model files (ml's and xgb's),
 * tunnel files; and the DNS answers eval reads off the wire.  Byte 0 picks the parser; the rest
 * is the file.  Required: no crash, no leak, and every refusal is an error with a message; a
 * loaded xgb model's trees are walked (every walk must end). */
#include <string.h>

#include "core/esp.h"
#include "core/route.h"
#include "fuzz.h"
#include "core/dns.h"
#include "models/ml.h"
#include "models/xgb.h"
#include "sim/costs.h"
#include "sim/scenario.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const char *path = fuzz_file(data + 1, size - 1, "");
	struct errbuf eb = { "" };
	int rc = 0;
	switch (data[0] % 7) {
	case 0: {
		static struct scenario s;
		scenario_defaults(&s);
		rc = scenario_load(&s, path, &eb);
		break;
	}
	case 1: {
		struct route_table *rt = NULL;
		FUZZ_REQUIRE(route_table_create(&rt) == 0);
		rc = route_load_file(rt, path, &eb);
		if (rc == 0) {
			const uint8_t a4[4] = { 10, 1, 2, 3 }, a6[16] = { 0xfd, 1 };
			(void)route_lookup4(rt, a4);
			(void)route_lookup6(rt, a6);
		}
		route_table_destroy(rt);
		break;
	}
	case 2: {
		struct cost_profile c;
		memset(&c, 0, sizeof c);
		rc = costs_load(path, &c, &eb);
		break;
	}
	case 3: {
		struct ml_model m;
		rc = ml_model_load(path, &m, &eb);
		if (rc == 0)
			ml_model_free(&m);
		break;
	}
	case 5: {
		struct xgb_model m;
		rc = xgb_model_load(path, &m, &eb);
		if (rc == 0) {
			float x[XGB_NF] = { 0 }, margin[XGB_N_CAND];
			(void)xgb_walk(&m.gap, x);
			if (m.size.n_trees)
				(void)xgb_walk_class(&m.size, x, margin);
			xgb_model_free(&m);
		}
		break;
	}
	case 6: {
		struct dns_record r[DNS_MAX_RECORDS];
		FUZZ_REQUIRE(dns_answer_addrs(data + 1, (uint32_t)(size - 1), r) <= DNS_MAX_RECORDS);
		break;
	}
	default: {
		struct esp_conf *c = NULL;
		rc = esp_conf_load(path, &c, &eb);
		if (rc == 0) {
			const uint8_t a4[4] = { 10, 1, 2, 3 }, a6[16] = { 0xfd, 1 };
			FUZZ_REQUIRE(esp_conf_count(c) > 0);
			/* What the refusals promise of a file that loads: no two SAs seal with one key
			 * and salt (the same nonces), no prefix with host bits matches. */
			for (size_t i = 0; i < esp_conf_count(c); i++)
				for (size_t j = i + 1; j < esp_conf_count(c); j++)
					FUZZ_REQUIRE(memcmp(esp_conf_sa(c, i)->key, esp_conf_sa(c, j)->key, 32) ||
						     memcmp(esp_conf_sa(c, i)->salt, esp_conf_sa(c, j)->salt, 4));
			(void)esp_conf_match(c, 4, a4);
			(void)esp_conf_match(c, 6, a6);
			/* A gateway's local addresses: no SA both seals and opens; each opening SA is the
			 * one found by its SPI (index). */
			if (esp_conf_set_local(c, "192.0.2.1,203.0.113.1,2001:db8::1", "local", &eb) == 0) {
				for (size_t i = 0; i < esp_conf_count(c); i++) {
					const struct esp_sa_conf *sa = esp_conf_sa(c, i);
					unsigned r = esp_conf_role(c, i);
					FUZZ_REQUIRE(r != (ESP_SEALS | ESP_OPENS));
					FUZZ_REQUIRE(!(r & ESP_OPENS) || esp_conf_find(c, sa->kind, sa->spi) == (int)i);
				}
				(void)esp_conf_match(c, 4, a4);
			}
		}
		esp_conf_destroy(c);
		break;
	}
	}
	FUZZ_REQUIRE(rc == 0 || eb.msg[0]);
	fuzz_file_close();
	return 0;
}
