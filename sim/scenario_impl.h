/* scenario_impl: the key table's value checks (scenario_check.c), for scenario.c's table.  Each
 * returns NULL when 'v' is good for its key, else what it should be.  Not a public header. */
#ifndef PRECRAFT_SIM_SCENARIO_IMPL_H
#define PRECRAFT_SIM_SCENARIO_IMPL_H

struct scenario;

const char *scn__check_ipv4(const struct scenario *s, const char *v);
const char *scn__check_rate(const struct scenario *s, const char *v);
const char *scn__check_ports(const struct scenario *s, const char *v);
const char *scn__check_predictor(const struct scenario *s, const char *v);
const char *scn__check_file(const struct scenario *s, const char *v);
const char *scn__check_file_opt(const struct scenario *s, const char *v);
const char *scn__check_compress(const struct scenario *s, const char *v);

#endif
