/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/sysfs-zpci.h"

/* Length of @text without one trailing newline; -EBADMSG when the text has
 * anything else that is not part of the value. */
static int value_length(const char *text, size_t *ret)
{
	size_t n;

	if (!text)
		return -EBADMSG;
	n = strlen(text);
	if (n > 0 && text[n - 1] == '\n')
		n--;
	if (n == 0)
		return -EBADMSG;
	*ret = n;
	return 0;
}

static int parse_digits(const char *s, size_t n, unsigned base, uint64_t max, uint64_t *ret)
{
	uint64_t v = 0;

	if (n == 0)
		return -EBADMSG;
	for (size_t i = 0; i < n; i++) {
		unsigned d;

		if (s[i] >= '0' && s[i] <= '9')
			d = (unsigned)(s[i] - '0');
		else if (base == 16 && s[i] >= 'a' && s[i] <= 'f')
			d = (unsigned)(s[i] - 'a' + 10);
		else if (base == 16 && s[i] >= 'A' && s[i] <= 'F')
			d = (unsigned)(s[i] - 'A' + 10);
		else
			return -EBADMSG;
		if (d > max || v > (max - d) / base)
			return -ERANGE;
		v = v * base + d;
	}
	*ret = v;
	return 0;
}

int sysfs_parse_hex(const char *text, uint64_t max, uint64_t *ret)
{
	size_t n;
	int r;

	r = value_length(text, &n);
	if (r < 0)
		return r;
	if (n < 3 || text[0] != '0' || (text[1] != 'x' && text[1] != 'X'))
		return -EBADMSG;
	return parse_digits(text + 2, n - 2, 16, max, ret);
}

int sysfs_parse_dec(const char *text, uint64_t max, uint64_t *ret)
{
	size_t n;
	int r;

	r = value_length(text, &n);
	if (r < 0)
		return r;
	return parse_digits(text, n, 10, max, ret);
}

int sysfs_parse_bool(const char *text, bool *ret)
{
	uint64_t v;
	int r;

	r = sysfs_parse_dec(text, 1, &v);
	if (r < 0)
		return r == -ERANGE ? -EBADMSG : r;
	*ret = v == 1;
	return 0;
}

int sysfs_read_attr(int dirfd, const char *name, char buf[static SYSFS_ZPCI_VALUE_MAX + 2])
{
	_cleanup_close_ int fd = -EBADF;
	size_t len = 0;

	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return negative_errno();

	/* One read: sysfs hands out a whole value at once, and a value that
	 * fills more than the buffer is malformed, not truncated. */
	for (;;) {
		ssize_t k = read(fd, buf, SYSFS_ZPCI_VALUE_MAX + 1);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return negative_errno();
		if (k > SYSFS_ZPCI_VALUE_MAX)
			return -EFBIG;
		len = (size_t)k;
		break;
	}
	buf[len] = '\0';
	if (strlen(buf) != len) /* an embedded NUL is not text */
		return -EBADMSG;
	return 0;
}

static int open_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	return fd < 0 ? negative_errno() : fd;
}

