# Copyright: realtime.nginx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters the realtime_proxy role uses to check its inventory."""

from __future__ import annotations

from ansible_collections.realtime.nginx.plugins.plugin_utils._adopt import adopt_errors
from ansible_collections.realtime.nginx.plugins.plugin_utils._inventory import inventory_errors, tls_material
from ansible_collections.realtime.nginx.plugins.plugin_utils._inventory_acme import acme_issued, acme_requests
from ansible_collections.realtime.nginx.plugins.plugin_utils._metrics import metrics_plan
from ansible_collections.realtime.nginx.plugins.plugin_utils._nginx_build import feature_errors, nginx_features
from ansible_collections.realtime.nginx.plugins.plugin_utils._render import role_files
from ansible_collections.realtime.nginx.plugins.module_utils._open_files import host_limit, open_files_plan


def realtime_proxy_errors(settings):
    """The list of problems in a mapping of realtime_proxy_* variables."""
    return inventory_errors(dict(settings))


def realtime_proxy_nginx_features(source, origin=None):
    """Version, modules and syntax of an nginx, from its ``nginx -V`` text or a package's documented build."""
    return nginx_features(source, origin)


def realtime_proxy_nginx_errors(settings, features):
    """The list of things a mapping of realtime_proxy_* variables needs that this nginx lacks."""
    return feature_errors(dict(settings), features)


def realtime_proxy_files(upstreams, sites, reuseport=True, acme_issued_sites=None, page_size=4096, snippets=None,
                         http_file=None):
    """The configuration files the role owns, each with its template and source item.

    A site's entry also carries ``listens``: its plain, TLS and QUIC listeners as [listen, reuseport]
    pairs (site_listens()). An acme site whose certificate is not in ACME_ISSUED_SITES (the
    realtime_proxy_acme_issued filter's mapping) has no TLS or QUIC listeners yet. An upstream's entry
    carries ``zone``: its shared memory zone's name and size for a host whose memory pages hold
    PAGE_SIZE bytes. With HTTP_FILE (an nginx the role does not own), the http-level file and one
    file per present snippet instead (owned_files()).
    """
    return role_files(upstreams, sites, reuseport, acme_issued_sites, page_size, snippets, http_file)


def realtime_proxy_adopt_errors(command, files, conf_dir, http_file, settings):
    """Why the role's files cannot join the live configuration of an nginx it does not own (its nginx -T result)."""
    return adopt_errors(dict(command), conf_dir, http_file, list(files), dict(settings))


def realtime_proxy_open_files(limits, nr_open, rlimit=0, connections=0):
    """worker_rlimit_nofile and worker_connections for a host, from its /proc/1/limits and fs.nr_open texts."""
    return open_files_plan(host_limit(limits, nr_open), rlimit, connections)


def realtime_proxy_metrics_plan(settings, exporters, name):
    """The exporters realtime_proxy_metrics asks of a host (metrics_plan()), from a mapping of realtime_proxy_* variables."""
    return metrics_plan(dict(settings), dict(exporters), name)


def realtime_proxy_tls_files(sites):
    """The certificate and key files of sites that give PEM text, for nginx_config's secret_files."""
    return tls_material(list(sites))


def realtime_proxy_acme_requests(sites):
    """What certbot is asked for: one entry per present site with tls.acme (acme_requests())."""
    return acme_requests(list(sites))


def realtime_proxy_acme_issued(sites, existing, live_dir):
    """{site name: {certificate, key}} of the acme sites whose certificate files are among EXISTING paths."""
    return acme_issued(list(sites), list(existing), live_dir)


def realtime_proxy_verify_targets(sites, snippets=None):
    """Present SSE and WebSocket locations and snippets that have a verify_url, each named by its variable path."""
    targets = []
    for sindex, site in enumerate(sites):
        if site.get("state", "present") != "present":
            continue
        for lindex, location in enumerate(site.get("locations", [])):
            if location.get("verify_url") and location.get("type") in ("sse", "websocket"):
                where = "realtime_proxy_sites[%d].locations[%d] (%s on site %s)" % (sindex, lindex, location.get("path"), site.get("name"))
                targets.append({"where": where, "location": location})
    for index, snippet in enumerate(snippets or []):
        if snippet.get("state", "present") == "present" and snippet.get("verify_url") and snippet.get("type") in ("sse", "websocket"):
            targets.append({"where": "realtime_proxy_snippets[%d] (%s)" % (index, snippet.get("name")), "location": snippet})
    return targets


class FilterModule:
    """Filters for realtime.nginx."""

    def filters(self):
        return {
            "realtime_proxy_acme_issued": realtime_proxy_acme_issued,
            "realtime_proxy_acme_requests": realtime_proxy_acme_requests,
            "realtime_proxy_adopt_errors": realtime_proxy_adopt_errors,
            "realtime_proxy_errors": realtime_proxy_errors,
            "realtime_proxy_files": realtime_proxy_files,
            "realtime_proxy_nginx_errors": realtime_proxy_nginx_errors,
            "realtime_proxy_nginx_features": realtime_proxy_nginx_features,
            "realtime_proxy_metrics_plan": realtime_proxy_metrics_plan,
            "realtime_proxy_open_files": realtime_proxy_open_files,
            "realtime_proxy_tls_files": realtime_proxy_tls_files,
            "realtime_proxy_verify_targets": realtime_proxy_verify_targets,
        }
