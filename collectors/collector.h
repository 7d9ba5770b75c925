/*
 * collector.h - the collector plugin interface.  A collector turns one
 * source of host activity (packets through libpcap; later eBPF ring
 * buffers, ETW sessions) into calls on the engine.  Each one is a struct of
 * callbacks and names the configuration section (option table in config.c)
 * that governs it, as Fluent Bit's inputs do.  The agent's main loop knows
 * only this interface: it opens every available collector, polls their
 * descriptors and calls poll() when one is ready, or at least once a second.
 */
#ifndef PICKET_COLLECTOR_H
#define PICKET_COLLECTOR_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct pk_config;
struct pk_engine;

#define PK_COLL_MAX_FDS 16

/* poll() results */
#define PK_COLL_EOF	-2	/* offline source finished */
#define PK_COLL_ERROR	-1

struct pk_collector_ops {
	const char	*name;		/* "pcap" */
	const char	*description;
	const char	*section;	/* its configuration section */
	/*
	 * Can it run here (kernel features, privileges)?  0 if yes; -1 with
	 * a one-line reason in why, which the agent logs before going on
	 * without it.
	 */
	int		(*available)(const struct pk_config *cfg, int offline,
			    char *why, size_t whylen);
	/* Open live (source NULL) or on an offline source (a file). */
	void		*(*open)(struct pk_engine *e, const struct pk_config *cfg,
			    const char *source, char *err, size_t errlen);
	/*
	 * Live only, after open and after the agent dropped its privileges:
	 * start threads (threads take the credentials and capabilities of
	 * the thread that creates them, so none is made while root).  May
	 * be NULL.  0, or -1 with a reason.
	 */
	int		(*start)(void *st, char *err, size_t errlen);
	/* Descriptors to wait on; returns how many were written. */
	int		(*fds)(void *st, int *fds, int max);
	/* Handle up to budget events; returns events handled, 0 when idle,
	 * PK_COLL_EOF or PK_COLL_ERROR (message already logged). */
	int		(*poll)(void *st, int budget);
	/*
	 * Live, once, when the agent stops: hand the engine everything the
	 * source had already accepted (packets the kernel holds in a buffer
	 * not yet delivered), within a short bound of time.  May be NULL.
	 */
	void		(*drain)(void *st);
	/*
	 * Live, after a poll that handled events: within how many
	 * microseconds poll should be called again even without a wakeup
	 * (0: no need).  For a source that wakes the agent only now and
	 * then during a burst (ebpf.c), so the last events of one are not
	 * left waiting.  May be NULL.
	 */
	uint64_t	(*recall_us)(void *st);
	/* About once a second (wall time, live only); may be NULL. */
	void		(*tick)(void *st, uint64_t now_us);
	/*
	 * The engine took a new configuration (SIGHUP: rules, IOC lists):
	 * take what the collector keeps of it itself.  cfg is the running
	 * configuration, already updated.  Cannot refuse; a problem is
	 * logged and the collector keeps what it had.  May be NULL.
	 */
	void		(*reload)(void *st, const struct pk_config *cfg);
	/* name value lines for the statistics report */
	void		(*stats)(void *st, FILE *fp);
	void		(*close)(void *st);
};

/* Registered collectors (collector.c), NULL-terminated. */
extern const struct pk_collector_ops *const pk_collectors[];
const struct pk_collector_ops *pk_collector_find(const char *name);

#endif
