/*
 * test_rules_parse.c - unit tests for the rule loader
 * (collectors/pcap/rules_parse.c): every supported keyword, every error
 * path and its counted reason, variables ([vars] and Suricata's
 * defaults), line handling (continuations, comments, CRLF, over-long
 * lines), duplicates, the rule limit, and a 30,000-rule file of mixed
 * supported and unsupported rules where every rule must be either loaded
 * or reported.  Rule texts follow the examples of Suricata's rule
 * documentation (payload, header, flow and threshold keywords).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/config.h"
#include "collectors/pcap/rules.h"

struct reports {
	size_t	 n;
	char	 last[512];
	char	 first[512];
};

static void
rep(void *arg, const char *line)
{
	struct reports *r = arg;

	if (r->n == 0)
		snprintf(r->first, sizeof(r->first), "%s", line);
	snprintf(r->last, sizeof(r->last), "%s", line);
	r->n++;
}

static struct reports R;

static struct pk_ruleset *
load_cfg(const struct pk_config *cfg, const char *text)
{
	struct pk_ruleset *rs = pk_ruleset_new(cfg);

	assert_non_null(rs);
	memset(&R, 0, sizeof(R));
	pk_ruleset_set_reporter(rs, rep, &R);
	assert_true(pk_ruleset_load_text(rs, "dir/t.rules", text,
	    strlen(text)) >= 0);
	return rs;
}

static struct pk_ruleset *
load(const char *text)
{
	return load_cfg(NULL, text);
}

/* Load one rule that must parse. */
static struct pk_ruleset *
one(const char *text)
{
	struct pk_ruleset *rs = load(text);

	if (pk_ruleset_count(rs) != 1)
		fail_msg("not loaded: %s\n  -> %s", text, R.last);
	return rs;
}

static uint64_t
reason_count(const struct pk_ruleset *rs, const char *reason)
{
	const char *t;
	uint64_t n;
	size_t i;

	for (i = 0; (t = pk_ruleset_reason(rs, i, &n)) != NULL; i++)
		if (strcmp(t, reason) == 0)
			return n;
	return 0;
}

static void
test_dcom_rule(void **state)
{
	struct pk_ruleset *rs = one(
	    "alert tcp $EXTERNAL_NET any -> $HOME_NET 135 (msg:\"MS03-026 "
	    "DCOM RPC\"; flow:to_server,established; content:\"|05 00 0B|\"; "
	    "depth:3; content:\"|B8 4A 9F 4D 1C 7D CF 11|\"; distance:29; "
	    "within:8; reference:cve,2003-0352; reference:url,x.example; "
	    "classtype:attempted-admin; sid:2100001; rev:3; "
	    "metadata:created_at 2003_08_11;)");
	const struct pk_rule *r = pk_ruleset_rule(rs, 0);

	(void)state;
	assert_int_equal(r->sid, 2100001);
	assert_int_equal(r->rev, 3);
	assert_int_equal(r->gid, 1);
	assert_string_equal(r->msg, "MS03-026 DCOM RPC");
	assert_string_equal(r->classtype, "attempted-admin");
	assert_string_equal(r->reference, "cve:2003-0352");
	assert_string_equal(r->file, "t.rules");
	assert_int_equal(r->line, 1);
	assert_int_equal(r->priority, 1);	/* from the classtype */
	assert_int_equal(r->proto, PK_RP_TCP);
	assert_int_equal(r->flow, PK_FLOW_TO_SERVER | PK_FLOW_ESTABLISHED);
	assert_int_equal(r->ncontents, 2);
	assert_int_equal(r->c[0].len, 3);
	assert_memory_equal(r->c[0].pat, "\x05\x00\x0b", 3);
	assert_true(r->c[0].has_depth && r->c[0].depth == 3);
	assert_true(r->c[0].relative_next);
	assert_true(r->c[1].relative);
	assert_int_equal(r->c[1].distance, 29);
	assert_int_equal(r->c[1].within, 8);
	assert_int_equal(r->fast, 1);		/* the longest */
	assert_int_equal(r->dport.single, 135);
	assert_int_equal(r->src.n[0].kind, PK_RN_HOME);
	assert_true(r->src.n[0].neg);		/* !$HOME_NET */
	assert_int_equal(r->dst.n[0].kind, PK_RN_HOME);
	assert_false(r->dst.n[0].neg);
	assert_true(r->sport.any);
	pk_ruleset_free(rs);
}

