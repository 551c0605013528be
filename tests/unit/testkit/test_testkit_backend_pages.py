"""backend.py --pages: the demo's browser pages under /demo/, and nothing else of the host."""

import httpx
import pytest

PAGES = ("index.html", "other.html", "demo.js", "demo.css")


@pytest.fixture(name="pages_backend")
def pages_backend_fixture(tmp_path, start_backend):
    (tmp_path / "pages").mkdir()
    for name in PAGES:
        (tmp_path / "pages" / name).write_text("<!-- %s -->\n" % name)
    (tmp_path / "secret.txt").write_text("not a page\n")
    return start_backend("pages", extra_args=("--pages", str(tmp_path / "pages")))


def _get(url):
    return httpx.get(url, trust_env=False, timeout=5, follow_redirects=False)


def test_pages_are_served_uncached_with_their_types(pages_backend):
    for name in PAGES:
        answer = _get(pages_backend.base + "/demo/" + name)
        assert answer.status_code == 200 and answer.text == "<!-- %s -->\n" % name
        assert answer.headers["cache-control"] == "no-store"
    assert _get(pages_backend.base + "/demo/demo.js").headers["content-type"].split(";")[0] in (
        "application/javascript", "text/javascript")
    assert _get(pages_backend.base + "/demo/demo.css").headers["content-type"].startswith("text/css")
    assert _get(pages_backend.base + "/demo/").text == "<!-- index.html -->\n"
    redirect = _get(pages_backend.base + "/demo")
    assert redirect.status_code == 302 and redirect.headers["location"] == "/demo/"


def test_nothing_outside_the_pages_folder(pages_backend):
    for path in ("/demo/missing.html", "/demo/..%2Fsecret.txt", "/demo/%2E%2E/secret.txt",
                 "/demo/sub/index.html", "/demo/.hidden"):
        answer = _get(pages_backend.base + path)
        assert answer.status_code == 404, (path, answer.status_code, answer.text)


def test_without_pages_demo_paths_reach_the_mirror(backend):
    answer = _get(backend.base + "/demo/index.html")
    assert answer.status_code == 200 and answer.json()["path"] == "/demo/index.html"
