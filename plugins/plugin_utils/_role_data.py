# Copyright: realtime.nginx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The realtime_proxy role's own data, read from the role's files.

Each fact has one home in the role: the location types and their presets in
``vars/main.yml``, the option names (and their nesting) in
``meta/argument_specs.yml``. The controller-side checks read them from there,
so adding a preset or an option never means editing a copy here.
"""

from __future__ import annotations

import functools
import pathlib

import yaml

ROLE_DIR = pathlib.Path(__file__).resolve().parents[2] / "roles" / "realtime_proxy"


# libyaml's parser where PyYAML has it: the argument spec takes a tenth of the
# time to read, and every task that uses one of the role's filters reads it
# again (each runs in a worker process of its own).
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _load(relative):
    with open(ROLE_DIR / relative, encoding="utf-8") as handle:
        return yaml.load(handle, Loader=_LOADER)  # noqa: S506  a safe loader, C or Python


@functools.lru_cache(maxsize=None)
def location_presets():
    """{type: preset} from vars/main.yml, in the order the file lists them."""
    return role_vars()["realtime_proxy__location_presets"]


@functools.lru_cache(maxsize=None)
def role_vars():
    """The role's own variables, vars/main.yml."""
    return _load("vars/main.yml")


@functools.lru_cache(maxsize=None)
def role_options():
    """The options of the role's ``main`` entry point (meta/argument_specs.yml)."""
    return _load("meta/argument_specs.yml")["argument_specs"]["main"]["options"]


def suboption_names(*path):
    """The option names one level below PATH, for example ("realtime_proxy_sites", "locations")."""
    options = role_options()
    spec = None
    for name in path:
        spec = options[name]
        options = spec.get("options", {})
    return frozenset(options)


def location_types():
    """The location types, as ``type`` accepts them."""
    return tuple(location_presets())


def preset(kind):
    """The preset of location type KIND, or an empty mapping for an unknown type."""
    return location_presets().get(kind, {})
