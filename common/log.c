/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-id128.h>
/* The location is the caller's, passed explicitly: not this file's. */
#define SD_JOURNAL_SUPPRESS_LOCATION 1
#include <systemd/sd-journal.h>

#include "common/log.h"

struct Log {
	LogTarget target; /* resolved, never AUTO */
	int max_level;
	char run_id[SD_ID128_STRING_MAX];
	unsigned long dropped;

	LogRecord *records;
	size_t n_records;
	size_t allocated;
};

static const char *const level_names[] = {
	[LOG_EMERG] = "emerg",     [LOG_ALERT] = "alert",   [LOG_CRIT] = "crit", [LOG_ERR] = "err",
	[LOG_WARNING] = "warning", [LOG_NOTICE] = "notice", [LOG_INFO] = "info", [LOG_DEBUG] = "debug",
};

static const char *const target_names[_LOG_TARGET_MAX] = {
	[LOG_TARGET_AUTO] = "auto",
	[LOG_TARGET_JOURNAL] = "journal",
	[LOG_TARGET_CONSOLE] = "console",
	[LOG_TARGET_MEMORY] = "memory",
};

int log_level_from_string(const char *s)
{
	if (!s)
		return -EINVAL;
	for (size_t i = 0; i < ELEMENTSOF(level_names); i++)
		if (streq(s, level_names[i]))
			return (int)i;
	if (streq(s, "error"))
		return LOG_ERR;
	if (streq(s, "warn"))
		return LOG_WARNING;
	if (s[0] >= '0' && s[0] <= '7' && s[1] == 0)
		return s[0] - '0';
	return -EINVAL;
}

const char *log_level_to_string(int level)
{
	if (level < 0 || (size_t)level >= ELEMENTSOF(level_names))
		return "invalid";
	return level_names[level];
}

LogTarget log_target_from_string(const char *s)
{
	if (!s)
		return _LOG_TARGET_INVALID;
	for (size_t i = 0; i < _LOG_TARGET_MAX; i++)
		if (streq(s, target_names[i]))
			return (LogTarget)i;
	return _LOG_TARGET_INVALID;
}

const char *log_target_to_string(LogTarget t)
{
	if (t < 0 || t >= _LOG_TARGET_MAX)
		return "invalid";
	return target_names[t];
}

static LogTarget resolve_target(LogTarget t)
{
	if (t != LOG_TARGET_AUTO)
		return t;
	return access(LOG_JOURNAL_SOCKET, F_OK) >= 0 ? LOG_TARGET_JOURNAL : LOG_TARGET_CONSOLE;
}

int log_new(Log **ret, LogTarget target, int max_level)
{
	_cleanup_(log_freep) Log *l = NULL;
	sd_id128_t id;
	int r;

	if (target < 0 || target >= _LOG_TARGET_MAX || max_level < LOG_EMERG || max_level > LOG_DEBUG)
		return -EINVAL;

	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->target = resolve_target(target);
	l->max_level = max_level;

	r = sd_id128_randomize(&id);
	if (r < 0)
		return r;
	(void)sd_id128_to_string(id, l->run_id);

	*ret = TAKE_PTR(l);
	return 0;
}

static void record_done(LogRecord *r)
{
	free(r->code_file);
	free(r->code_func);
	free(r->message_id);
	free(r->message);
	strv_free(r->fields);
}

void log_memory_clear(Log *l)
{
	for (size_t i = 0; i < l->n_records; i++)
		record_done(&l->records[i]);
	l->n_records = 0;
}

Log *log_free(Log *l)
{
	if (!l)
		return NULL;
	log_memory_clear(l);
	free(l->records);
	free(l);
	return NULL;
}

void log_set_max_level(Log *l, int level)
{
	if (level >= LOG_EMERG && level <= LOG_DEBUG)
		l->max_level = level;
}

int log_get_max_level(const Log *l)
{
	return l->max_level;
}

int log_set_target(Log *l, LogTarget target)
{
	if (target < 0 || target >= _LOG_TARGET_MAX)
		return -EINVAL;
	l->target = resolve_target(target);
	return 0;
}

LogTarget log_get_target(const Log *l)
{
	return l->target;
}

const char *log_run_id(const Log *l)
{
	return l->run_id;
}

unsigned long log_dropped(const Log *l)
{
	return l->dropped;
}

