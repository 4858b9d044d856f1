"""The web layer around textual-serve: the token cookie, URLs from the Host, cross-site refusal."""

from __future__ import annotations

import aiohttp
import pytest

from treadcoach.serve.web import COOKIE, ViewServer

pytestmark = pytest.mark.timeout(30)


async def _server() -> ViewServer:
    server = ViewServer("false", host="127.0.0.1", port=0)  # no view is started by these tests
    await server.start()
    return server


async def test_the_token_in_the_url_becomes_a_strict_http_only_cookie_and_leaves_the_url() -> None:
    server = await _server()
    try:
        async with aiohttp.ClientSession() as http:
            url = f"http://127.0.0.1:{server.bound_port}/?token=s3cret&fontsize=20"
            async with http.get(url, allow_redirects=False) as response:
                assert response.status == 302
                assert response.headers["Location"] == "/?fontsize=20"
                cookie = response.cookies[COOKIE]
                assert cookie.value == "s3cret"
                assert cookie["httponly"]
                assert cookie["samesite"] == "Strict"
    finally:
        await server.stop()


async def test_the_page_points_its_websocket_at_the_host_the_browser_used() -> None:
    server = await _server()
    try:
        async with aiohttp.ClientSession() as http:
            url = f"http://127.0.0.1:{server.bound_port}/"
            headers = {"Host": "192.168.1.5:8080"}  # a tablet on the LAN, the server on 0.0.0.0
            async with http.get(url, headers=headers) as response:
                html = await response.text()
        assert 'data-session-websocket-url="ws://192.168.1.5:8080/ws"' in html
        assert 'data-font-size="16"' in html
    finally:
        await server.stop()


async def test_a_websocket_from_another_site_is_refused() -> None:
    server = await _server()
    try:
        async with aiohttp.ClientSession() as http:
            url = f"http://127.0.0.1:{server.bound_port}/ws"
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await http.ws_connect(url, headers={"Origin": "http://evil.example"})
        assert refused.value.status == 403
        assert server.views == 0
    finally:
        await server.stop()
