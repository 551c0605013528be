# Copyright: realtime.nginx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""realtime_probe without a network: its options table against its documentation, and its parameters.

The probe against real servers is in test_realtime_probe_nginx.py.
"""

from __future__ import annotations

import pytest
import yaml

from ansible_collections.realtime.nginx.plugins.modules import realtime_probe
from ansible_collections.realtime.nginx.plugins.modules.realtime_probe import OPTIONS, resolve_params

DOC_OPTIONS = yaml.safe_load(realtime_probe.DOCUMENTATION)['options']


def test_documented_options_are_the_argument_spec():
    assert sorted(DOC_OPTIONS) == sorted(OPTIONS)


@pytest.mark.parametrize('name', sorted(OPTIONS))
@pytest.mark.parametrize('key, unset', [('type', None), ('default', None), ('choices', None), ('required', False)])
def test_documentation_matches_the_argument_spec(name, key, unset):
    assert DOC_OPTIONS[name].get(key, unset) == OPTIONS[name].get(key, unset), (
        'option %s: DOCUMENTATION says %s %r, OPTIONS %r'
        % (name, key, DOC_OPTIONS[name].get(key, unset), OPTIONS[name].get(key, unset)))


def test_verdict_options_are_options():
    assert set(realtime_probe.VERDICT_OPTIONS) <= set(OPTIONS)
    assert set(realtime_probe.POSITIVE) <= set(OPTIONS)


def test_unset_options_take_their_defaults():
    p = resolve_params({'url': 'https://example.com/sse', 'window': None, 'min_events': 3})
    assert p['window'] == OPTIONS['window']['default'] and p['min_events'] == 3
    assert p['text'] == OPTIONS['text']['default']


@pytest.mark.parametrize('url, mode, status', [
    ('ws://example.com/ws', 'websocket', 101),
    ('WSS://example.com/ws', 'websocket', 101),
    ('https://example.com/sse', 'sse', 200),
])
def test_mode_and_status_follow_the_url(url, mode, status):
    p = resolve_params({'url': url})
    assert (p['mode'], p['status_code']) == (mode, status)


def test_explicit_mode_and_status_win():
    p = resolve_params({'url': 'https://example.com/ws', 'mode': 'websocket', 'status_code': 403})
    assert (p['mode'], p['status_code']) == ('websocket', 403)


def test_header_names_and_values_become_text():
    assert resolve_params({'url': 'http://h/', 'headers': {'X-Id': 7}})['headers'] == {'X-Id': '7'}
