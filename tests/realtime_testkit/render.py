"""Render the realtime_proxy role's real templates without a host or container.

``render_tree(settings, root)`` does what the role's tasks do between the
argument-spec check and ``nginx -t``:

* variables: role defaults (defaults/main/*.yml) < ``realtime_proxy__nginx``
  (what tasks/plan.yml reads from ``nginx -V``, here of the nginx that
  validate_tree() runs; a test renders for another nginx by giving its own in
  ``settings``) and ``realtime_proxy__open_files`` (the workers sized for a
  host that allows HOST_OPEN_FILES, as tasks/plan.yml sizes them) <
  ``settings`` (inventory) < vars/main.yml < vars/Debian.yml
  < vars/Debian-12.yml (if present). That is Ansible's precedence: role vars
  and include_vars beat inventory, inventory beats role defaults;
* the file list: the collection's ``realtime_proxy_files`` filter
  (owned_files()) on realtime_proxy_upstreams and realtime_proxy_sites (and,
  with realtime_proxy_manage_nginx_conf false, realtime_proxy_snippets and the
  http-level file), as in tasks/configure.yml. Sites with ``tls.acme`` render
  as on a host without their certificate (plain listeners only) unless
  ``settings`` give ``realtime_proxy__acme_issued`` (what
  tasks/plan.yml finds on a host: site name -> certificate and key
  paths);
* templating: ansible-core's own Templar renders templates/tree.j2, the one
  template the role's configure task renders, with the searchpath and Jinja
  overrides (trim_blocks, nothing else) that the ``template`` lookup uses and
  ``ansible_managed`` from ansible-core's configuration; certificates and keys
  given as PEM text are not templated: the ``realtime_proxy_tls_files``
  filter's entries are written as they are, with their ``mode``, as
  nginx_config's secret_files;
* output: ROOT/<file.path>, under the role's owned directories only (the role
  creates exactly those; a path that needs another directory fails here as it
  would on a host), and with realtime_proxy_manage_nginx_conf false the
  distribution's conf.d/ that the http-level file joins. A path that resolves outside ROOT is never written:
  ``PathEscape`` is raised instead. Certificates and keys given as PEM text
  land in realtime_proxy/tls/NAME.crt and .key (0600 for a key), also
  inside ROOT; certificates given as paths are only named in the site file,
  never read or copied.

``validate_tree(root)`` runs ``nginx -t`` on a copy of the tree (see its doc
for exactly what it patches) and ``inventory_check(settings)`` runs the two
checks the role runs before it touches a host.

The loader, templar and template sources are built once per process and
reused: a render of a typical tree takes a few milliseconds.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import math
import os
import pathlib
import re
import shutil
import subprocess
import tempfile

from .collection import REPO_ROOT, ensure_importable

ensure_importable()

# pylint: disable=wrong-import-position
from ansible import constants  # noqa: E402
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator  # noqa: E402
from ansible.module_utils.parsing.convert_bool import boolean  # noqa: E402
from ansible.parsing.dataloader import DataLoader  # noqa: E402
from ansible.template import Templar, trust_as_template  # noqa: E402

from ansible_collections.realtime.nginx.plugins.filter.realtime_proxy import (  # noqa: E402
    realtime_proxy_acme_requests, realtime_proxy_errors, realtime_proxy_nginx_features,
    realtime_proxy_tls_files)
from ansible_collections.realtime.nginx.plugins.module_utils._open_files import open_files_plan  # noqa: E402
from ansible_collections.realtime.nginx.plugins.plugin_utils._render import (  # noqa: E402
    PUBLIC, render_tree as render_tree_values, tree_values)
from ansible_collections.realtime.nginx.plugins.modules.nginx_config import point_into  # noqa: E402

ROLE = REPO_ROOT / "roles" / "realtime_proxy"
TEMPLATES = ROLE / "templates"


def _nginx_binary():
    """REALTIME_NGINX_BINARY, else Debian's nginx as tools/ensure-nginx.sh unpacks it, else an installed one."""
    if os.environ.get("REALTIME_NGINX_BINARY"):
        return os.environ["REALTIME_NGINX_BINARY"]
    unpacked = REPO_ROOT / "build" / "nginx" / "usr" / "sbin" / "nginx"
    return str(unpacked) if unpacked.exists() else "/usr/sbin/nginx"