static void
test_content_encodings(void **state)
{
	/* the docs' three spellings of the same bytes */
	struct pk_ruleset *rs = load(
	    "alert tcp any any -> any any (content:\"a|0D|bc\"; sid:1;)\n"
	    "alert tcp any any -> any any (content:\"|61 0D 62 63|\"; sid:2;)\n"
	    "alert tcp any any -> any any (content:\"a|0D|b|63|\"; sid:3;)\n"
	    "alert tcp any any -> any any (content:\"http|3A|//\"; sid:4;)\n"
	    "alert tcp any any -> any any (content:\"a\\;b\\\"c\\\\d\\:e\"; "
	    "sid:5;)\n"
	    "alert tcp any any -> any any (content: ! \"Firefox/3.6.13\"; "
	    "sid:6;)\n"
	    "alert tcp any any -> any any (content:\"|90 90|\"; "
	    "content:\"x\"; fast_pattern; rawbytes; sid:7;)\n"
	    "alert tcp any any -> any any (content:\"ab\"; fast_pattern:only; "
	    "sid:8;)\n");
	const struct pk_rule *r;
	size_t i;

	(void)state;
	assert_int_equal(pk_ruleset_count(rs), 8);
	for (i = 0; i < 3; i++) {
		r = pk_ruleset_rule(rs, i);
		assert_int_equal(r->c[0].len, 4);
		assert_memory_equal(r->c[0].pat, "a\rbc", 4);
	}
	r = pk_ruleset_rule(rs, 3);
	assert_memory_equal(r->c[0].pat, "http://", 7);
	r = pk_ruleset_rule(rs, 4);
	assert_int_equal(r->c[0].len, 9);
	assert_memory_equal(r->c[0].pat, "a;b\"c\\d:e", 9);
	r = pk_ruleset_rule(rs, 5);
	assert_true(r->c[0].negated);
	assert_int_equal(r->fast, -1);		/* negated: no prefilter */
	r = pk_ruleset_rule(rs, 6);
	assert_int_equal(r->fast, 1);		/* fast_pattern wins */
	r = pk_ruleset_rule(rs, 7);
	assert_true(r->c[0].fast_only);
	pk_ruleset_free(rs);
}

static void
test_modifiers(void **state)
{
	struct pk_ruleset *rs = one(
	    "alert tcp any any -> any any (content:\"def\"; offset:3; depth:3; "
	    "content:\"here\"; nocase; distance:-10; within:20; "
	    "content:\"z\"; distance:0; sid:1;)");
	const struct pk_rule *r = pk_ruleset_rule(rs, 0);

	(void)state;
	assert_true(r->c[0].has_offset && r->c[0].offset == 3);
	assert_true(r->c[0].has_depth && r->c[0].depth == 3);
	assert_false(r->c[0].relative);
	assert_true(r->c[1].nocase);
	assert_int_equal(r->c[1].distance, -10);
	assert_true(r->c[1].has_within);
	assert_true(r->c[1].relative_next);
	assert_true(r->c[2].has_distance && !r->c[2].has_within);
	pk_ruleset_free(rs);
}

