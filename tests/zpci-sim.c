/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * zpci-sim: a simulated LPAR. Loads an LPAR file of zPCI functions into the
 * device world, runs the real zpcid on it and plays a scenario of timed
 * events (errors, recovery uevents, kernel log lines, hotplug, binding,
 * requests), then stops the daemon. The formats are in
 * docs/simulated-lpar.md.
 *
 * It only drives the world; what zpcid makes of it is zpcid's business.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib.h>

#include "tests/devworld.h"

static const char *arg_lpar;
static const char *arg_scenario;
static const char *arg_zpcid;
static const char *arg_config;
static const char *arg_at_end;
static const char *arg_log;
static unsigned arg_generate;
static bool arg_quiet;
static bool arg_no_daemon;

static void help(void)
{
	printf("Usage: zpci-sim [OPTION...] [-- ZPCID-ARGUMENT...]\n"
	       "\n"
	       "Run zpcid on a simulated LPAR and play a scenario of events.\n"
	       "\n"
	       "  -l --lpar=FILE       Functions of the LPAR (\"function ...\" lines)\n"
	       "  -s --scenario=FILE   Timed events to play (default: none, run until the\n"
	       "                       LPAR is up and the daemon started)\n"
	       "  -z --zpcid=PATH      The zpcid binary (default: $ZPCID_TOP_BUILDDIR/zpcid); it runs\n"
	       "                       $ZPCID_ACTION_HELPER, default zpcid-action beside it\n"
	       "  -c --config=FILE     Configuration passed to zpcid\n"
	       "  -e --at-end=COMMAND  Run COMMAND (sh -c) after the scenario, before zpcid stops\n"
	       "  -g --generate=N      Write an LPAR file of N functions to stdout and exit\n"
	       "     --no-daemon       Do not start zpcid (play the scenario only)\n"
	       "  -q --quiet           Do not copy zpcid's output to stdout\n"
	       "     --log=FILE        Copy zpcid's output to FILE\n"
	       "  -h --help            Show this help\n"
	       "\n"
	       "COMMAND sees ZPCI_SIM_ROOT (the testbed), ZPCI_SIM_DAEMON_PID and\n"
	       "ZPCI_SIM_RUNTIME_DIRECTORY in its environment.\n");
}

static void say(const char *format, ...) G_GNUC_PRINTF(1, 2);
static void say(const char *format, ...)
{
	va_list ap;

	printf("zpci-sim: ");
	va_start(ap, format);
	vprintf(format, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

/* The scenario and the unbind completer take turns on the world. */
static GMutex world_lock;

typedef struct Unbinder {
	Devworld *w;
	int inotify_fd;
	int stop_fd;
	GThread *thread;
} Unbinder;

static void unbinder_watch_drivers(Unbinder *u)
{
	g_autofree char *dir = g_build_filename(devworld_root(u->w), "sys", "bus", "pci", "drivers", NULL);
	g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
	const char *name;

	(void)inotify_add_watch(u->inotify_fd, dir, IN_CREATE | IN_ONLYDIR);
	while (d && (name = g_dir_read_name(d))) {
		g_autofree char *p = g_build_filename(dir, name, NULL);

		/* a second watch of the same directory only updates its mask */
		(void)inotify_add_watch(u->inotify_fd, p, IN_CLOSE_WRITE | IN_ONLYDIR);
	}
}

/* The kernel unbinds when "unbind" of a driver is written (asking the user
 * of a vfio device to let go first); the world does it when it sees the write. */
static gpointer unbinder_main(gpointer data)
{
	Unbinder *u = data;
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));

	for (;;) {
		struct pollfd p[2] = { { .fd = u->inotify_fd, .events = POLLIN },
				       { .fd = u->stop_fd, .events = POLLIN } };
		bool unbind = false, created = false;
		ssize_t n;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents)
			break;
		n = read(u->inotify_fd, buf, sizeof(buf));
		if (n <= 0)
			continue;
		for (char *q = buf; q < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)q;

			if ((ev->mask & IN_CLOSE_WRITE) && ev->len && strcmp(ev->name, "unbind") == 0)
				unbind = true;
			if (ev->mask & IN_CREATE)
				created = true;
			q += sizeof(*ev) + ev->len;
		}
		if (created)
			unbinder_watch_drivers(u);
		if (unbind) {
			g_mutex_lock(&world_lock);
			(void)devworld_complete_unbinds(u->w, 10000);
			g_mutex_unlock(&world_lock);
		}
	}
	return NULL;
}