# The open files the rendered configuration assumes a host allows a service
# (PID 1's hard limit, at most fs.nr_open: tasks/plan.yml reads it), so a
# render does not depend on the machine it runs on: the figure of the test
# machines (docs: the hard limit is 20,000 per process there).
HOST_OPEN_FILES = 20000

# The nginx that the tests run `nginx -t` with, and its package's configuration
# directory (Debian's stock nginx.conf and mime.types, as a fresh install has them).
NGINX = _nginx_binary()
DEBIAN_CONF_DIR = pathlib.Path(NGINX).parents[2] / "etc" / "nginx"
DEBIAN_MIME_TYPES = DEBIAN_CONF_DIR / "mime.types"
# Where the packaged configuration names its own files (include /etc/nginx/...).
LIVE_CONF_DIR = "/etc/nginx"


# The distribution release whose vars file (vars/Debian-<release>.yml, when
# the role has one) is loaded after vars/Debian.yml, as tasks/main.yml does.
# 12 matches the nginx 1.22 that validate_tree() runs on this machine.
DEBIAN_RELEASE = os.environ.get("REALTIME_DEBIAN_RELEASE", "12")


def public_variables(merged):
    """The role's public variables in MERGED, as tasks/plan.yml hands them to realtime_proxy_errors
    (the varnames lookup of ``^realtime_proxy_[a-z0-9]``)."""
    return {name: value for name, value in merged.items() if PUBLIC.match(name)}


# What tasks/plan.yml learns of a host: the keys of realtime_proxy__plan (vars/main.yml).
PLAN_KEYS = ("host", "nginx", "open_files", "acme_requests", "acme_issued", "metrics_plan")

# What the template lookup (and the template action) passes to Jinja by default.
TEMPLATE_OVERRIDES = dict(trim_blocks=True, lstrip_blocks=False, newline_sequence="\n")


class PathEscape(AssertionError):
    """A rendered file's path resolves outside the root it is rendered into."""