static void
test_header_options(void **state)
{
	struct pk_ruleset *rs = load(
	    "alert tcp any any -> any any (flags:S,12; sid:1;)\n"
	    "alert tcp any any -> any any (flags:SA+; sid:2;)\n"
	    "alert tcp any any -> any any (flags:!F; sid:3;)\n"
	    "alert tcp any any -> any any (flags:*SF; sid:4;)\n"
	    "alert tcp any any -> any any (flags:0; sid:5;)\n"
	    "alert ip any any -> any any (flags:CE; sid:6;)\n"
	    "alert udp any any -> any any (dsize:10; sid:10;)\n"
	    "alert udp any any -> any any (dsize:<10; sid:11;)\n"
	    "alert udp any any -> any any (dsize:>8; sid:12;)\n"
	    "alert udp any any -> any any (dsize:8<>20; sid:13;)\n"
	    "alert udp any any -> any any (dsize:!9; sid:14;)\n"
	    "alert udp any any -> any any (dsize:<=10; sid:15;)\n"
	    "alert udp any any -> any any (dsize:>=10; sid:16;)\n"
	    "alert tcp any any -> any any (flow:from_server,not_established; "
	    "sid:20;)\n"
	    "alert tcp any any -> any any (flow:stateless; sid:21;)\n"
	    "alert tcp any any -> any any (flow:to_client, only_stream; "
	    "sid:22;)\n"
	    "alert tcp any any -> any any (flow:no_stream; sid:23;)\n"
	    "alert icmp any any <> any any (gid:3; priority:2; rev:0; "
	    "classtype:misc-activity; sid:30;)\n");
	const struct pk_rule *r;

	(void)state;
	assert_int_equal(pk_ruleset_skipped(rs), 0);
	assert_int_equal(pk_ruleset_count(rs), 18);
	r = pk_ruleset_rule(rs, 0);
	assert_int_equal(r->flags_mod, PK_FM_EXACT);
	assert_int_equal(r->flags_val, PK_TH_SYN);
	assert_int_equal(r->flags_keep, 0x3f);
	r = pk_ruleset_rule(rs, 1);
	assert_int_equal(r->flags_mod, PK_FM_PLUS);
	assert_int_equal(r->flags_val, PK_TH_SYN | PK_TH_ACK);
	assert_int_equal(pk_ruleset_rule(rs, 2)->flags_mod, PK_FM_NOT);
	assert_int_equal(pk_ruleset_rule(rs, 3)->flags_mod, PK_FM_ANY);
	assert_int_equal(pk_ruleset_rule(rs, 4)->flags_val, 0);
	assert_int_equal(pk_ruleset_rule(rs, 5)->flags_val,
	    PK_TH_CWR | PK_TH_ECE);
	assert_int_equal(pk_ruleset_rule(rs, 6)->dsize_op, PK_DS_EQ);
	assert_int_equal(pk_ruleset_rule(rs, 7)->dsize_op, PK_DS_LT);
	assert_int_equal(pk_ruleset_rule(rs, 8)->dsize_op, PK_DS_GT);
	r = pk_ruleset_rule(rs, 9);
	assert_int_equal(r->dsize_op, PK_DS_RANGE);
	assert_int_equal(r->dsize_lo, 8);
	assert_int_equal(r->dsize_hi, 20);
	assert_int_equal(pk_ruleset_rule(rs, 10)->dsize_op, PK_DS_NE);
	assert_int_equal(pk_ruleset_rule(rs, 11)->dsize_op, PK_DS_LE);
	assert_int_equal(pk_ruleset_rule(rs, 12)->dsize_op, PK_DS_GE);
	assert_int_equal(pk_ruleset_rule(rs, 13)->flow,
	    PK_FLOW_TO_CLIENT | PK_FLOW_NOT_ESTABLISHED);
	assert_int_equal(pk_ruleset_rule(rs, 14)->flow, PK_FLOW_STATELESS);
	assert_int_equal(pk_ruleset_rule(rs, 15)->flow,
	    PK_FLOW_TO_CLIENT | PK_FLOW_ONLY_STREAM);
	assert_int_equal(pk_ruleset_rule(rs, 16)->flow, PK_FLOW_NO_STREAM);
	r = pk_ruleset_rule(rs, 17);
	assert_int_equal(r->gid, 3);
	assert_int_equal(r->priority, 2);	/* keyword beats classtype */
	assert_true(r->bidir);
	assert_int_equal(r->proto, PK_RP_ICMP);
	pk_ruleset_free(rs);
}

static void
test_thresholds(void **state)
{
	struct pk_ruleset *rs = load(
	    "alert tcp !$HOME_NET any -> $HOME_NET 25 (msg:\"spambot\"; "
	    "flow:established; content:\"mail from|3a|\"; nocase; "
	    "threshold: type threshold, track by_src, count 10, seconds 60; "
	    "sid:2002087; rev:10;)\n"
	    "alert tcp any any -> any any (threshold: type limit, track by_dst, "
	    "seconds 180, count 1; sid:2;)\n"
	    "alert tcp any any -> any any (threshold:type both,track by_both,"
	    "count 5,seconds 360; sid:3;)\n"
	    "alert tcp any any -> any any (detection_filter:track by_src,"
	    "count 15,seconds 2; sid:4;)\n"
	    "alert tcp any any -> any any (threshold: type limit, track "
	    "by_rule, count 1, seconds 1; sid:5;)\n");
	const struct pk_rule *r;

	(void)state;
	assert_int_equal(pk_ruleset_count(rs), 5);
	r = pk_ruleset_rule(rs, 0);
	assert_int_equal(r->th_type, PK_RT_THRESHOLD);
	assert_int_equal(r->th_track, PK_TRACK_SRC);
	assert_int_equal(r->th_count, 10);
	assert_int_equal(r->th_seconds, 60);
	r = pk_ruleset_rule(rs, 1);
	assert_int_equal(r->th_type, PK_RT_LIMIT);
	assert_int_equal(r->th_track, PK_TRACK_DST);
	assert_int_equal(r->th_seconds, 180);
	assert_int_equal(pk_ruleset_rule(rs, 2)->th_type, PK_RT_BOTH);
	assert_int_equal(pk_ruleset_rule(rs, 2)->th_track, PK_TRACK_BOTH);
	r = pk_ruleset_rule(rs, 3);
	assert_int_equal(r->th_type, PK_RT_DETECTION);
	assert_int_equal(r->th_count, 15);
	assert_int_equal(pk_ruleset_rule(rs, 4)->th_track, PK_TRACK_RULE);
	pk_ruleset_free(rs);
}

