"""certbot's renewal while 100 SSE streams and 20 WebSockets are held over the certificate.

``certbot renew --force-renewal`` runs on the host as certbot's timer runs it
(the environment of certbot.service, which carries the CA bundle), while the
streams are open through the TLS site and a paced loop makes plain requests,
each on a new TLS connection that trusts pebble's root alone. certbot runs
the role's deploy hook, which tests the configuration and reloads nginx.

Timeline, on the wall clock: T0 when certbot starts, T1 when it returned. The
reload happens between them, so a stream cut before T0 + worker_shutdown_timeout
was cut before its time; the new certificate must be served as soon as
certbot returned.
"""

import asyncio
import json
import os
import time

import pytest
from conftest import CERT_NAME, NAMES, assert_run_changes_nothing
from realtime_testkit.hosts import log_offset, log_since, nginx_processes
from realtime_testkit.load import held_streams
from realtime_testkit.tls import served_certificate

N_SSE = 100
N_WS = 20
RATE = 20  # new-connection requests per second, 4 at a time
CUT_TOLERANCE = 0.25  # s
EXIT_SLACK = 5.0  # s after the timeout (counted from certbot's return) for the old workers to be gone
NEW_CERT_WITHIN = 5.0  # s after certbot returned
CERTBOT_LOG = "/var/log/letsencrypt/letsencrypt.log"
HOLD_LIMIT = 240.0  # s: an upper bound only; the clients are stopped as soon as the measurement is done


def _serial(pebble_root, port):
    return served_certificate("127.0.0.1", port, cafile=pebble_root, server_hostname=NAMES[0])["serialNumber"]


async def _drive(issuing, trust_pebble, pebble_root, port, timeout):
    base = "%s:%d" % (NAMES[0], port)
    ctx = {}
    async with held_streams("https://%s/sse/renew?count=0&interval=1&heartbeat=2" % base, N_SSE,
                            "wss://%s/ws/renew" % base, N_WS, duration=HOLD_LIMIT, ready_within=90, verify=trust_pebble,
                            sse_options={"connect_timeout": 15}, ws_options={"ping_interval": 1.0, "connect_timeout": 15}
                            ) as held:
        await asyncio.sleep(2.0)  # events and echoes flow before anything changes
        ctx["serial_before"] = await asyncio.to_thread(_serial, pebble_root, port)
        ctx["nginx_before"] = await asyncio.to_thread(nginx_processes, issuing)
        environment = issuing.check_output("systemctl show certbot.service -p Environment").partition("=")[2]
        held.start_requests("https://%s/api/renew-probe" % base, count=int(RATE * HOLD_LIMIT), rate=RATE, timeout=10)
        await asyncio.sleep(1.0)
        ctx["certbot_log_offset"] = log_offset(issuing, CERTBOT_LOG)
        ctx["t0"] = time.time()
        ctx["renew"] = await asyncio.to_thread(
            issuing.run, "env %s certbot renew --force-renewal --no-random-sleep-on-renew --cert-name %s"
            % (environment, CERT_NAME))
        ctx["t1"] = time.time()
        ctx["certbot_log"] = log_since(issuing, ctx["certbot_log_offset"], CERTBOT_LOG)
        deadline = ctx["t1"] + NEW_CERT_WITHIN
        serial = ctx["serial_before"]
        while serial == ctx["serial_before"] and time.time() < deadline:
            await asyncio.sleep(0.1)
            serial = await asyncio.to_thread(_serial, pebble_root, port)
        ctx["serial_after"], ctx["t_new"] = serial, time.time()
        # The reload ran within certbot's run (its deploy hook), so the old workers are gone by
        # T1 + worker_shutdown_timeout (with some slack): wait for that, then a second more of requests.
        deadline = ctx["t1"] + timeout + EXIT_SLACK
        while True:
            ctx["nginx_after"] = await asyncio.to_thread(nginx_processes, issuing)
            if not ctx["nginx_after"][1] & ctx["nginx_before"][1] or time.time() > deadline:
                break
            await asyncio.sleep(0.5)
        ctx["old_workers_gone"] = time.time()
        await asyncio.sleep(1.0)
    ctx.update(sse=held.sse, ws=held.ws, requests=held.requests)
    return ctx