class _Role:
    """Everything about the role that does not depend on the inventory."""

    def __init__(self):
        self.loader = DataLoader()
        self.loader.set_basedir(str(ROLE))
        self.defaults = {}
        for path in sorted((ROLE / "defaults" / "main").glob("*.yml")):
            self.defaults.update(self.loader.load_from_file(str(path)) or {})
        self.role_vars = {}
        for path in (ROLE / "vars" / "main.yml", ROLE / "vars" / "Debian.yml",
                     ROLE / "vars" / ("Debian-%s.yml" % DEBIAN_RELEASE)):
            if path.exists():
                # Trusted, as role vars are: realtime_proxy__stub_status_listen is a template.
                self.role_vars.update(self.loader.load_from_file(str(path), trusted_as_template=True) or {})
        specs = self.loader.load_from_file(str(ROLE / "meta" / "argument_specs.yml"))
        self.argument_spec = specs["argument_specs"]["main"].get("options", {})
        self._validator = ArgumentSpecValidator(self.argument_spec)
        # The template action's searchpath for a role task: the role path and
        # the template's directory, each also with 'templates/' appended.
        searchpath = []
        for base in (str(ROLE), str(TEMPLATES)):
            searchpath += [os.path.join(base, "templates"), base]
        self.templar = Templar(loader=self.loader).copy_with_new_env(searchpath=searchpath)
        self._cache_compiled_templates()
        self._sources = {}

    def _cache_compiled_templates(self):
        """Compile each top-level template once instead of on every render.

        ansible-core compiles the top-level template string on every call
        (includes and imports are cached by Jinja's loader). Compilation is a
        pure function of the text and the overrides, so memoizing it changes
        nothing but the speed (about 2/3 of a render). Skipped if the engine's
        internals differ from ansible-core 2.19's.
        """
        engine = getattr(self.templar, "_engine", None)
        compile_template = getattr(engine, "_compile_template", None)
        if compile_template is None:
            return
        cache = {}

        def cached(template, options):
            key = (str(template), options.overrides, options.escape_backslashes)
            if key not in cache:
                cache[key] = compile_template(template, options)
            return cache[key]

        engine._compile_template = cached  # pylint: disable=protected-access

    def source(self, name):
        """The trusted text of template NAME."""
        if name not in self._sources:
            self._sources[name] = trust_as_template(self.loader.get_text_file_contents(str(TEMPLATES / name)))
        return self._sources[name]

    @functools.cached_property
    def nginx(self):
        """realtime_proxy__nginx as tasks/plan.yml sets it: from ``NGINX -V``, the nginx that
        validate_tree() runs, so the syntax rendered is the syntax tested; the release's package build
        (realtime_proxy__packaged_nginx) when that binary is missing."""
        try:
            proc = subprocess.run([NGINX, "-V"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=True,
                                  timeout=30)
        except (OSError, subprocess.CalledProcessError):
            return realtime_proxy_nginx_features(self.role_vars["realtime_proxy__packaged_nginx"])
        return realtime_proxy_nginx_features(proc.stdout.decode("utf-8", "replace"), NGINX + " -V")

    def variables(self, settings):
        """Role defaults < SETTINGS < role vars, then what tasks/plan.yml learns of a host (realtime_proxy__plan,
        which vars/main.yml's aliases give the names the templates read): a test gives its own by those names
        (realtime_proxy__nginx, __open_files, __acme_issued, ...) in SETTINGS."""
        # Shallow: nothing here or in the templates mutates a variable's value.
        merged = dict(self.defaults)
        merged.update(settings)
        merged.update(self.role_vars)
        plan = self.plan(merged, settings)
        merged["realtime_proxy__plan"] = plan
        merged.update(("realtime_proxy__" + key, value) for key, value in plan.items())
        return merged

    def plan(self, merged, settings):
        """realtime_proxy__plan for a host with the nginx that validate_tree() runs (the detected one), HOST_OPEN_FILES
        open files, 4 KB memory pages and none of the role's certificates, unless SETTINGS say otherwise."""
        plan = {key: settings["realtime_proxy__" + key] for key in PLAN_KEYS if "realtime_proxy__" + key in settings}
        plan.setdefault("nginx", self.nginx)
        plan.setdefault("host", {"installed": True, "page_size": 4096, "installed_packages": [], "service": {},
                                 "files": {}, "exists": {}})
        plan.setdefault("acme_issued", {})
        if "open_files" not in plan:
            try:
                plan["open_files"] = open_files_plan(HOST_OPEN_FILES, merged["realtime_proxy_worker_rlimit_nofile"],
                                                     merged["realtime_proxy_worker_connections"])
            except (TypeError, ValueError, OverflowError):
                # Not a number: the role's checks refuse it by name before it
                # would size anything (tasks/plan.yml checks first).
                plan["open_files"] = None
        if "acme_requests" not in plan:
            try:
                plan["acme_requests"] = realtime_proxy_acme_requests(merged["realtime_proxy_sites"])
            except Exception:  # pylint: disable=broad-except
                # An inventory the checks refuse: the role stops before it plans anything.
                plan["acme_requests"] = []
        return plan

    def tree_values(self, settings):
        """What the realtime_proxy_tree lookup hands templates/tree.j2 for SETTINGS (tree_values(): every public
        variable and realtime_proxy__tree_variables, templated, and the file list), with ansible_managed."""
        merged = self.variables(settings)
        self.templar.available_variables = merged
        values = tree_values(merged, self.templar.template)
        values["ansible_managed"] = constants.DEFAULT_MANAGED_STR
        return values

    def argument_errors(self, merged):
        # The validator deep-copies what it validates and returns; the role's
        # variables stay as they were (the role does not use the coerced values).
        args = {name: merged[name] for name in self.argument_spec if name in merged}
        # An exception here is a defect: the role's validate_argument_spec
        # task would fail with a message that names no variable. (A number
        # where a dict with suboptions belongs raises TypeError in
        # ansible-core's set_fallbacks; that is why tls and cors are raw.)
        # One exception the role cannot avoid: ansible-core's int check
        # raises on an infinite or NaN float (YAML .inf, .nan) for every int
        # option. The play still stops before the host is touched.
        try:
            result = self._validator.validate(args, validate_role_argument_spec=True)
        except (OverflowError, ValueError) as exc:
            if not _has_non_finite_float(args):
                raise
            return ["argument spec validation failed on a non-finite number: %s" % exc]
        return list(result.error_messages)

    def render(self, name, variables):
        scope = dict(variables)
        scope.setdefault("ansible_managed", constants.DEFAULT_MANAGED_STR)
        self.templar.available_variables = scope
        result = self.templar.template(self.source(name), escape_backslashes=False, overrides=TEMPLATE_OVERRIDES)
        return "" if result is None else result


def _has_non_finite_float(value):
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, dict):
        return any(_has_non_finite_float(item) for item in value.values())
    if isinstance(value, (list, tuple)):
        return any(_has_non_finite_float(item) for item in value)
    return False


