"""What WebSocket promises, end to end through the role's websocket locations.

Each behaviour has its own client and server (behaviours.PAIRS); the traffic
runs at once in the ``behaviours`` fixture. nginx is a blind tunnel after the
101, so whatever the two ends negotiate and send must arrive as it was sent.
"""

from behaviours import IDLE_MS, PAGE_CLOSES, SERVER_CLOSES, SIXTEEN_MIB, recorded


def test_subprotocol_negotiated_by_graphql_ws(behaviours, results):
    answers = behaviours[0]
    got = answers["subprotocol"]
    with recorded(results, "WebSocket: subprotocol"):
        assert got.get("subprotocol") == "graphql-transport-ws", got
        handshake = got["handshake"]
        assert handshake["headers"]["sec-websocket-protocol"] == "graphql-transport-ws", handshake
        assert handshake["subprotocol"] == "graphql-transport-ws", handshake
        assert got["countdown"] == [3, 2, 1, 0], got


def test_permessage_deflate_negotiated_between_client_and_backend(behaviours, results):
    answers = behaviours[0]
    got = answers["deflate"]
    with recorded(results, "WebSocket: permessage-deflate"):
        assert not isinstance(got, BaseException), repr(got)
        # The client offered it through nginx, aiohttp answered it, and the client got that answer.
        assert "permessage-deflate" in got["hello"]["headers"]["sec-websocket-extensions"], got["hello"]
        assert got["hello"]["extensions"].startswith("permessage-deflate"), got["hello"]
        assert got["client"] == got["hello"]["extensions"], got
        assert got["echo_ok"]


def test_close_codes_and_reasons_arrive_both_ways(behaviours, results):
    answers = behaviours[0]
    with recorded(results, "WebSocket: close codes and reasons, both ways"):
        seen = [(close["code"], close["reason"]) for close in answers["closes seen"]]
        assert seen == [tuple(close) for close in SERVER_CLOSES], answers["closes seen"]
        received = [(close["code"], close["reason"]) for close in answers["closes received"]]
        for code, reason in PAGE_CLOSES:
            assert (code, reason) in received, received
        # The page navigated away from its open socket: the browser said "going away".
        assert (1001, "") in received, received


def test_pings_keep_an_idle_socket_open_past_read_timeout(behaviours, results):
    answers, logs = behaviours
    with recorded(results, "WebSocket: pings keep an idle socket past read_timeout"):
        pinged, silent = answers["ping"], answers["no ping"]
        assert pinged["pongs"] >= IDLE_MS // 1000 - 2, pinged
        assert pinged["echoes"] == ["hello"] and pinged["close"]["code"] == 1000, pinged
        # Control: the same socket without pings is cut by nginx at the location's read_timeout (5 s).
        assert silent["echoes"] == [] and silent["close"]["code"] == 1006, silent
        cut = [line.seconds for line in logs["debian12"] if "cell=behaviour-idle" in line.uri]
        assert sorted(cut)[0] < IDLE_MS / 1000 <= sorted(cut)[1], cut


def test_a_16_mib_message_comes_back_whole(behaviours, results):
    answers = behaviours[0]
    got = answers["16 MiB"]
    with recorded(results, "WebSocket: a 16 MiB message"):
        assert not isinstance(got, BaseException), repr(got)
        assert got["echo"] == got["sent"] == len(SIXTEEN_MIB) and got["same"], got


def test_a_fragmented_message_arrives_as_one(behaviours, results):
    answers = behaviours[0]
    got = answers["fragmented"]
    with recorded(results, "WebSocket: a fragmented message"):
        assert got["echoes"] == ["frag-a frag-b frag-c"], got
        assert got["close"]["code"] == 1000, got