/* __FILE__ of an out-of-tree build starts with "../": the path in the source tree is the rest. */
static const char *source_path(const char *file)
{
	if (!file)
		return "";
	while (strneq(file, "../", 3) || strneq(file, "./", 2))
		file += file[0] == '.' && file[1] == '/' ? 2 : 3;
	return file;
}

typedef struct LogSite {
	const char *file;
	unsigned line;
	const char *func;
} LogSite;

/* "NAME=value" in @buf when it fits, else in a new string stored in *@heap.
 * Returns its length, or -ENOMEM. */
static ssize_t join_field(char *buf, size_t size, char **heap, const char *name, const char *value)
{
	size_t n = strlen(name), v = strlen(value);
	char *p = buf;

	if (n + v + 1 > size) {
		p = *heap = malloc(n + v + 1);
		if (!p)
			return -ENOMEM;
	}
	memcpy(p, name, n);
	memcpy(p + n, value, v + 1);
	return (ssize_t)(n + v);
}

static size_t format_unsigned(char *p, unsigned v)
{
	char tmp[12];
	size_t n = 0, k = 0;

	do
		tmp[n++] = (char)('0' + v % 10);
	while ((v /= 10) > 0);
	while (n > 0)
		p[k++] = tmp[--n];
	p[k] = '\0';
	return k;
}

/* One record to the journal. Per event of a storm, so without printf and,
 * for the usual sizes, without allocations. */
static int write_journal(Log *l, const LogSite *site, int priority, const char *message_id,
			 const char *const *fields, size_t n_fields, const char *message)
{
	char prio[sizeof("PRIORITY=") + 2], run[sizeof("ZPCID_RUN_ID=") + SD_ID128_STRING_MAX];
	char code_line[sizeof("CODE_LINE=") + 12], msg_buf[512], mid_buf[64], file_buf[256];
	_cleanup_free_ char *msg_heap = NULL, *mid_heap = NULL, *file_heap = NULL;
	_cleanup_free_ struct iovec *iov_heap = NULL;
	struct iovec iov_buf[64], *iov = iov_buf;
	ssize_t k;
	size_t n = 0;

	if (n_fields + 5 > ELEMENTSOF(iov_buf)) {
		iov = iov_heap = calloc(n_fields + 5, sizeof(*iov));
		if (!iov)
			return -ENOMEM;
	}
	k = join_field(msg_buf, sizeof(msg_buf), &msg_heap, "MESSAGE=", message);
	if (k < 0)
		return (int)k;
	iov[n++] = (struct iovec){ msg_heap ?: msg_buf, (size_t)k };
	memcpy(prio, "PRIORITY=", 9);
	iov[n++] = (struct iovec){ prio, 9 + format_unsigned(prio + 9, (unsigned)priority) };
	iov[n++] = (struct iovec){ (char *)"SYSLOG_IDENTIFIER=zpcid", strlen("SYSLOG_IDENTIFIER=zpcid") };
	memcpy(run, "ZPCID_RUN_ID=", 13);
	memcpy(run + 13, l->run_id, sizeof(l->run_id)); /* with its NUL */
	iov[n++] = (struct iovec){ run, 13 + strlen(l->run_id) };
	if (message_id) {
		k = join_field(mid_buf, sizeof(mid_buf), &mid_heap, "MESSAGE_ID=", message_id);
		if (k < 0)
			return (int)k;
		iov[n++] = (struct iovec){ mid_heap ?: mid_buf, (size_t)k };
	}
	for (size_t i = 0; i < n_fields; i++)
		if (fields[i] && strchr(fields[i], '='))
			iov[n++] = (struct iovec){ (char *)fields[i], strlen(fields[i]) };

	k = join_field(file_buf, sizeof(file_buf), &file_heap, "CODE_FILE=", source_path(site->file));
	if (k < 0)
		return (int)k;
	memcpy(code_line, "CODE_LINE=", 10);
	(void)format_unsigned(code_line + 10, site->line);
	return sd_journal_sendv_with_location(file_heap ?: file_buf, code_line, site->func ?: "", iov,
					      (int)n);
}

static int write_console(int priority, const char *const *fields, size_t n_fields, const char *message)
{
	/* One line: "zpcid: <level>: message [KEY=value ...]". Assemble it first so
	 * that concurrent writers to the same stderr cannot interleave records. */
	_cleanup_free_ char *line = NULL;
	size_t size = 0;
	FILE *f;

	f = open_memstream(&line, &size);
	if (!f)
		return -ENOMEM;
	fprintf(f, "zpcid: %s: %s", log_level_to_string(priority), message);
	if (n_fields > 0) {
		fputs(" [", f);
		for (size_t i = 0; i < n_fields; i++)
			fprintf(f, "%s%s", i > 0 ? " " : "", fields[i]);
		fputc(']', f);
	}
	fputc('\n', f);
	if (fclose(f) != 0)
		return -ENOMEM;
	if (fputs(line, stderr) == EOF)
		return -EIO;
	return fflush(stderr) == 0 ? 0 : -EIO;
}