@functools.lru_cache(maxsize=None)
def role():
    """The process-wide role data and templar (built on first use)."""
    return _Role()


def _trusted(value):
    """VALUE with every string in it marked as a template, as Ansible marks what inventory files hold."""
    if isinstance(value, str):
        return trust_as_template(value)
    if isinstance(value, list):
        return [_trusted(item) for item in value]
    if isinstance(value, dict):
        return {key: _trusted(item) for key, item in value.items()}
    return value


def templated_inventory(variables, prefix=""):
    """The variables of an inventory whose names start with PREFIX, their Jinja rendered with all of
    VARIABLES in reach, as Ansible renders inventory variables before the role sees them."""
    templar = Templar(loader=role().loader, variables=variables)
    return {name: templar.template(_trusted(value)) for name, value in variables.items() if name.startswith(prefix)}


def merged_variables(settings):
    """Role defaults, SETTINGS, then the role's vars, as Ansible would merge them."""
    return role().variables(settings)


def mode_of(merged):
    """What the role does in the configuration directory for MERGED variables, as vars/main.yml's
    realtime_proxy__mode says: managed, adopt (realtime_proxy_manage_nginx_conf false) or removed."""
    if boolean(merged["realtime_proxy_manage_nginx_conf"]):
        return "managed"
    return "adopt" if merged["realtime_proxy_state"] == "present" else "removed"


def files_for(settings):
    """The role's configuration file list for SETTINGS, as the realtime_proxy_tree lookup computes it."""
    return role().tree_values(settings)["realtime_proxy__files"]


def inventory_check(settings):
    """Every reason the role would refuse SETTINGS before touching a host.

    First the role's argument-spec validation (meta/argument_specs.yml, entry
    point ``main``, run by ansible.builtin.validate_argument_spec on the role's
    variables with defaults applied), then tasks/plan.yml's
    realtime_proxy_errors on every public variable. An exception from the second check is re-raised
    unless the argument spec already stopped the play (then the role would
    never have reached it): a crash is a bug, not a rejection message.
    """
    merged = merged_variables(settings)
    errors = role().argument_errors(merged)
    try:
        errors += realtime_proxy_errors(public_variables(merged))
    except Exception:  # pylint: disable=broad-except
        if not errors:
            raise
    return errors


def _inside(root, path):
    real_root = os.path.realpath(root)
    real = os.path.realpath(path)
    return real == real_root or real.startswith(real_root + os.sep)


def render_tree(settings, root):
    """Render the role's files for SETTINGS into ROOT; return the written paths.

    ROOT stands for the staging directory's ``proposed/``. The role's owned
    directories are created first (nginx_config's owned_dirs), nothing else.
    """
    root = pathlib.Path(root)
    the_role = role()
    merged = the_role.variables(settings)
    values = the_role.tree_values(settings)
    mode = values["realtime_proxy__mode"]
    for directory in merged["realtime_proxy__layouts"][mode]["owned_dirs"]:
        (root / directory).mkdir(parents=True, exist_ok=True)
    if mode == "adopt":
        # The distribution's conf.d/, which the role's http-level file joins.
        (root / merged["realtime_proxy__adopt_http_file"]).parent.mkdir(parents=True, exist_ok=True)
    # As the role renders it: the realtime_proxy_tree lookup's renderer, on the values it hands the templates.
    rendered = render_tree_values(values, [str(TEMPLATES)])
    for item in rendered:
        item["mode"] = "0644"
    written = []
    for item in rendered + realtime_proxy_tls_files(merged["realtime_proxy_sites"]):
        dest = os.path.join(str(root), item["path"])
        if not _inside(root, dest):
            raise PathEscape("%r would be written outside %s" % (item["path"], root))
        _write(dest, item["content"].encode("utf-8", errors="surrogateescape"), int(item["mode"], 8))
        written.append(pathlib.Path(dest))
    return written