static int unbinder_start(Unbinder *u, Devworld *w)
{
	*u = (Unbinder){ .w = w };
	u->inotify_fd = inotify_init1(IN_CLOEXEC);
	u->stop_fd = eventfd(0, EFD_CLOEXEC);
	if (u->inotify_fd < 0 || u->stop_fd < 0)
		return -errno;
	unbinder_watch_drivers(u);
	u->thread = g_thread_new("unbinder", unbinder_main, u);
	return 0;
}

static void unbinder_stop(Unbinder *u)
{
	if (u->thread) {
		(void)eventfd_write(u->stop_fd, 1);
		g_thread_join(u->thread);
		u->thread = NULL;
	}
	if (u->inotify_fd >= 0)
		close(u->inotify_fd);
	if (u->stop_fd >= 0)
		close(u->stop_fd);
	u->inotify_fd = u->stop_fd = -1;
}

/* "+1.5s" or "+200ms" -> microseconds; -1 when malformed. */
static gint64 parse_delay(const char *s)
{
	char *end;
	double v;

	if (*s != '+')
		return -1;
	v = g_ascii_strtod(s + 1, &end);
	if (end == s + 1 || v < 0)
		return -1;
	if (strcmp(end, "s") == 0)
		return (gint64)(v * G_USEC_PER_SEC);
	if (strcmp(end, "ms") == 0)
		return (gint64)(v * 1000);
	return -1;
}

/* Value of "key=value" among @argv; NULL when absent. */
static const char *kv(char **argv, const char *key)
{
	size_t n = strlen(key);

	for (char **a = argv; a && *a; a++)
		if (strncmp(*a, key, n) == 0 && (*a)[n] == '=')
			return *a + n + 1;
	return NULL;
}

static int kv_u32(char **argv, const char *key, uint32_t *ret)
{
	const char *v = kv(argv, key);
	char *end;
	unsigned long long x;

	if (!v)
		return -EINVAL;
	errno = 0;
	x = strtoull(v, &end, 0);
	if (errno || *end || end == v || x > UINT32_MAX)
		return -EINVAL;
	*ret = (uint32_t)x;
	return 0;
}