static void
test_lists(void **state)
{
	struct pk_ruleset *rs = load(
	    "alert tcp [10.0.0.0/8,!10.1.2.3] 1024: -> ![1.1.1.1, 2.2.2.2] "
	    ":1023 (sid:1;)\n"
	    "alert tcp [192.168.0.0/16,[!192.168.1.0/24,192.168.1.7]] 80:90 "
	    "-> 2001:db8::/32 [80,443,8000:8100] (sid:2;)\n"
	    "alert tcp any $HTTP_PORTS -> any !$HTTP_PORTS (sid:3;)\n"
	    "alert tcp any $FILE_DATA_PORTS -> any $SHELLCODE_PORTS (sid:4;)\n"
	    "alert udp $HOME_NET any -> $AIM_SERVERS $TEREDO_PORTS (sid:5;)\n");
	const struct pk_rule *r;

	(void)state;
	assert_int_equal(pk_ruleset_count(rs), 5);
	r = pk_ruleset_rule(rs, 0);
	assert_int_equal(r->src.len, 3);
	assert_int_equal(r->src.n[0].kind, PK_RN_GROUP);
	assert_int_equal(r->src.n[0].size, 3);
	assert_true(r->src.n[2].neg);
	assert_int_equal(r->sport.n[0].lo, 1024);
	assert_int_equal(r->sport.n[0].hi, 65535);
	assert_true(r->dst.n[0].neg);
	assert_int_equal(r->dport.n[0].lo, 0);
	assert_int_equal(r->dport.n[0].hi, 1023);
	assert_int_equal(r->dport.single, -1);
	r = pk_ruleset_rule(rs, 1);
	assert_int_equal(r->src.len, 5);	/* nested group */
	assert_int_equal(r->dst.n[0].cidr.net.family, 6);
	assert_int_equal(r->dport.len, 4);
	r = pk_ruleset_rule(rs, 2);
	assert_int_equal(r->sport.single, 80);
	assert_true(r->dport.n[0].neg);
	r = pk_ruleset_rule(rs, 3);
	assert_int_equal(r->sport.n[0].kind, PK_RN_GROUP);
	assert_int_equal(r->sport.len, 4);	/* [[80],110,143] */
	assert_true(r->dport.n[0].neg);		/* !80 */
	r = pk_ruleset_rule(rs, 4);
	assert_int_equal(r->dst.n[0].kind, PK_RN_HOME);	/* !$HOME_NET */
	assert_true(r->dst.n[0].neg);
	assert_int_equal(r->dport.single, 3544);
	pk_ruleset_free(rs);
}

static void
test_vars_from_config(void **state)
{
	static struct pk_config cfg;
	char err[128];
	struct pk_ruleset *rs;
	const struct pk_rule *r;

	(void)state;
	pk_config_defaults(&cfg);
	assert_int_equal(pk_config_set(&cfg, "vars", "HOME_NET",
	    "[192.168.0.0/16,10.0.0.0/8]", err, sizeof(err)), 0);
	assert_int_equal(pk_config_set(&cfg, "vars", "WORM_PORTS",
	    "[135,139,445]", err, sizeof(err)), 0);
	assert_int_equal(pk_config_set(&cfg, "vars", "HTTP_PORTS",
	    "[80,8080]", err, sizeof(err)), 0);
	rs = load_cfg(&cfg,
	    "alert tcp $EXTERNAL_NET any -> $HOME_NET $WORM_PORTS (sid:1;)\n"
	    "alert tcp any any -> any $HTTP_PORTS (sid:2;)\n"
	    "alert tcp any $HOME_NET -> any any (sid:3;)\n"
	    "alert tcp $NOPE any -> any any (sid:4;)\n");
	assert_int_equal(pk_ruleset_count(rs), 2);
	r = pk_ruleset_rule(rs, 0);
	/* EXTERNAL_NET = !$HOME_NET, with [vars]' HOME_NET: no PK_RN_HOME */
	assert_int_equal(r->src.n[0].kind, PK_RN_GROUP);
	assert_true(r->src.n[0].neg);
	assert_int_equal(r->dst.n[0].kind, PK_RN_GROUP);
	assert_false(r->dst.n[0].neg);
	assert_int_equal(r->dport.len, 4);
	assert_int_equal(pk_ruleset_rule(rs, 1)->dport.len, 3);
	assert_int_equal(reason_count(rs, "bad port"), 1);
	assert_int_equal(reason_count(rs, "unknown variable"), 1);
	assert_string_equal(R.last, "dir/t.rules:4: sid 4: unknown variable "
	    "\"$NOPE\"");
	pk_ruleset_free(rs);
}

