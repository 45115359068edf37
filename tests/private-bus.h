/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * private-bus: a private dbus-daemon for the Check suites, on the test bus
 * configuration (tests/dbus/test-system-bus.conf) with the SHIPPED policy
 * (dbus/org.zpcid1.conf of the build) beside it, as tests/simbus.sh does.
 * The shipped policy lets only root own org.zpcid1: the suites that use it
 * skip without root.
 */

#include <check.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <systemd/sd-bus.h>

#include "tests/test-util.h"

typedef struct PrivateBus {
	char dir[64];
	pid_t pid;
	char address[512];
} PrivateBus;

/* Copy @from to @to; with @listen_dir the bus listens there instead of /tmp. */
static inline void private_bus_copy_conf(const char *from, const char *to, const char *listen_dir)
{
	char line[1024];
	FILE *in = fopen(from, "re"), *out;

	ck_assert_msg(in, "cannot read %s", from);
	out = fopen(to, "we");
	ck_assert_ptr_nonnull(out);
	while (fgets(line, sizeof(line), in)) {
		char *p = listen_dir ? strstr(line, "unix:dir=/tmp") : NULL;

		if (p)
			fprintf(out, "%.*sunix:dir=%s%s", (int)(p - line), line, listen_dir,
				p + strlen("unix:dir=/tmp"));
		else
			fputs(line, out);
	}
	fclose(in);
	ck_assert_int_eq(fclose(out), 0);
}

/* Start the daemon; returns once it listens (it printed its address). It
 * dies with the calling process whatever way that ends. */
static inline void private_bus_start(PrivateBus *pb)
{
	const char *src = getenv("ZPCID_TOP_SRCDIR") ?: "..";
	const char *build = getenv("ZPCID_TOP_BUILDDIR") ?: ".";
	char from[512], to[512], conf[512];
	int pipefd[2];
	ssize_t k;
	size_t got = 0;

	strcpy(pb->dir, "/tmp/zpcid-private-bus-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(pb->dir));
	ck_assert_int_eq(chmod(pb->dir, 0755), 0); /* an unprivileged client reaches the socket */
	(void)snprintf(from, sizeof(from), "%s/tests/dbus/test-system-bus.conf", src);
	(void)snprintf(conf, sizeof(conf), "%s/bus.conf", pb->dir);
	private_bus_copy_conf(from, conf, pb->dir);
	(void)snprintf(from, sizeof(from), "%s/dbus/org.zpcid1.conf", build);
	(void)snprintf(to, sizeof(to), "%s/org.zpcid1.conf", pb->dir);
	private_bus_copy_conf(from, to, NULL);

	ck_assert_int_eq(pipe2(pipefd, O_CLOEXEC), 0);
	pb->pid = fork();
	ck_assert_int_ge(pb->pid, 0);
	if (pb->pid == 0) {
		char confarg[600];

		(void)prctl(PR_SET_PDEATHSIG, SIGTERM);
		(void)dup2(pipefd[1], 3);
		(void)snprintf(confarg, sizeof(confarg), "--config-file=%s", conf);
		unsetenv("LD_PRELOAD"); /* not under a umockdev test bed */
		execlp("dbus-daemon", "dbus-daemon", confarg, "--nofork", "--nopidfile", "--print-address=3",
		       NULL);
		_exit(127);
	}
	(void)close(pipefd[1]);
	while (got < sizeof(pb->address) - 1 &&
	       (k = read(pipefd[0], pb->address + got, sizeof(pb->address) - 1 - got)) > 0) {
		got += (size_t)k;
		if (memchr(pb->address, '\n', got))
			break;
	}
	(void)close(pipefd[0]);
	pb->address[got] = '\0';
	pb->address[strcspn(pb->address, "\n")] = '\0';
	ck_assert_msg(got > 0, "dbus-daemon printed no address");
}

static inline void private_bus_stop(PrivateBus *pb)
{
	if (pb->pid > 0) {
		(void)kill(pb->pid, SIGTERM);
		(void)waitpid(pb->pid, NULL, 0);
		pb->pid = 0;
	}
	test_rm_rf(pb->dir);
}

/* A new client connection to @pb, with its unique name. */
static inline sd_bus *private_bus_connect(const PrivateBus *pb)
{
	sd_bus *bus = NULL;

	ck_assert_int_ge(sd_bus_new(&bus), 0);
	ck_assert_int_ge(sd_bus_set_address(bus, pb->address), 0);
	ck_assert_int_ge(sd_bus_set_bus_client(bus, 1), 0);
	ck_assert_int_ge(sd_bus_start(bus), 0);
	return bus;
}