def render_adopted(settings, root, user_files=None):
    """An nginx the role does not own, in ROOT; returns the role's files, as render_tree().

    ROOT gets Debian's packaged configuration directory (its stock nginx.conf),
    then USER_FILES ({path relative to ROOT: text}, which may replace
    nginx.conf), then the role's files for SETTINGS, which must say
    realtime_proxy_manage_nginx_conf false (SETTINGS None: none, the nginx
    before the role's first run). validate_tree() and dump_tree() run on it
    as on a rendered tree, reading the proposal wherever the packaged files
    include /etc/nginx/... (as nginx_config's staging does).
    """
    root = pathlib.Path(root)
    if settings is not None and mode_of(merged_variables(settings)) == "managed":
        raise AssertionError("render_adopted() is for realtime_proxy_manage_nginx_conf false")
    shutil.copytree(DEBIAN_CONF_DIR, root, symlinks=True, dirs_exist_ok=True)
    for relative, text in (user_files or {}).items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(text)
    return [] if settings is None else render_tree(settings, root)


def _write(dest, data, mode):
    """Write DATA to DEST with MODE, as nginx_config's ``mode`` does.

    The file is created with MODE (a key is never readable by others, not
    even for a moment) and never through a symlink; an existing file gets
    MODE too.
    """
    fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0), mode)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            fd = None
            handle.write(data)
    finally:
        if fd is not None:
            os.close(fd)


# --------------------------------------------------------------------------
# a certificate for nginx -t
# --------------------------------------------------------------------------