/* Each rule must be refused with this reason. */
static const struct {
	const char	*rule;
	const char	*reason;
} bad[] = {
	{ "drop tcp any any -> any any (sid:1;)", "unsupported action \"drop\"" },
	{ "pass ip any any -> any any (sid:1;)", "unsupported action \"pass\"" },
	{ "warn tcp any any -> any any (sid:1;)", "bad action" },
	{ "alert http any any -> any any (sid:1;)",
	    "unsupported protocol \"http\"" },
	{ "alert dns any any -> any any (sid:1;)",
	    "unsupported protocol \"dns\"" },
	{ "alert tls any any -> any any (sid:1;)",
	    "unsupported protocol \"tls\"" },
	{ "alert tcp any any <- any any (sid:1;)", "bad direction" },
	{ "alert tcp any any -> any (sid:1;)", "bad header" },
	{ "alert tcp any any -> any any sid:1;", "bad header" },
	{ "alert tcp any any -> any any (sid:1;", "bad options" },
	{ "alert tcp 1.2.3.4.5 any -> any any (sid:1;)", "bad address" },
	{ "alert tcp [1.2.3.4 any -> any any (sid:1;)", "bad header" },
	{ "alert tcp [] any -> any any (sid:1;)", "bad address" },
	{ "alert tcp !any any -> any any (sid:1;)", "bad address" },
	{ "alert tcp any 90:80 -> any any (sid:1;)", "bad port" },
	{ "alert tcp any 70000 -> any any (sid:1;)", "bad port" },
	{ "alert tcp any : -> any any (sid:1;)", "bad port" },
	{ "alert tcp any $HOME_NET -> any any (sid:1;)", "bad port" },
	{ "alert tcp $X any -> any any (sid:1;)", "unknown variable" },
	{ "alert tcp any any -> any any (msg:\"x\";)", "no sid" },
	{ "alert tcp any any -> any any (sid:0;)", "bad meta keyword" },
	{ "alert tcp any any -> any any (sid:1; sid:2;)", "duplicate keyword" },
	{ "alert tcp any any -> any any (priority:300; sid:1;)",
	    "bad meta keyword" },
	{ "alert tcp any any -> any any (reference:cve; sid:1;)",
	    "bad meta keyword" },
	{ "alert tcp any any -> any any (classtype:a b; sid:1;)",
	    "bad meta keyword" },
	{ "alert tcp any any -> any any (msg:x\"; sid:1;)", "bad quoting" },
	{ "alert tcp any any -> any any (content:\"a|4\"; sid:1;)",
	    "bad content" },
	{ "alert tcp any any -> any any (content:\"|414|\"; sid:1;)",
	    "bad content" },
	{ "alert tcp any any -> any any (content:\"|4G|\"; sid:1;)",
	    "bad content" },
	{ "alert tcp any any -> any any (content:\"\"; sid:1;)", "bad content" },
	{ "alert tcp any any -> any any (content:\"a\\x\"; sid:1;)",
	    "bad escape" },
	{ "alert tcp any any -> any any (content:\"a\"b\"; sid:1;)",
	    "bad quoting" },
	{ "alert tcp any any -> any any (content:abc; sid:1;)", "bad quoting" },
	{ "alert tcp any any -> any any (nocase; content:\"a\"; sid:1;)",
	    "modifier without content" },
	{ "alert tcp any any -> any any (depth:4; sid:1;)",
	    "modifier without content" },
	{ "alert tcp any any -> any any (content:\"abcd\"; depth:3; sid:1;)",
	    "bad content modifier" },
	{ "alert tcp any any -> any any (content:\"a\"; content:\"abcd\"; "
	    "within:3; sid:1;)", "bad content modifier" },
	{ "alert tcp any any -> any any (content:\"a\"; offset:1; "
	    "distance:2; sid:1;)", "bad content modifier" },
	{ "alert tcp any any -> any any (content:\"a\"; depth:5; depth:6; "
	    "sid:1;)", "bad content modifier" },
	{ "alert tcp any any -> any any (content:\"a\"; distance:x; sid:1;)",
	    "bad content modifier" },
	{ "alert tcp any any -> any any (content:\"a\"; distance:2000000; "
	    "sid:1;)", "bad content modifier" },
	{ "alert tcp any any -> any any (content:\"a\"; nocase; nocase; "
	    "sid:1;)", "bad content modifier" },
	{ "alert tcp any any -> any any (content:!\"a\"; fast_pattern; "
	    "sid:1;)", "bad content modifier" },
	{ "alert tcp any any -> any any (content:\"a\"; fast_pattern:only; "
	    "offset:2; sid:1;)", "bad content modifier" },
	{ "alert tcp any any -> any any (content:\"ab\"; fast_pattern:0,1; "
	    "sid:1;)", "unsupported keyword \"fast_pattern:<offset>,<length>\"" },
	{ "alert tcp any any -> any any (dsize:abc; sid:1;)", "bad dsize" },
	{ "alert tcp any any -> any any (dsize:20<>8; sid:1;)", "bad dsize" },
	{ "alert tcp any any -> any any (dsize:70000; sid:1;)", "bad dsize" },
	{ "alert tcp any any -> any any (dsize:1; dsize:2; sid:1;)",
	    "duplicate keyword" },
	{ "alert tcp any any -> any any (flags:SX; sid:1;)", "bad flags" },
	{ "alert tcp any any -> any any (flags:+*S; sid:1;)", "bad flags" },
	{ "alert tcp any any -> any any (flags:S,Q; sid:1;)", "bad flags" },
	{ "alert tcp any any -> any any (flags:0S; sid:1;)", "bad flags" },
	{ "alert udp any any -> any any (flags:S; sid:1;)", "bad flags" },
	{ "alert tcp any any -> any any (flow:sideways; sid:1;)", "bad flow" },
	{ "alert tcp any any -> any any (flow:to_server,to_client; sid:1;)",
	    "bad flow" },
	{ "alert tcp any any -> any any (flow:established,not_established; "
	    "sid:1;)", "bad flow" },
	{ "alert udp any any -> any any (flow:only_stream; sid:1;)",
	    "bad flow" },
	{ "alert tcp any any -> any any (flow:only_frag; sid:1;)",
	    "unsupported flow option \"only_frag\"" },
	{ "alert tcp any any -> any any (threshold:type limit, count 1, "
	    "seconds 1; sid:1;)", "bad threshold" },
	{ "alert tcp any any -> any any (threshold:type often, track by_src, "
	    "count 1, seconds 1; sid:1;)", "bad threshold" },
	{ "alert tcp any any -> any any (threshold:type backoff, track "
	    "by_flow, count 1, multiplier 10; sid:1;)",
	    "unsupported threshold type \"backoff\"" },
	{ "alert tcp any any -> any any (threshold:type limit, track by_flow, "
	    "count 1, seconds 1; sid:1;)",
	    "unsupported threshold track \"by_flow\"" },
	{ "alert tcp any any -> any any (threshold:type limit, track by_src, "
	    "count 0, seconds 1; sid:1;)", "bad threshold" },
	{ "alert tcp any any -> any any (detection_filter:track by_src, "
	    "count 2, seconds 60, unique_on dst_port; sid:1;)",
	    "unsupported threshold option \"unique_on\"" },
	{ "alert tcp any any -> any any (threshold:type limit, track by_src, "
	    "count 1, seconds 1; detection_filter:track by_src, count 2, "
	    "seconds 60; sid:1;)", "bad threshold" },
	{ "alert tcp any any -> any any (content:\"a\"; pcre:\"/a/i\"; "
	    "sid:1;)", "unsupported keyword \"pcre\"" },
	{ "alert tcp any any -> any any (content:\"GET\"; http_method; "
	    "sid:1;)", "unsupported keyword \"http_method\"" },
	{ "alert tcp any any -> any any (http.uri; content:\"x\"; sid:1;)",
	    "unsupported keyword \"http.uri\"" },
	{ "alert tcp any any -> any any (flowbits:isset,x; sid:1;)",
	    "unsupported keyword \"flowbits\"" },
	{ "alert tcp any any -> any any (content:\"a\"; byte_test:1,>,2,0; "
	    "sid:1;)", "unsupported keyword \"byte_test\"" },
	{ "alert tcp any any -> any any (ttl:0; sid:1;)",
	    "unsupported keyword \"ttl\"" },
	{ "alert tcp any any -> any any (x y:1; sid:1;)", "bad option" },
	{ "alert tcp any any -> any any (; sid:1;)", "bad option" },
};

