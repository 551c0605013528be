# Copyright: realtime.nginx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Attribute text the collection's modules share.

Every module extends realtime.nginx.attributes: it brings the descriptions of
check_mode and diff_mode and the platform attribute (POSIX hosts), and the
module sets only support (and details) of check_mode and diff_mode itself. A
module that changes nothing extends realtime.nginx.attributes.read_only as
well, which sets both; one whose work an action plugin does on the controller
extends realtime.nginx.attributes.controller.
"""

from __future__ import annotations


class ModuleDocFragment:

    DOCUMENTATION = r"""
options: {}
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
  platform:
    description: Target OS/families that can be operated against.
    platforms: posix
    support: full
"""

    READ_ONLY = r"""
options: {}
attributes:
  check_mode:
    support: full
    details: The module only reads, so it runs normally in check mode and never reports a change.
  diff_mode:
    support: none
    details: The module changes nothing, so there is nothing to compare.
"""

    CONTROLLER = r"""
options: {}
attributes:
  action:
    description: Indicates this has a corresponding action plugin so some parts of the options can be executed on the controller.
    support: full
    details: Runs as an action plugin on the controller.
"""