@functools.lru_cache(maxsize=None)
def self_signed_certificate():
    """A self-signed EC P-256 certificate for localhost and its key, for inventories that nginx -t must load.

    Made with the openssl CLI once per process, in a private temporary
    directory removed at exit. Returns {"cert": path, "key": path,
    "cert_pem": text, "key_pem": text}, or None when openssl is missing.
    The paths are absolute and made of characters the role's checks accept
    in tls.certificate, unless TMPDIR itself has others.
    """
    openssl = shutil.which("openssl")
    if not openssl:
        return None
    directory = tempfile.mkdtemp(prefix="rtn-tls-")
    atexit.register(shutil.rmtree, directory, True)
    cert, key = os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem")
    subprocess.run([openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=localhost"],
                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=True, timeout=60)
    os.chmod(key, 0o600)
    return {"cert": cert, "key": key,
            "cert_pem": pathlib.Path(cert).read_text(), "key_pem": pathlib.Path(key).read_text()}


# --------------------------------------------------------------------------
# nginx -t without root
# --------------------------------------------------------------------------

# The directives of the rendered nginx.conf that name root-owned places. Only
# these lines are rewritten, in a copy; every other byte is validated as
# rendered:
#   user        nginx -t as a non-root user warns and ignores it, as root it
#               needs the account; dropped so the test does not depend on
#               www-data existing.
#   pid         /run/nginx.pid: nginx -t does not write it, but the path is
#               pointed into the copy so nothing outside is ever named.
#   error_log   /var/log/nginx/error.log is opened (created) by nginx -t,
#               which needs a writable /var/log/nginx.
#   access_log  same, for the http-level access log.
_PATCHES = (
    (re.compile(r"^user\s[^;]*;[ \t]*$", re.M), lambda root, m: "# user: dropped for a non-root nginx -t"),
    (re.compile(r"^pid\s[^;]*;[ \t]*$", re.M), lambda root, m: "pid %s/nginx.pid;" % root),
    (re.compile(r"^error_log\s[^;]*;[ \t]*$", re.M), lambda root, m: "error_log %s/error.log;" % root),
    (re.compile(r"^(\s*)access_log\s[^;]*;[ \t]*$", re.M),
     lambda root, m: "%saccess_log %s/access.log;" % (m.group(1), root)),
)


# A site's own logs (own_logs) under nginx's log directory, pointed into the
# copy the same way; nginx -t opens them.
_SITE_LOG = re.compile(r"^(\s*)(access_log|error_log) /var/log/nginx/([A-Za-z0-9._-]+)", re.M)


def patch_nginx_conf(text, root):
    """TEXT with the user/pid/error_log/access_log lines pointed into ROOT.

    Each pattern must match exactly once, so a template change that moves or
    duplicates one of them is noticed instead of silently validated.
    """
    for pattern, replacement in _PATCHES:
        text, count = pattern.subn(lambda match, r=replacement: r(str(root), match), text)
        if count != 1:
            raise AssertionError("expected exactly one %r line in nginx.conf, found %d" % (pattern.pattern, count))
    return text


@contextlib.contextmanager
def _runnable_copy(root):
    """A copy of the tree rendered in ROOT that nginx can read as a non-root user; yields (copy_root, nginx.conf).

    The copy gets what Debian's packaging provides and the rendered
    nginx.conf includes: mime.types (from /etc/nginx when present, else an
    empty types block), empty modules-enabled/, conf.d/ and sites-enabled/.
    Then nginx.conf is patched as patch_nginx_conf() describes, and the sites'
    own log files are pointed into the copy too. The copy is removed on exit.
    """
    with tempfile.TemporaryDirectory(prefix="rtn-nginx-t.") as tmp:
        copy_root = pathlib.Path(tmp) / "conf"
        shutil.copytree(root, copy_root, symlinks=True)
        for directory in ("modules-enabled", "conf.d", "sites-enabled"):
            (copy_root / directory).mkdir(exist_ok=True)
        mime = copy_root / "mime.types"
        if not mime.exists():
            if DEBIAN_MIME_TYPES.exists():
                shutil.copyfile(DEBIAN_MIME_TYPES, mime)
            else:
                mime.write_text("types {\n}\n")
        conf = copy_root / "nginx.conf"
        conf.write_bytes(patch_nginx_conf(conf.read_bytes().decode("utf-8", "surrogateescape"), copy_root)
                         .encode("utf-8", "surrogateescape"))
        # A packaged nginx.conf (render_adopted()) includes /etc/nginx/...: read the copy's files instead.
        point_into(str(copy_root), LIVE_CONF_DIR)
        for site in (copy_root / "realtime_proxy" / "sites").glob("*.conf"):
            site.write_text(_SITE_LOG.sub(lambda m, r=str(copy_root): "%s%s %s/%s" % (m.group(1), m.group(2), r, m.group(3)),
                                          site.read_text()))
        yield copy_root, conf


def _run_on_copy(root, nginx, option):
    """``nginx OPTION`` on a runnable copy of ROOT; (rc, stdout, stderr), the copy's paths written as ROOT's."""
    root = pathlib.Path(root)
    with _runnable_copy(root) as (copy_root, conf):
        proc = subprocess.run(
            [nginx, option, "-q", "-p", str(copy_root) + "/", "-c", str(conf)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False, timeout=60)
        return tuple([proc.returncode] + [stream.decode("utf-8", "replace").replace(str(copy_root), str(root))
                                          for stream in (proc.stdout, proc.stderr)])


def validate_tree(root, nginx=NGINX):
    """Run ``nginx -t`` on a copy of the tree rendered in ROOT; (rc, stderr).

    The copy is _runnable_copy()'s, and nginx runs with ``-p COPY -c
    COPY/nginx.conf``, so relative includes resolve in the copy and the
    compiled-in prefix is never used. Nothing outside the copy is
    written; nothing outside it is read except mime.types, nginx's own binary
    and the certificate and key files a site names by absolute path
    (``tls.certificate``/``tls.certificate_key``).
    """
    returncode, _stdout, stderr = _run_on_copy(root, nginx, "-t")
    return returncode, stderr


def dump_tree(root, nginx=NGINX):
    """``nginx -T`` of the tree rendered in ROOT, run as validate_tree() runs ``nginx -t``; (rc, stdout, stderr).

    The dump names ROOT's files, with the lines patch_nginx_conf() rewrote as
    they read in the copy: what the audit (realtime_audit) reads on a host.
    """
    return _run_on_copy(root, nginx, "-T")