static void
test_errors(void **state)
{
	struct pk_ruleset *rs;
	uint64_t n;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		rs = load(bad[i].rule);
		if (pk_ruleset_count(rs) != 0 || R.n != 1)
			fail_msg("loaded: %s", bad[i].rule);
		if (pk_ruleset_reason(rs, 0, &n) == NULL ||
		    strcmp(pk_ruleset_reason(rs, 0, &n), bad[i].reason) != 0)
			fail_msg("%s\n  reason \"%s\", want \"%s\" (%s)",
			    bad[i].rule, pk_ruleset_reason(rs, 0, &n),
			    bad[i].reason, R.last);
		assert_int_equal(n, 1);
		assert_int_equal(pk_ruleset_skipped(rs), 1);
		assert_non_null(strstr(R.last, "dir/t.rules:1: "));
		pk_ruleset_free(rs);
	}
}

static void
test_too_many_and_too_long(void **state)
{
	size_t cap = PK_RULE_MAX_LINE * 2, k = 0;
	char *t = malloc(cap);
	struct pk_ruleset *rs;
	int i;

	(void)state;
	assert_non_null(t);
	k += (size_t)snprintf(t, cap, "alert tcp any any -> any any (");
	for (i = 0; i < PK_RULE_MAX_CONTENTS + 1; i++)
		k += (size_t)snprintf(t + k, cap - k, "content:\"x%d\"; ",
		    i);
	snprintf(t + k, cap - k, "sid:1;)");
	rs = load(t);
	assert_int_equal(reason_count(rs, "too many contents"), 1);
	pk_ruleset_free(rs);

	k = (size_t)snprintf(t, cap, "alert tcp any any -> any any (content:\"");
	memset(t + k, 'A', PK_RULE_MAX_PATTERN + 1);
	k += PK_RULE_MAX_PATTERN + 1;
	snprintf(t + k, cap - k, "\"; sid:1;)");
	rs = load(t);
	assert_int_equal(reason_count(rs, "content too long"), 1);
	pk_ruleset_free(rs);

	/* one line past the cap, then a good rule: line 2 still loads */
	k = (size_t)snprintf(t, cap, "alert tcp any any -> any any (sid:7; msg:\"");
	memset(t + k, 'm', PK_RULE_MAX_LINE);
	k += PK_RULE_MAX_LINE;
	snprintf(t + k, cap - k, "\";)\nalert tcp any any -> any any (sid:8;)\n");
	rs = load(t);
	assert_int_equal(reason_count(rs, "rule too long"), 1);
	assert_int_equal(pk_ruleset_count(rs), 1);
	assert_int_equal(pk_ruleset_rule(rs, 0)->line, 2);
	assert_string_equal(R.first, "dir/t.rules:1: sid 7: rule longer than "
	    "65536 bytes");
	pk_ruleset_free(rs);

	/* a long msg is cut, not refused */
	k = (size_t)snprintf(t, cap, "alert tcp any any -> any any (msg:\"");
	memset(t + k, 'm', 2000);
	k += 2000;
	snprintf(t + k, cap - k, "\"; sid:9;)");
	rs = one(t);
	assert_int_equal(strlen(pk_ruleset_rule(rs, 0)->msg),
	    PK_RULE_MAX_MSG - 1);
	pk_ruleset_free(rs);
	free(t);
}

