"""The documentation site (make docs, tools/build-docs.sh) as a browser shows it.

Opens build/docs in headless Chromium (Debian's, /usr/bin/chromium, through
Playwright; nothing is downloaded) from file:// URLs, so no server or port is
needed, and checks what a reader looks for:

* the role's page lists every variable of meta/argument_specs.yml's main entry
  point, each with its own anchor, and their suboptions;
* every module and filter has a page, linked from the collection's index;
* the guides are there, rendered from Markdown (troubleshooting's entries,
  the examples with their files, the performance report with its plots
  loaded);
* the site's search finds a variable.

Run ``make docs`` first (``make docs-test`` does both).
"""

from __future__ import annotations

import pathlib
import re

import pytest
import yaml

from realtime_testkit.browser import launch_args

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
SITE = REPO_ROOT / "build" / "docs"
sync_api = pytest.importorskip("playwright.sync_api", reason="the site test drives Chromium with Playwright")

# `make docs-test` builds the site and installs Chromium first: a missing site
# or browser is a failure here, never a skip.
if not (SITE / "index.html").is_file():
    raise RuntimeError("no site in %s: run `make docs`" % SITE)


def role_options():
    specs = yaml.safe_load((REPO_ROOT / "roles" / "realtime_proxy" / "meta" / "argument_specs.yml").read_text())
    return specs["argument_specs"]["main"]["options"]


@pytest.fixture(scope="module")
def chromium():
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(**launch_args({"timeout": 60000}))
        yield launched
        launched.close()


@pytest.fixture()
def site_page(chromium):
    context = chromium.new_context()
    # file:// only: a request anywhere else (a tracker, a font) would mean the site needs the network.
    outside = []
    context.route(re.compile(r"^(?!file:).*"), lambda route: (outside.append(route.request.url), route.abort()))
    tab = context.new_page()
    tab.set_default_timeout(20000)
    tab.outside_requests = outside
    yield tab
    context.close()


def visit(page, relative, query=""):
    page.goto((SITE / relative).as_uri() + query)
    return page


def test_role_page_lists_every_variable(site_page):
    visit(site_page, "collection/realtime_proxy_role.html")
    assert "realtime_proxy" in site_page.title()
    text = site_page.inner_text("body")
    options = role_options()
    missing = [name for name in options if name not in text]
    assert missing == [], "variables missing from the role's page: %s" % missing
    # Each top-level variable has its own anchor, so it can be linked to.
    anchors = site_page.eval_on_selector_all("[id]", "nodes => nodes.map(n => n.id)")
    for name in options:
        assert any(anchor.endswith(name) for anchor in anchors), name
    # Suboptions are documented too, at every depth.
    for name in ("locations", "allowed_origins", "hash_key", "heartbeat_interval"):
        assert name in text
    assert site_page.outside_requests == []


def test_collection_index_links_every_plugin(site_page):
    visit(site_page, "collection/index.html")
    links = site_page.eval_on_selector_all("a[href]", "nodes => nodes.map(n => n.getAttribute('href'))")
    expected = ["realtime_proxy_role.html"]
    expected += ["%s_module.html" % path.stem for path in (REPO_ROOT / "plugins" / "modules").glob("*.py")]
    expected += ["%s_filter.html" % path.stem for path in (REPO_ROOT / "plugins" / "filter").glob("*.yml")]
    missing = [name for name in expected if not any(link.split("#")[0].endswith(name) for link in links)]
    assert missing == []
    for name in expected:
        assert (SITE / "collection" / name).is_file(), name
    assert "Guides" in site_page.inner_text("body")  # the extra docs of docs/docsite/


def test_guides_are_rendered(site_page):
    visit(site_page, "index.html")
    nav = site_page.inner_text("nav")
    for title in ("Troubleshooting", "Examples", "Security", "Proving and auditing any nginx", "Contributing"):
        assert title in nav, title
    visit(site_page, "docs/troubleshooting.html")
    headings = site_page.eval_on_selector_all("h3", "nodes => nodes.map(n => n.textContent)")
    assert any("Events arrive in bursts" in heading for heading in headings), headings
    assert site_page.locator("pre").count() > 5  # the commands that show each symptom
    visit(site_page, "docs/examples/files.html")
    captions = site_page.inner_text("body")
    for example in sorted(p.name for p in (REPO_ROOT / "docs" / "examples").iterdir()
                          if p.is_dir() and p.name != "group_vars"):
        assert "%s/hosts.yml" % example in captions, example


def test_performance_report_shows_its_plots(site_page):
    visit(site_page, "docs/performance.html")
    plots = "nodes => nodes.filter(n => n.src.endsWith('.png')).map(n => [n.getAttribute('src'), n.naturalWidth])"
    sizes = site_page.eval_on_selector_all("img", plots)
    assert sizes, "no plots on the performance page"
    assert [src for src, width in sizes if not width] == []


def test_search_finds_a_variable(site_page):
    visit(site_page, "search.html", "?q=realtime_proxy_trusted_proxies")
    site_page.wait_for_selector("ul.search li a")
    results = site_page.eval_on_selector_all("ul.search li a", "nodes => nodes.map(n => n.getAttribute('href'))")
    assert any("realtime_proxy_role" in result for result in results), results