static int write_memory(Log *l, const LogSite *site, int priority, const char *message_id,
			const char *const *fields, size_t n_fields, const char *message)
{
	LogRecord rec = { .priority = priority, .code_line = site->line };

	if (l->n_records == l->allocated) {
		size_t na = l->allocated ? l->allocated * 2 : 16;
		LogRecord *nr = reallocarray(l->records, na, sizeof(*nr));
		if (!nr)
			return -ENOMEM;
		l->records = nr;
		l->allocated = na;
	}

	rec.message = strdup(message);
	rec.message_id = message_id ? strdup(message_id) : NULL;
	rec.fields = calloc(n_fields + 1, sizeof(char *));
	rec.code_file = strdup(source_path(site->file));
	rec.code_func = strdup(site->func ?: "");
	if (!rec.message || (message_id && !rec.message_id) || !rec.fields || !rec.code_file ||
	    !rec.code_func)
		goto oom;
	for (size_t i = 0; i < n_fields; i++) {
		rec.fields[i] = strdup(fields[i]);
		if (!rec.fields[i])
			goto oom;
	}
	l->records[l->n_records++] = rec;
	return 0;
oom:
	record_done(&rec);
	return -ENOMEM;
}

int log_fields_fullv(Log *l, const char *file, unsigned line, const char *func, int priority,
		     const char *message_id, const char *const *fields, size_t n_fields, const char *format,
		     va_list ap)
{
	const LogSite site = { file, line, func };
	int saved_errno = errno;
	_cleanup_free_ char *message = NULL;
	const char *text;
	int r;

	if (!l || LOG_PRI(priority) > l->max_level)
		return 0;

	if (streq(format, "%s"))
		/* a record whose text is made already (an event's message) */
		text = va_arg(ap, const char *) ?: "(null)";
	else {
		errno = saved_errno; /* for %m */
		if (vasprintf(&message, format, ap) < 0) {
			l->dropped++;
			errno = saved_errno;
			return 0;
		}
		text = message;
	}

	switch (l->target) {
	case LOG_TARGET_JOURNAL:
		r = write_journal(l, &site, LOG_PRI(priority), message_id, fields, n_fields, text);
		break;
	case LOG_TARGET_MEMORY:
		r = write_memory(l, &site, LOG_PRI(priority), message_id, fields, n_fields, text);
		break;
	default:
		r = write_console(LOG_PRI(priority), fields, n_fields, text);
		break;
	}
	if (r < 0)
		l->dropped++;

	errno = saved_errno;
	return 1;
}

int log_fields_full(Log *l, const char *file, unsigned line, const char *func, int priority,
		    const char *message_id, const char *const *fields, size_t n_fields, const char *format,
		    ...)
{
	va_list ap;
	int r;

	va_start(ap, format);
	r = log_fields_fullv(l, file, line, func, priority, message_id, fields, n_fields, format, ap);
	va_end(ap);
	return r;
}

int log_errno_full(Log *l, const char *file, unsigned line, const char *func, int priority, int error,
		   const char *format, ...)
{
	int saved_errno = errno;
	va_list ap;

	errno = error < 0 ? -error : error;
	va_start(ap, format);
	(void)log_fields_fullv(l, file, line, func, priority, NULL, NULL, 0, format, ap);
	va_end(ap);
	errno = saved_errno;
	return error < 0 ? error : -error;
}

size_t log_memory_count(const Log *l)
{
	return l->n_records;
}

const LogRecord *log_memory_get(const Log *l, size_t i)
{
	return i < l->n_records ? &l->records[i] : NULL;
}

const char *log_record_field(const LogRecord *r, const char *key)
{
	size_t k;

	if (!r || !key)
		return NULL;
	if (streq(key, "MESSAGE"))
		return r->message;
	if (streq(key, "MESSAGE_ID"))
		return r->message_id;
	k = strlen(key);
	for (char **f = r->fields; f && *f; f++)
		if (strneq(*f, key, k) && (*f)[k] == '=')
			return *f + k + 1;
	return NULL;
}