static void
test_lines(void **state)
{
	struct pk_ruleset *rs = load(
	    "# a comment\r\n"
	    "\r\n"
	    "   # indented comment\n"
	    "#alert tcp any any -> any any (sid:99;)\n"
	    "alert tcp any any -> any 445 (msg:\"multi\"; \\\n"
	    "    content:\"|ff|SMB\"; \\\n"
	    "    sid:1;)\r\n"
	    "\t\n"
	    "alert tcp any any -> any any (pcre:\"/x/\"; \\\n"
	    "  sid:2;)\n"
	    "alert tcp any any -> any any (sid:3;)");	/* no final newline */
	const struct pk_rule *r;

	(void)state;
	assert_int_equal(pk_ruleset_count(rs), 2);
	r = pk_ruleset_rule(rs, 0);
	assert_int_equal(r->line, 5);
	assert_int_equal(r->c[0].len, 4);
	assert_memory_equal(r->c[0].pat, "\xffSMB", 4);
	assert_int_equal(pk_ruleset_rule(rs, 1)->line, 11);
	assert_string_equal(R.last, "dir/t.rules:9: sid 2: unsupported "
	    "keyword \"pcre\"");
	pk_ruleset_free(rs);

	/* text ending inside a continuation still yields the rule */
	rs = load("alert tcp any any -> any any (sid:4;) \\");
	assert_int_equal(pk_ruleset_count(rs), 1);
	pk_ruleset_free(rs);
}

static void
test_duplicates(void **state)
{
	struct pk_ruleset *rs = load(
	    "alert tcp any any -> any any (msg:\"one\"; sid:5; rev:2;)\n"
	    "alert tcp any any -> any any (msg:\"older\"; sid:5; rev:1;)\n"
	    "alert tcp any any -> any any (msg:\"newer\"; sid:5; rev:3;)\n"
	    "alert tcp any any -> any any (msg:\"other gid\"; gid:2; sid:5;)\n");

	(void)state;
	assert_int_equal(pk_ruleset_count(rs), 2);
	assert_string_equal(pk_ruleset_rule(rs, 0)->msg, "newer");
	assert_int_equal(pk_ruleset_rule(rs, 0)->idx, 0);
	assert_int_equal(reason_count(rs, "duplicate sid"), 2);
	pk_ruleset_free(rs);
}

static void
test_max_rules(void **state)
{
	static struct pk_config cfg;
	char err[128], text[4096];
	struct pk_ruleset *rs;
	size_t k = 0;
	int i;

	(void)state;
	pk_config_defaults(&cfg);
	assert_int_equal(pk_config_set(&cfg, "rules", "max_rules", "5", err,
	    sizeof(err)), 0);
	for (i = 1; i <= 8; i++)
		k += (size_t)snprintf(text + k, sizeof(text) - k,
		    "alert tcp any any -> any any (sid:%d;)\n", i);
	rs = load_cfg(&cfg, text);
	assert_int_equal(pk_ruleset_count(rs), 5);
	assert_int_equal(reason_count(rs, "rule limit reached"), 3);
	pk_ruleset_free(rs);
}