int sysfs_zpci_open(const char *sysfs_root, const char *slot)
{
	char path[4096];

	if (isempty(slot) || strchr(slot, '/') || streq(slot, ".") || streq(slot, ".."))
		return -EINVAL;
	if (snprintf(path, sizeof(path), "%s/bus/pci/devices/%s", sysfs_root, slot) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	return open_dir(path);
}

int sysfs_zpci_open_syspath(const char *syspath)
{
	if (isempty(syspath))
		return -EINVAL;
	return open_dir(syspath);
}

static void add_problem(SysfsZpciProblems *problems, const char *attr, int error, const char *value)
{
	SysfsZpciProblem *p;
	size_t i;

	if (!problems || problems->n >= SYSFS_ZPCI_PROBLEMS_MAX)
		return;
	p = &problems->p[problems->n++];
	p->attr = attr;
	p->error = error;
	/* The text without the newline that ends it. */
	for (i = 0; value && value[i] && !(value[i] == '\n' && !value[i + 1]) && i < sizeof(p->value) - 1;
	     i++)
		p->value[i] = isprint((unsigned char)value[i]) ? value[i] : '?';
	p->value[i] = '\0';
}

typedef enum AttrFormat {
	FORMAT_HEX,
	FORMAT_DEC,
	FORMAT_BOOL,
} AttrFormat;

/* Read and parse one attribute. Returns 1 when it was read, 0 when absent or
 * malformed (a problem was added for the latter), -ENOENT/-ENODEV when the
 * whole device looks gone, or another -errno. */
static int read_value(int dirfd, const char *name, AttrFormat format, uint64_t max, uint64_t *ret,
		      SysfsZpciProblems *problems)
{
	char buf[SYSFS_ZPCI_VALUE_MAX + 2];
	bool b;
	int r;

	r = sysfs_read_attr(dirfd, name, buf);
	if (r == -ENOENT)
		return 0;
	if (r == -ENODEV)
		return r;
	if (r < 0) {
		add_problem(problems, name, r, NULL);
		return 0;
	}

	switch (format) {
	case FORMAT_HEX:
		r = sysfs_parse_hex(buf, max, ret);
		break;
	case FORMAT_DEC:
		r = sysfs_parse_dec(buf, max, ret);
		break;
	case FORMAT_BOOL:
		r = sysfs_parse_bool(buf, &b);
		if (r >= 0)
			*ret = b;
		break;
	}
	if (r < 0) {
		add_problem(problems, name, r, buf);
		return 0;
	}
	return 1;
}

/* Whether the device directory still exists (a removed device's directory
 * fd stays valid but is empty). */
static bool device_present(int dirfd)
{
	return faccessat(dirfd, "uevent", F_OK, 0) >= 0 ||
	       faccessat(dirfd, "subsystem", F_OK, AT_SYMLINK_NOFOLLOW) >= 0;
}

int sysfs_zpci_read_attrs(int dirfd, const char *slot, ZpciAttrs *ret, SysfsZpciProblems *problems)
{
	static const struct {
		const char *name;
		AttrFormat format;
		uint64_t max;
		unsigned has;
		size_t offset;
		size_t size;
	} table[] = {
#define FIELD(name, format, max, has, member) \
	{ name, format, max, has, offsetof(ZpciAttrs, member), sizeof(((ZpciAttrs *)NULL)->member) }
		FIELD("function_handle", FORMAT_HEX, UINT32_MAX, ZPCI_ATTR_HAS_FH, fh),
		FIELD("uid", FORMAT_HEX, UINT32_MAX, ZPCI_ATTR_HAS_UID, uid),
		FIELD("uid_is_unique", FORMAT_BOOL, 1, ZPCI_ATTR_HAS_UID_IS_UNIQUE, uid_is_unique),
		FIELD("pchid", FORMAT_HEX, UINT16_MAX, ZPCI_ATTR_HAS_PCHID, pchid),
		FIELD("vfn", FORMAT_HEX, UINT16_MAX, ZPCI_ATTR_HAS_VFN, vfn),
		FIELD("pfgid", FORMAT_HEX, UINT8_MAX, ZPCI_ATTR_HAS_PFGID, pfgid),
		FIELD("pft", FORMAT_HEX, UINT8_MAX, ZPCI_ATTR_HAS_PFT, pft),
		FIELD("port", FORMAT_DEC, UINT32_MAX, ZPCI_ATTR_HAS_PORT, port),
#undef FIELD
	};
	static const struct {
		const char *name;
		size_t offset;
	} ids[] = {
		{ "vendor", offsetof(ZpciAttrs, vendor) },
		{ "device", offsetof(ZpciAttrs, device) },
	};
	ZpciAttrs a = {};
	unsigned n_ids = 0;
	uint64_t v;
	int r;

	if (isempty(slot) || strlen(slot) >= sizeof(a.slot))
		return -EINVAL;
	(void)snprintf(a.slot, sizeof(a.slot), "%s", slot);

	/* function_id decides whether this is a zPCI function at all. */
	r = read_value(dirfd, "function_id", FORMAT_HEX, UINT32_MAX, &v, problems);
	if (r < 0)
		return r;
	if (r == 0) {
		if (!device_present(dirfd))
			return -ENOENT;
		/* present but malformed: the problem was recorded */
		if (problems && problems->n > 0 && streq(problems->p[problems->n - 1].attr, "function_id"))
			return -EBADMSG;
		return 1;
	}
	a.fid = (uint32_t)v;

	for (size_t i = 0; i < ELEMENTSOF(table); i++) {
		r = read_value(dirfd, table[i].name, table[i].format, table[i].max, &v, problems);
		if (r < 0)
			return r;
		if (r == 0)
			continue;
		if (table[i].format == FORMAT_BOOL)
			*(bool *)((char *)&a + table[i].offset) = v != 0;
		else if (table[i].size == sizeof(uint8_t))
			*((uint8_t *)&a + table[i].offset) = (uint8_t)v;
		else if (table[i].size == sizeof(uint16_t))
			*(uint16_t *)(void *)((char *)&a + table[i].offset) = (uint16_t)v;
		else
			*(uint32_t *)(void *)((char *)&a + table[i].offset) = (uint32_t)v;
		a.has |= table[i].has;
	}

	for (size_t i = 0; i < ELEMENTSOF(ids); i++) {
		r = read_value(dirfd, ids[i].name, FORMAT_HEX, UINT16_MAX, &v, problems);
		if (r < 0)
			return r;
		if (r == 0)
			continue;
		*(uint16_t *)(void *)((char *)&a + ids[i].offset) = (uint16_t)v;
		n_ids++;
	}
	/* The ids count only when vendor and device are both known. */
	if (n_ids >= 2 && (a.vendor != 0 || a.device != 0))
		a.has |= ZPCI_ATTR_HAS_IDS;

	*ret = a;
	return 0;
}

/* The last component of the link @name in @dirfd into @buf. Returns 0,
 * -ENOENT when there is no such link, or another -errno. */
static int read_link_basename(int dirfd, const char *name, char *buf, size_t size)
{
	char target[4096];
	const char *base;
	ssize_t k;

	k = readlinkat(dirfd, name, target, sizeof(target) - 1);
	if (k < 0)
		return negative_errno();
	target[k] = '\0';
	while (k > 1 && target[k - 1] == '/')
		target[--k] = '\0';
	base = strrchr(target, '/');
	base = base ? base + 1 : target;
	if (isempty(base) || strlen(base) >= size)
		return -EBADMSG;
	memcpy(buf, base, strlen(base) + 1);
	return 0;
}

bool sysfs_driver_is_vfio(const char *driver)
{
	return !isempty(driver) && strstr(driver, "vfio") != NULL;
}

/* The cdev name in vfio-dev/ of @dirfd ("vfio3"), "" when there is none. */
static void read_vfio_cdev(int dirfd, char *buf, size_t size)
{
	_cleanup_close_ int fd = openat(dirfd, "vfio-dev", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct dirent *de;
	DIR *d;

	buf[0] = '\0';
	if (fd < 0)
		return;
	d = fdopendir(fd);
	if (!d)
		return;
	fd = -EBADF; /* owned by d now */
	while ((de = readdir(d)))
		if (strneq(de->d_name, "vfio", 4) && strlen(de->d_name) < size) {
			memcpy(buf, de->d_name, strlen(de->d_name) + 1);
			break;
		}
	(void)closedir(d);
}

static int read_binding(int dirfd, bool vfio_only, SysfsBinding *ret)
{
	SysfsBinding b = { .iommu_group = -1 };
	char group[32];
	int r;

	r = read_link_basename(dirfd, "driver", b.driver, sizeof(b.driver));
	if (r < 0 && r != -ENOENT)
		return r;

	if (!vfio_only || sysfs_driver_is_vfio(b.driver)) {
		r = read_link_basename(dirfd, "iommu_group", group, sizeof(group));
		if (r >= 0) {
			uint64_t v;

			if (sysfs_parse_dec(group, INT32_MAX, &v) >= 0)
				b.iommu_group = (int)v;
		} else if (r != -ENOENT)
			return r;

		/* vfio-pci with cdev support: vfio-dev/vfioN */
		read_vfio_cdev(dirfd, b.vfio_cdev, sizeof(b.vfio_cdev));
	}

	if (isempty(b.driver) && !device_present(dirfd))
		return -ENOENT;

	*ret = b;
	return 0;
}

int sysfs_zpci_read_binding(int dirfd, SysfsBinding *ret)
{
	return read_binding(dirfd, false, ret);
}

int sysfs_zpci_read_vfio_binding(int dirfd, SysfsBinding *ret)
{
	return read_binding(dirfd, true, ret);
}

/* Append the components of @s to the path @path of length *@len (room was
 * made for them), applying "." and ".." lexically. */
static void append_components(char *path, size_t *len, const char *s)
{
	while (*s) {
		size_t n = strcspn(s, "/");

		if (n == 2 && s[0] == '.' && s[1] == '.') {
			while (*len > 0 && path[*len - 1] != '/')
				(*len)--;
			if (*len > 0)
				(*len)--; /* the '/' before it */
		} else if (n > 0 && !(n == 1 && s[0] == '.')) {
			path[(*len)++] = '/';
			memcpy(path + *len, s, n);
			*len += n;
		}
		s += n;
		s += strspn(s, "/");
	}
	path[*len] = '\0';
}

int sysfs_resolve_link(const char *dir, const char *target, char **ret)
{
	_cleanup_free_ char *path = NULL;
	size_t len = 0;

	if (isempty(dir) || dir[0] != '/' || isempty(target))
		return -EINVAL;
	path = malloc(strlen(dir) + strlen(target) + 3);
	if (!path)
		return -ENOMEM;
	path[0] = '\0';
	if (target[0] != '/')
		append_components(path, &len, dir);
	append_components(path, &len, target);
	if (len == 0)
		memcpy(path, "/", 2);
	*ret = TAKE_PTR(path);
	return 0;
}

static int compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void closedirp(DIR **d)
{
	if (*d)
		(void)closedir(*d);
}

/* The names in @d but "." and "..", sorted, as a NULL-terminated array.
 * Returns the number of names or -errno. */
static int read_names(DIR *d, char ***ret)
{
	_cleanup_strv_free_ char **names = NULL;
	size_t n = 0, allocated = 0;
	struct dirent *de;

	for (;;) {
		errno = 0;
		de = readdir(d);
		if (!de) {
			if (errno != 0)
				return negative_errno();
			break;
		}
		if (streq(de->d_name, ".") || streq(de->d_name, ".."))
			continue;
		if (n + 1 >= allocated) {
			size_t a = allocated ? allocated * 2 : 64;
			char **m = reallocarray(names, a, sizeof(*names));

			if (!m)
				return -ENOMEM;
			names = m;
			allocated = a;
		}
		names[n] = strdup(de->d_name);
		if (!names[n])
			return -ENOMEM;
		names[++n] = NULL;
	}
	if (n > 1)
		qsort_safe(names, n, sizeof(*names), compare_names);
	if (!names) {
		names = calloc(1, sizeof(*names));
		if (!names)
			return -ENOMEM;
	}
	*ret = TAKE_PTR(names);
	return (int)MIN(n, (size_t)INT32_MAX);
}

int sysfs_zpci_enumerate(const char *sysfs_root, SysfsZpciDeviceCallback cb, void *userdata)
{
	_cleanup_(closedirp) DIR *d = NULL;
	_cleanup_strv_free_ char **names = NULL;
	_cleanup_free_ char *bus = NULL;
	int busfd, r, count = 0;

	if (isempty(sysfs_root))
		return -EINVAL;
	if (asprintf(&bus, "%s/bus/pci/devices", sysfs_root) < 0)
		return -ENOMEM;
	d = opendir(bus);
	if (!d)
		return errno == ENOENT ? 0 : negative_errno(); /* no PCI bus (yet) */
	busfd = dirfd(d);

	/* All names first: libudev hands devices out sorted, and so does this. */
	r = read_names(d, &names);
	if (r < 0)
		return r;

	for (char **name = names; *name; name++) {
		_cleanup_free_ char *syspath = NULL;
		_cleanup_close_ int fd = -EBADF;
		char target[4096];
		ssize_t k;

		fd = openat(busfd, *name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			continue; /* gone, or not a device directory */
		k = readlinkat(busfd, *name, target, sizeof(target) - 1);
		if (k > 0) {
			target[k] = '\0';
			r = sysfs_resolve_link(bus, target, &syspath);
			if (r < 0)
				return r;
		} else if (asprintf(&syspath, "%s/%s", bus, *name) < 0)
			return -ENOMEM;
		r = cb(syspath, *name, fd, userdata);
		if (r < 0)
			return r;
		count++;
	}
	return count;
}
