"""A callback that kills ansible-playbook the moment a named task reports changed.

Used by realtime_testkit.playbook.run_role(kill_after_changed=TASK) to
reproduce a controller that dies between two tasks (a cancelled CI job, a
lost connection). Callbacks run in the controller's main process, and the
linear strategy starts no further task before this task's results are
handled, so nothing after the task runs.
"""

from __future__ import annotations

import os
import signal

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
    name: realtime_test_kill_after_changed
    type: aggregate
    short_description: Kill the controller after a named task reports changed (tests only)
    description:
      - Reads the task name from the environment variable REALTIME_TEST_KILL_AFTER_CHANGED.
    requirements:
      - enabled in callbacks_enabled
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "realtime_test_kill_after_changed"
    CALLBACK_NEEDS_ENABLED = True

    def v2_runner_on_ok(self, result):
        wanted = os.environ.get("REALTIME_TEST_KILL_AFTER_CHANGED", "")
        if wanted and result.task_name.endswith(wanted) and result._result.get("changed"):  # pylint: disable=protected-access
            os.kill(os.getpid(), signal.SIGKILL)