/* Rule kind k (0..7) number i; 0, 1 and 4 load, 7 is a comment. */
static int
gen(char *t, size_t cap, int k, int i)
{
	switch (k) {
	case 0:
		return snprintf(t, cap, "alert tcp $EXTERNAL_NET any -> "
		    "$HOME_NET 445 (msg:\"k0 %d\"; flow:to_server,established; "
		    "content:\"|ff|SMB%d\"; offset:4; depth:16; "
		    "content:\"x%dy\"; distance:0; within:40; sid:%d; rev:1;)\n",
		    i, i, i, i + 1);
	case 1:
		return snprintf(t, cap, "alert udp any any -> any 1434 "
		    "(msg:\"k1\"; dsize:>300; content:\"|04 01 01 01|%d\"; "
		    "threshold:type limit, track by_src, count 1, seconds 60; "
		    "sid:%d;)\n", i, i + 1);
	case 2:
		return snprintf(t, cap, "alert http any any -> any any "
		    "(msg:\"k2\"; content:\"/x%d\"; http_uri; sid:%d;)\n", i,
		    i + 1);
	case 3:
		return snprintf(t, cap, "alert tcp any any -> any any "
		    "(msg:\"k3\"; content:\"a%d\"; pcre:\"/a\\d+/\"; "
		    "sid:%d;)\n", i, i + 1);
	case 4:
		return snprintf(t, cap, "alert tcp any any -> any "
		    "[135,139,445] (msg:\"k4\"; \\\n  flags:S; "
		    "content:!\"q%d\"; sid:%d;)\n", i, i + 1);
	case 5:
		return snprintf(t, cap, "alert tcp any any -> any any "
		    "(msg:\"k5\"; content:\"|4G%d|\"; sid:%d;)\n", i, i + 1);
	case 6:
		return snprintf(t, cap, "drop tcp any any -> any any "
		    "(msg:\"k6 %d\"; sid:%d;)\n", i, i + 1);
	default:
		return snprintf(t, cap, "# comment %d\n", i);
	}
}

/* 30,000 rules of mixed kinds: each one is loaded or reported. */
static void
test_thirty_thousand(void **state)
{
	size_t cap = 30000 * 300, k = 0;
	char *text = malloc(cap);
	struct pk_ruleset *rs;
	uint64_t expect_loaded = 0;
	int i, kind;

	(void)state;
	assert_non_null(text);
	for (i = 0; i < 30000; i++) {
		kind = i % 8;
		k += (size_t)gen(text + k, cap - k, kind, i);
		if (kind == 0 || kind == 1 || kind == 4)
			expect_loaded++;
	}
	rs = load(text);
	/* 7 rule kinds in 8; comments are not rules */
	assert_int_equal(pk_ruleset_count(rs) + pk_ruleset_skipped(rs),
	    30000 - 30000 / 8);
	assert_int_equal(R.n, pk_ruleset_skipped(rs));
	assert_int_equal(pk_ruleset_count(rs), expect_loaded);
	assert_int_equal(reason_count(rs, "unsupported protocol \"http\""),
	    30000 / 8);
	assert_int_equal(reason_count(rs, "unsupported keyword \"pcre\""),
	    30000 / 8);
	assert_int_equal(reason_count(rs, "unsupported action \"drop\""),
	    30000 / 8);
	assert_int_equal(reason_count(rs, "bad content"), 30000 / 8);
	assert_int_equal(pk_ruleset_compile(rs), 0);
	pk_ruleset_free(rs);
	free(text);
}

static void
test_files(void **state)
{
	const char *path = "test_rules_parse.tmp.rules";
	struct pk_ruleset *rs;
	FILE *fp;

	(void)state;
	fp = fopen(path, "wb");
	assert_non_null(fp);
	fputs("alert udp any any -> any 1434 (msg:\"slammer\"; content:\"|04|\"; "
	    "depth:1; sid:1;)\r\nalert tcp any any -> any any (sid:2; \\\n"
	    "content:\"x\";)\nbogus\n", fp);
	fclose(fp);
	rs = pk_ruleset_new(NULL);
	memset(&R, 0, sizeof(R));
	pk_ruleset_set_reporter(rs, rep, &R);
	assert_int_equal(pk_ruleset_load_file(rs, path), 2);
	assert_int_equal(pk_ruleset_skipped(rs), 1);
	assert_string_equal(R.last, "test_rules_parse.tmp.rules:4: "
	    "incomplete rule header");
	assert_string_equal(pk_ruleset_rule(rs, 0)->file,
	    "test_rules_parse.tmp.rules");
	assert_int_equal(pk_ruleset_load_file(rs, "no/such/file.rules"), -1);
	remove(path);
	pk_ruleset_free(rs);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dcom_rule),
		cmocka_unit_test(test_content_encodings),
		cmocka_unit_test(test_modifiers),
		cmocka_unit_test(test_header_options),
		cmocka_unit_test(test_thresholds),
		cmocka_unit_test(test_lists),
		cmocka_unit_test(test_vars_from_config),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_too_many_and_too_long),
		cmocka_unit_test(test_lines),
		cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_max_rules),
		cmocka_unit_test(test_thirty_thousand),
		cmocka_unit_test(test_files),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
