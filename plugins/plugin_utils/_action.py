# Copyright: realtime.nginx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every action plugin of the collection does first."""

from __future__ import annotations

from ansible.plugins.action import ActionBase


def begin(action, tmp, task_vars, argument_spec):
    """ACTION's result so far (ActionBase.run(), nothing changed yet) and its arguments, validated against
    ARGUMENT_SPEC."""
    result = ActionBase.run(action, tmp, task_vars)
    dummy, args = action.validate_argument_spec(argument_spec=argument_spec)
    result['changed'] = False
    return result, args