@pytest.fixture(scope="module")
def renewal(issuing, issuing_variables, trust_pebble, pebble_root, tls_port):
    timeout = int(issuing_variables["realtime_proxy_worker_shutdown_timeout"])
    ctx = asyncio.run(_drive(issuing, trust_pebble, pebble_root, tls_port, timeout))
    ctx["timeout"] = timeout
    t0 = ctx["t0"]
    figures = {
        "worker_shutdown_timeout_s": timeout,
        "certbot_s": round(ctx["t1"] - t0, 2), "certbot_rc": ctx["renew"].rc,
        "new_serial_after_certbot_s": round(ctx["t_new"] - ctx["t1"], 2),
        "serials": [ctx["serial_before"], ctx["serial_after"]],
        "sse": ctx["sse"].summary(before=t0 + timeout - CUT_TOLERANCE).as_dict(),
        "ws": ctx["ws"].summary(before=t0 + timeout - CUT_TOLERANCE).as_dict(),
        "requests": ctx["requests"].summary().as_dict(),
        "requests_from_certbot_to_old_workers_gone": ctx["requests"].summary(t0, ctx["old_workers_gone"]).as_dict(),
        "old_workers_gone_after_certbot_start_s": round(ctx["old_workers_gone"] - t0, 2),
        "cuts_after_certbot_start_s": sorted({round(r.closed_at - t0, 1) for r in ctx["sse"].streams + ctx["ws"].streams
                                              if r.closed_at is not None}),
        "nginx": {"before": [ctx["nginx_before"][0], sorted(ctx["nginx_before"][1])],
                  "after": [ctx["nginx_after"][0], sorted(ctx["nginx_after"][1])]},
    }
    text = json.dumps(figures, indent=1, sort_keys=True)
    out_dir = os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY")
    if out_dir:
        with open(os.path.join(out_dir, "renewal-figures.json"), "w") as handle:
            handle.write(text)
    print("\n== certbot renew --force-renewal with streams held: measured figures\n" + text, flush=True)
    ctx["figures"] = figures
    return ctx


def test_certbot_renewed_and_ran_the_roles_hook(renewal):
    renew = renewal["renew"]
    assert renew.rc == 0, renew.stdout + renew.stderr
    # certbot logs the hooks it runs, and what they printed, in its own log.
    hook_lines = [line for line in renewal["certbot_log"].splitlines() if "deploy-hook" in line]
    assert any("Running deploy-hook command: /etc/letsencrypt/renewal-hooks/deploy/realtime_proxy" in line
               for line in hook_lines), hook_lines or renewal["certbot_log"][-3000:]
    assert not any("deploy-hook command" in line and "error" in line.lower() for line in hook_lines), hook_lines


def test_the_new_certificate_is_served_within_the_reload(renewal):
    before, after = renewal["figures"]["serials"]
    assert after != before, renewal["figures"]
    assert renewal["t_new"] - renewal["t1"] <= NEW_CERT_WITHIN


def test_it_was_a_reload_not_a_restart(renewal):
    (master_before, workers_before), (master_after, workers_after) = renewal["nginx_before"], renewal["nginx_after"]
    assert master_after == master_before
    assert workers_after and not workers_after & workers_before


def test_every_stream_opened_and_none_was_cut_before_worker_shutdown_timeout(renewal):
    figures = renewal["figures"]
    for kind, count in (("sse", N_SSE), ("ws", N_WS)):
        summary = figures[kind]
        assert (summary["opened"], summary["failed_to_open"]) == (count, 0), summary
        assert summary["closed_early"] == 0, summary
        assert summary["mismatches"] == 0, summary
    cuts = [r.closed_at for r in renewal["sse"].streams + renewal["ws"].streams if r.closed_at is not None]
    # The old workers cut what they held once the timeout ran out, and not before.
    assert len(cuts) == N_SSE + N_WS, figures
    assert min(cuts) >= renewal["t0"] + renewal["timeout"] - CUT_TOLERANCE, figures
    assert max(cuts) <= renewal["t1"] + renewal["timeout"] + EXIT_SLACK, figures


def test_no_new_connection_failed(renewal):
    figures = renewal["figures"]
    during = figures["requests_from_certbot_to_old_workers_gone"]
    assert during["attempted"] >= RATE * renewal["timeout"] * 0.8, during
    assert during["failed"] == 0, during
    assert figures["requests"]["failed"] == 0, figures["requests"]


def test_a_run_after_the_renewal_changes_nothing_and_asks_the_ca_nothing(renewal, pebble_dir):
    # certbot rewrites its renewal configuration when it renews (without the values equal to its defaults).
    assert renewal["renew"].rc == 0
    assert_run_changes_nothing(pebble_dir)