static int parse_hex32(const char *s, uint8_t out[32])
{
	if (!s || strlen(s) != 64)
		return -EINVAL;
	for (int i = 0; i < 32; i++) {
		int hi = g_ascii_xdigit_value(s[2 * i]), lo = g_ascii_xdigit_value(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

static int run_at_end(Devworld *w, const char *cmd)
{
	g_autofree char *pid = g_strdup_printf("%d", (int)devworld_daemon_pid(w));
	g_autofree char *rt = g_build_filename(devworld_root(w), "zpcid", "run", NULL);
	pid_t p = fork();
	int st = 0;

	if (p < 0)
		return -errno;
	if (p == 0) {
		setenv("ZPCI_SIM_ROOT", devworld_root(w), 1);
		setenv("ZPCI_SIM_DAEMON_PID", pid, 1);
		setenv("ZPCI_SIM_RUNTIME_DIRECTORY", rt, 1);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	(void)waitpid(p, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* Play one scenario command. Returns 0, or -errno with a message printed. */
static int play(Devworld *w, const char *file, unsigned lineno, char **argv)
{
	const char *cmd = argv[0];
	uint32_t fid = 0, pec = 0;
	int r;

#define NEED_FID()                                                                      \
	do {                                                                            \
		if (kv_u32(argv, "fid", &fid) < 0) {                                    \
			fprintf(stderr, "%s:%u: '%s' needs fid=\n", file, lineno, cmd); \
			return -EINVAL;                                                 \
		}                                                                       \
	} while (0)

	if (strcmp(cmd, "inject") == 0 || strcmp(cmd, "queue") == 0) {
		NEED_FID();
		if (kv(argv, "ccdf")) {
			uint8_t c[32];

			if (parse_hex32(kv(argv, "ccdf"), c) < 0) {
				fprintf(stderr, "%s:%u: ccdf= takes 64 hex digits\n", file, lineno);
				return -EINVAL;
			}
			pec = (uint32_t)(c[30] << 8 | c[31]);
			r = devworld_inject_ccdf(w, fid, c);
		} else {
			if (kv_u32(argv, "pec", &pec) < 0 || pec > 0xffff) {
				fprintf(stderr, "%s:%u: '%s' needs pec= or ccdf=\n", file, lineno, cmd);
				return -EINVAL;
			}
			r = strcmp(cmd, "queue") == 0 ? devworld_queue_pec(w, fid, (uint16_t)pec)
						      : devworld_inject_pec(w, fid, (uint16_t)pec);
		}
		if (r >= 0)
			say("%s fid=0x%x pec=0x%x: %s", cmd, fid, pec, r ? "queued" : "not queued");
	} else if (strcmp(cmd, "signal") == 0) {
		NEED_FID();
		r = devworld_signal_err(w, fid);
	} else if (strcmp(cmd, "recovery") == 0) {
		const char *online = kv(argv, "online");

		NEED_FID();
		const char *ev = NULL;

		/* "recovery fid=0x21 BEGIN_RECOVERY online=0": the word without '=' */
		for (char **a = argv + 1; *a; a++)
			if (!strchr(*a, '='))
				ev = *a;
		if (!ev) {
			fprintf(stderr, "%s:%u: recovery needs an event name\n", file, lineno);
			return -EINVAL;
		}
		r = devworld_recovery_uevent(w, fid, ev, online && strcmp(online, "1") == 0);
		say("recovery uevent fid=0x%x %s online=%s", fid, ev, online ?: "0");
	} else if (strcmp(cmd, "kmsg") == 0) {
		g_autofree char *text = g_strjoinv(" ", argv + 1);
		r = devworld_kmsg(w, "%s", text);
	} else if (strcmp(cmd, "hotplug") == 0 && argv[1] && strcmp(argv[1], "add") == 0) {
		g_autofree char *desc = g_strjoinv(" ", argv + 2);
		DevworldFunction f;

		r = devworld_parse_function(desc, &f);
		if (r == 0)
			r = devworld_add_function(w, &f);
		if (r == 0)
			say("hotplug add fid=0x%x", f.fid);
	} else if ((strcmp(cmd, "hotplug") == 0 && argv[1] && strcmp(argv[1], "remove") == 0) ||
		   strcmp(cmd, "remove") == 0) {
		NEED_FID();
		r = devworld_remove(w, fid);
		say("hotplug remove fid=0x%x", fid);
	} else if (strcmp(cmd, "bind") == 0) {
		NEED_FID();
		r = devworld_bind(w, fid, kv(argv, "driver") ?: "vfio-pci");
	} else if (strcmp(cmd, "unbind") == 0) {
		NEED_FID();
		r = devworld_unbind(w, fid);
	} else if (strcmp(cmd, "request") == 0) {
		NEED_FID();
		r = devworld_request(w, fid);
		say("request fid=0x%x: %s", fid, r > 0 ? "signalled" : "no eventfd registered");
	} else if (strcmp(cmd, "hold") == 0) {
		NEED_FID();
		r = devworld_hold(w, fid);
		if (r > 0)
			say("a VMM (pid %d) holds fid=0x%x", r, fid);
	} else if (strcmp(cmd, "release") == 0) {
		NEED_FID();
		r = devworld_release(w, fid);
	} else if (strcmp(cmd, "attr") == 0) {
		NEED_FID();
		if (!kv(argv, "name")) {
			fprintf(stderr, "%s:%u: attr needs name=\n", file, lineno);
			return -EINVAL;
		}
		r = devworld_set_attr(w, fid, kv(argv, "name"), kv(argv, "value"));
	} else if (strcmp(cmd, "wait-log") == 0) {
		/* ends when the text shows: long enough for a loaded machine */
		uint32_t t = 30000;
		const char *to = kv(argv, "timeout");
		long at;

		if (!argv[1]) {
			fprintf(stderr, "%s:%u: wait-log needs a text\n", file, lineno);
			return -EINVAL;
		}
		if (to)
			t = (uint32_t)(g_ascii_strtod(to, NULL) * 1000);
		at = devworld_wait_log(w, argv[1], t);
		if (at < 0) {
			fprintf(stderr, "%s:%u: zpcid did not log \"%s\" (%s)\n", file, lineno, argv[1],
				at == -ESRCH ? "it exited" : "timeout");
			return (int)at;
		}
		r = 0;
	} else if (strcmp(cmd, "run") == 0) {
		g_autofree char *c = g_strjoinv(" ", argv + 1);
		r = run_at_end(w, c);
		if (r != 0) {
			fprintf(stderr, "%s:%u: '%s' exited with %d\n", file, lineno, c, r);
			return -EIO;
		}
	} else {
		fprintf(stderr, "%s:%u: unknown command '%s'\n", file, lineno, cmd);
		return -EINVAL;
	}
#undef NEED_FID
	if (r < 0)
		fprintf(stderr, "%s:%u: %s failed: %s\n", file, lineno, cmd, g_strerror(-r));
	return r < 0 ? r : 0;
}

static int play_file(Devworld *w, const char *path)
{
	g_autofree char *text = NULL;
	g_auto(GStrv) lines = NULL;
	GError *e = NULL;

	if (!g_file_get_contents(path, &text, NULL, &e)) {
		fprintf(stderr, "zpci-sim: %s\n", e->message);
		g_error_free(e);
		return -ENOENT;
	}
	lines = g_strsplit(text, "\n", -1);
	for (unsigned i = 0; lines[i]; i++) {
		g_auto(GStrv) argv = NULL;
		char *l = g_strstrip(lines[i]);
		gint64 delay = 0;
		char **args;
		int argc, r;

		if (!*l || *l == '#')
			continue;
		if (!g_shell_parse_argv(l, &argc, &argv, &e)) {
			fprintf(stderr, "%s:%u: %s\n", path, i + 1, e->message);
			g_clear_error(&e);
			return -EINVAL;
		}
		args = argv;
		if (args[0][0] == '+') {
			delay = parse_delay(args[0]);
			if (delay < 0 || !args[1]) {
				fprintf(stderr, "%s:%u: bad delay '%s' (expected +1.5s or +200ms)\n", path,
					i + 1, args[0]);
				return -EINVAL;
			}
			args++;
		}
		if (delay > 0)
			g_usleep(delay);
		/* a command run from the scenario may wait for what the world does meanwhile */
		if (strcmp(args[0], "run") == 0)
			r = play(w, path, i + 1, args);
		else {
			g_mutex_lock(&world_lock);
			r = play(w, path, i + 1, args);
			g_mutex_unlock(&world_lock);
		}
		if (r < 0)
			return r;
	}
	return 0;
}

int main(int argc, char *argv[])
{
	static const struct option options[] = { { "lpar", required_argument, NULL, 'l' },
						 { "scenario", required_argument, NULL, 's' },
						 { "zpcid", required_argument, NULL, 'z' },
						 { "config", required_argument, NULL, 'c' },
						 { "at-end", required_argument, NULL, 'e' },
						 { "generate", required_argument, NULL, 'g' },
						 { "no-daemon", no_argument, NULL, 'N' },
						 { "quiet", no_argument, NULL, 'q' },
						 { "log", required_argument, NULL, 'L' },
						 { "help", no_argument, NULL, 'h' },
						 {} };
	const char *pre = getenv("LD_PRELOAD");
	Devworld *w = NULL;
	Unbinder unbinder = { .inotify_fd = -1, .stop_fd = -1 };
	GPtrArray *dargs;
	unsigned at = 0;
	int c, r, ret = EXIT_SUCCESS;

	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((c = getopt_long(argc, argv, "l:s:z:c:e:g:qh", options, NULL)) >= 0) {
		switch (c) {
		case 'l':
			arg_lpar = optarg;
			break;
		case 's':
			arg_scenario = optarg;
			break;
		case 'z':
			arg_zpcid = optarg;
			break;
		case 'c':
			arg_config = optarg;
			break;
		case 'e':
			arg_at_end = optarg;
			break;
		case 'g':
			arg_generate = (unsigned)strtoul(optarg, NULL, 0);
			break;
		case 'N':
			arg_no_daemon = true;
			break;
		case 'q':
			arg_quiet = true;
			break;
		case 'L':
			arg_log = optarg;
			break;
		case 'h':
			help();
			return EXIT_SUCCESS;
		default:
			return EXIT_FAILURE;
		}
	}

	if (arg_generate) {
		r = devworld_generate("/dev/stdout", arg_generate, 0x100);
		return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
	}
	if (!arg_lpar) {
		fprintf(stderr, "zpci-sim: --lpar=FILE is required (see --help)\n");
		return EXIT_FAILURE;
	}
	/* the world needs umockdev's preload in this process (the stand-in VMM
	 * is a child of it): start again under it */
	if (!pre || !strstr(pre, "umockdev")) {
		setenv("LD_PRELOAD", "libumockdev-preload.so.0", 1);
		execv("/proc/self/exe", argv);
		fprintf(stderr, "zpci-sim: cannot restart under umockdev's preload: %m\n");
		return EXIT_FAILURE;
	}
	/* the preload was asked for, but the dynamic loader only warns when it
	 * cannot load it: without it the world is not there */
	if (!dlopen("libumockdev-preload.so.0", RTLD_LAZY | RTLD_NOLOAD)) {
		fprintf(stderr,
			"zpci-sim: umockdev's preload library (libumockdev-preload.so.0) is not loaded: "
			"is umockdev installed?\n");
		return EXIT_FAILURE;
	}
	if (arg_zpcid)
		setenv("ZPCID_BINARY", arg_zpcid, 1);
	/* the daemon of the build tree runs the action helper beside it */
	if (!getenv("ZPCID_ACTION_HELPER")) {
		const char *top = getenv("ZPCID_TOP_BUILDDIR");
		g_autofree char *dir = arg_zpcid ? g_path_get_dirname(arg_zpcid) : g_strdup(top ? top : ".");
		g_autofree char *helper = g_build_filename(dir, "zpcid-action", NULL);

		setenv("ZPCID_ACTION_HELPER", helper, 1);
	}

	r = devworld_new(&w);
	if (r < 0) {
		fprintf(stderr, "zpci-sim: cannot create the device world: %s\n", g_strerror(-r));
		return EXIT_FAILURE;
	}
	r = devworld_load(w, arg_lpar, &at);
	if (r < 0) {
		fprintf(stderr, "%s:%u: %s\n", arg_lpar, at, g_strerror(-r));
		devworld_free(w);
		return EXIT_FAILURE;
	}
	say("LPAR %s: %d functions (testbed %s)", arg_lpar, r, devworld_root(w));
	r = unbinder_start(&unbinder, w);
	if (r < 0) {
		fprintf(stderr, "zpci-sim: cannot watch the drivers' unbind files: %s\n", g_strerror(-r));
		unbinder_stop(&unbinder);
		devworld_free(w);
		return EXIT_FAILURE;
	}

	if (!arg_no_daemon) {
		dargs = g_ptr_array_new();
		if (arg_config) {
			g_ptr_array_add(dargs, (gpointer) "--config");
			g_ptr_array_add(dargs, (gpointer)arg_config);
		}
		for (int i = optind; i < argc; i++)
			g_ptr_array_add(dargs, argv[i]);
		g_ptr_array_add(dargs, NULL);
		if (arg_log) {
			int fd = open(arg_log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

			if (fd < 0) {
				fprintf(stderr, "zpci-sim: cannot open %s: %m\n", arg_log);
				unbinder_stop(&unbinder);
				devworld_free(w);
				return EXIT_FAILURE;
			}
			devworld_tee_log(w, fd);
			close(fd);
		} else if (!arg_quiet)
			devworld_tee_log(w, STDOUT_FILENO);
		r = devworld_spawn_daemon(w, (const char *const *)dargs->pdata);
		g_ptr_array_free(dargs, TRUE);
		if (r == -ELIBACC) {
			g_autofree char *lib = devworld_preload_library();

			fprintf(stderr,
				"zpci-sim: cannot start zpcid: the device world's preload library %s is "
				"missing "
				"(build it: make tests/libdevworld-preload.so)\n",
				lib);
			unbinder_stop(&unbinder);
			devworld_free(w);
			return EXIT_FAILURE;
		}
		if (r < 0) {
			fprintf(stderr, "zpci-sim: cannot start zpcid (%s): %s\n",
				arg_zpcid ? arg_zpcid : "zpcid", g_strerror(-r));
			unbinder_stop(&unbinder);
			devworld_free(w);
			return EXIT_FAILURE;
		}
		say("zpcid started, pid %d", r);
		if (devworld_wait_log(w, " started", 10000) < 0) {
			fprintf(stderr, "zpci-sim: zpcid did not start\n");
			ret = EXIT_FAILURE;
		}
	}

	if (ret == EXIT_SUCCESS && arg_scenario && play_file(w, arg_scenario) < 0)
		ret = EXIT_FAILURE;
	if (ret == EXIT_SUCCESS && arg_at_end) {
		r = run_at_end(w, arg_at_end);
		if (r != 0) {
			fprintf(stderr, "zpci-sim: --at-end command exited with %d\n", r);
			ret = EXIT_FAILURE;
		}
	}
	if (devworld_daemon_pid(w) > 0) {
		gint64 t0 = g_get_monotonic_time();

		/* a generous bound: on a loaded machine stopping can take a while */
		r = devworld_stop_daemon(w, 60000);
		say("zpcid stopped (%s, after %.1f s)",
		    r < 0                                 ? "killed"
		    : WIFEXITED(r) && WEXITSTATUS(r) == 0 ? "exit 0"
							  : "failed",
		    (double)(g_get_monotonic_time() - t0) / G_USEC_PER_SEC);
		if (r < 0 || !WIFEXITED(r) || WEXITSTATUS(r) != 0)
			ret = EXIT_FAILURE;
	}
	unbinder_stop(&unbinder);
	devworld_free(w);
	return ret;
}
