"""The public site in a real browser (Chromium through Playwright) on the seed data:
filters and their URLs, opening a project, switching language, the matrix and the
timeline, phones, keyboards, no JavaScript, axe-core, the CSP, and screenshots."""

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from axe_playwright_python.sync_playwright import Axe

from projects.filtersets import ProjectFilterSet
from projects.models import Project
from projects.selectors import report_timeline
from tests.browser.conftest import DESKTOP, PHONE, _new_page

# Once per CI run: pages in a browser: what they render does not depend on the engine.
pytestmark = [pytest.mark.browser, pytest.mark.engines("once")]

MAIN_PAGES = {
    "home": "/",
    "projects": "/projects/",
    "projects-filtered": "/projects/?field=ha-dr&asean=true&ordering=-start_year",
    "project": "/projects/vietnam-underwater-medicine/",
    "partners": "/partners/",
    "partner": "/partners/vietnam/",
    "field": "/fields/ha-dr/",
    "program": "/programs/vientiane-vision/",
    "matrix": "/matrix/",
    "timeline": "/timeline/",
    "ja-home": "/ja/",
    "ja-projects": "/ja/projects/",
    "ja-project": "/ja/projects/vietnam-underwater-medicine/",
    "ja-partners": "/ja/partners/",
    "ja-matrix": "/ja/matrix/",
    "ja-timeline": "/ja/timeline/",
    "filter-error": "/projects/?year=abc&status=unknown",
    "not-found": "/projects/no-such-project/",
}


def _query(page):
    return parse_qs(urlsplit(page.url).query)


def _result_count(page):
    return int(re.match(r"\d+", page.locator(".result-count").inner_text()).group())


def _expected_count(params):
    filterset = ProjectFilterSet(params, queryset=Project.objects.public())
    assert filterset.is_valid(), filterset.errors
    return filterset.qs.count()


def test_the_seed_has_the_pages_these_tests_visit(seeded):
    assert Project.objects.public().filter(slug="vietnam-underwater-medicine").exists()


def test_applying_filters_changes_the_results_and_the_url(page):
    page.goto("/projects/")
    total = _result_count(page)
    assert total == Project.objects.public().count()

    page.locator("#filter-field summary").click()
    page.get_by_label("HA/DR", exact=True).check()
    page.locator("#filter-status summary").click()
    page.get_by_label("Completed", exact=True).check()
    page.get_by_role("button", name="Apply filters").click()
    page.wait_for_load_state()

    assert _query(page) == {"field": ["ha-dr"], "status": ["completed"]}
    expected = _expected_count({"field": ["ha-dr"], "status": ["completed"]})
    assert 0 < expected < total
    assert _result_count(page) == expected
    assert page.locator(".results > li").count() == expected
    for card in page.locator(".results > li").all():
        assert "HA/DR" in card.inner_text()
        assert "Completed" in card.inner_text()
    assert page.get_by_label("HA/DR", exact=True).is_checked(), "the form shows the state of the URL"

    # The URL alone reproduces the page: share it, open it elsewhere.
    shared = page.url
    page.goto("/")
    page.goto(shared)
    assert _result_count(page) == expected


def test_search_and_year_from_the_form(page):
    page.goto("/projects/")
    page.get_by_label("Search", exact=True).fill("medicine")
    page.get_by_label("Active in year").fill("2014")
    page.get_by_label("Active in year").press("Enter")
    page.wait_for_load_state()
    assert _query(page)["q"] == ["medicine"] and _query(page)["year"] == ["2014"]
    assert _result_count(page) == _expected_count({"q": "medicine", "year": "2014"}) > 0


def test_choosing_a_sort_order_with_the_mouse_applies_it(page):
    page.goto("/projects/")
    page.get_by_label("Sort by").select_option("title")
    page.wait_for_url(re.compile(r"ordering=title"))
    titles = page.locator(".results h3").all_inner_texts()
    assert titles == sorted(titles, key=str.lower) or titles == sorted(titles)


def test_a_bad_filter_value_is_shown_in_the_form(page):
    response = page.goto("/projects/?year=abc")
    assert response.status == 400
    assert page.get_by_role("alert").is_visible()
    assert "four digits" in page.locator("#error-year").inner_text()
    assert page.get_by_label("Active in year").input_value() == "abc"


def test_open_a_project_from_the_list(page):
    page.goto("/projects/?q=underwater")
    link = page.locator(".results h3 a").first
    title = link.inner_text()
    link.click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == title
    assert urlsplit(page.url).path.startswith("/projects/")
    assert page.locator("#sources + .citations blockquote").count() >= 1


def test_pagination_moves_through_the_results(page):
    page.goto("/projects/?page_size=10&ordering=title")
    first = page.locator(".results h3").all_inner_texts()
    page.get_by_role("link", name="Next").click()
    page.wait_for_load_state()
    assert _query(page) == {"page_size": ["10"], "ordering": ["title"], "page": ["2"]}
    second = page.locator(".results h3").all_inner_texts()
    assert len(first) == 10 and second and not set(first) & set(second)


def test_switch_to_japanese_and_back(page):
    page.goto("/projects/?field=ha-dr")
    page.get_by_role("link", name="日本語").click()
    page.wait_for_load_state()
    assert urlsplit(page.url).path == "/ja/projects/"
    assert _query(page) == {"field": ["ha-dr"]}, "the selection survives the switch"
    assert page.locator("html").get_attribute("lang") == "ja"
    assert page.locator("h1").inner_text() == "プロジェクト"
    assert page.get_by_role("button", name="絞り込む").is_visible()
    assert "人道支援・災害救援" in page.locator(".results").inner_text()
    page.get_by_role("link", name="English").click()
    page.wait_for_load_state()
    assert urlsplit(page.url).path == "/projects/"
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("h1").inner_text() == "Projects"


def test_the_matrix_renders_and_filters(page):
    page.goto("/matrix/")
    table = page.locator("table.matrix")
    assert table.is_visible()
    assert table.locator("tbody tr").count() >= 10
    assert table.locator("thead th").count() >= 10
    page.get_by_label("Vientiane Vision").check()
    page.get_by_label("Active in year").fill("2019")
    page.get_by_role("button", name="Apply filters").click()
    page.wait_for_load_state()
    assert _query(page) == {"program": ["vientiane-vision"], "year": ["2019"]}
    links = page.locator("table.matrix td a")
    assert links.count() >= 1
    href = links.first.get_attribute("href")
    links.first.click()
    page.wait_for_load_state()
    assert urlsplit(page.url).path == href
    assert page.locator("h1").is_visible()


def test_the_timeline_renders_the_chart_and_the_same_numbers_in_its_table(page):
    page.goto("/timeline/")
    svg = page.get_by_role("img", name="Projects per year by field")
    assert svg.is_visible()
    box = svg.bounding_box()
    assert box["width"] > 300 and box["height"] > 200
    timeline = report_timeline(projects=Project.objects.public())
    bars = page.locator("svg rect.bar")
    assert bars.count() == len(timeline["years"])
    totals = [int(t) for t in page.locator("#timeline-table tfoot td").all_inner_texts()]
    assert totals == [row["total"] for row in timeline["rows"]]
    labels = page.locator("figure.chart svg.chart-labels").text_content().replace(" ", "")
    assert all(f["name"].replace(" ", "") in labels for f in timeline["fields"]), "whole field names, never cut"
    # Every label (wrapped, not cut) lies inside its column and inside its row.
    outside = page.evaluate(
        """() => [...document.querySelectorAll("svg.chart-labels text.field-label")].filter((t) => {
            const box = t.getBBox(), svg = t.ownerSVGElement;
            return box.x < 2 || box.x + box.width > svg.width.baseVal.value || box.y < 0;
        }).map((t) => t.textContent)"""
    )
    assert outside == [], f"labels cut off: {outside}"
    # Progressive enhancement: the wide chart opens at its latest years.
    assert page.locator("figure.chart .table-scroll").evaluate("el => el.scrollLeft") > 0


@pytest.mark.parametrize(
    "name", ["home", "projects", "project", "partners", "partner", "matrix", "timeline", "ja-projects"]
)
def test_a_phone_shows_no_horizontal_scroll(phone_page, name):
    phone_page.goto(MAIN_PAGES[name])
    width = phone_page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{name} is {width}px wide on a {PHONE['width']}px phone"
    assert phone_page.evaluate("window.scrollX") == 0


def test_the_skip_link_is_the_first_stop_and_moves_to_the_content(page):
    page.goto("/projects/")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.className")
    assert focused == "skip-link"
    assert page.locator(".skip-link").is_visible(), "the skip link shows when focused"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"


def test_filters_work_with_the_keyboard_alone(page):
    page.goto("/projects/")
    page.locator("#filter-status summary").focus()
    page.keyboard.press("Enter")  # opens the group
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.name") == "status"
    page.keyboard.press("Space")
    page.get_by_role("button", name="Apply filters").focus()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"status="))
    assert _result_count(page) == _expected_count({"status": _query(page)["status"]})


def test_changing_the_sort_order_by_keyboard_does_not_reload_the_page(page):
    page.goto("/projects/")
    page.get_by_label("Sort by").focus()
    page.keyboard.press("ArrowDown")
    page.wait_for_timeout(300)
    assert "ordering" not in _query(page), "a keyboard user presses Apply when ready"


def test_the_site_works_without_javascript(no_js_page):
    page = no_js_page
    page.goto("/projects/")
    page.locator("#filter-status summary").click()
    page.get_by_label("Ongoing", exact=True).check()
    page.get_by_label("Sort by").select_option("title")
    page.get_by_role("button", name="Apply filters").click()
    page.wait_for_load_state()
    # Without JavaScript the form sends its empty fields and the page size too: same meaning.
    assert _query(page) == {"status": ["ongoing"], "ordering": ["title"], "page_size": ["25"]}
    assert _result_count(page) == _expected_count({"status": ["ongoing"]})
    page.goto("/timeline/")
    assert page.locator("figure.chart svg rect.bar").count() > 0
    page.goto("/matrix/")
    assert page.locator("table.matrix tbody tr").count() > 0


def _serious(results):
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_axe_finds_no_serious_or_critical_violation_on_any_page(browser, live_server, seeded, viewport):
    context = browser.new_context(viewport=viewport, base_url=live_server.url)
    page = context.new_page()
    axe = Axe()
    problems = {}
    try:
        for name, path in MAIN_PAGES.items():
            page.goto(path)
            found = _serious(axe.run(page))
            if found:
                problems[name] = found
    finally:
        context.close()
    assert problems == {}


def test_no_page_breaks_the_content_security_policy(page):
    """Public pages, the API docs and the admin login run no inline script or style; the
    browser would report each blocked one on the console."""
    for path in [*MAIN_PAGES.values(), "/api/v1/docs/", "/admin/login/"]:
        page.console.clear()
        page.goto(path)
        page.wait_for_load_state("networkidle")
        assert page.console.csp_violations() == [], path
        assert not [m for m in page.console.messages if m.startswith("pageerror")], path


def test_the_api_docs_and_the_browsable_api_work_under_the_csp(page):
    page.goto("/api/v1/docs/")
    page.wait_for_selector("#swagger-ui .opblock", timeout=15000)
    assert page.locator("#swagger-ui .opblock").count() > 5
    assert not [m for m in page.console.csp_violations() if "directive 'script-src" in m]
    page.goto("/api/v1/projects/")
    assert page.locator("h1").inner_text() == "Project List"
    assert '"count"' in page.locator(".response-info").inner_text()
    # DRF's page has two style="float: right" attributes the CSP blocks; no script is blocked.
    assert not [m for m in page.console.csp_violations() if "directive 'script-src" in m]


def test_the_admin_works_under_the_csp(page, django_user_model):
    django_user_model.objects.create_superuser("ada", "ada@example.org", "correct-horse-battery-staple")
    page.goto("/admin/login/")
    page.get_by_label("Username").fill("ada")
    page.get_by_label("Password").fill("correct-horse-battery-staple")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()
    page.console.clear()
    page.goto("/admin/projects/project/")
    assert page.locator("#result_list tbody tr").count() > 0
    project = Project.objects.order_by("pk").first()
    page.goto(f"/admin/projects/project/{project.pk}/change/")
    assert page.locator("#id_title").input_value() == project.title
    page.goto("/admin/projects/project/add/")
    assert page.locator("#id_title").is_visible()
    assert page.console.csp_violations() == []
    assert not [m for m in page.console.messages if m.startswith("pageerror")]


def test_screenshots_of_the_main_pages_at_desktop_and_phone_width(browser, live_server, seeded, screenshots):
    for label, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        context = browser.new_context(viewport=viewport, base_url=live_server.url)
        page = context.new_page()
        for name, path in MAIN_PAGES.items():
            page.goto(path)
            path_out = screenshots / f"{name}-{label}-{viewport['width']}.png"
            page.screenshot(path=str(path_out), full_page=True)
            assert path_out.stat().st_size > 5000
        context.close()


def _sign_in(page, username, password):
    page.goto("/admin/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()


def test_a_review_round_in_the_admin_with_its_diff_and_the_preview_banner(browser, live_server, seeded):
    """An editor withdraws a seed project, retitles it and submits it; a reviewer sees
    the change against the published version in the queue, previews the record on the
    site under its banner (both languages), and approves it: it is public again."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from core import review

    password = "correct-horse-battery-staple"
    editor = get_user_model().objects.create_user("edna", password=password, is_staff=True)
    editor.groups.add(Group.objects.get(name="Editors"))
    reviewer = type(editor).objects.create_user("rhea", password=password, is_staff=True)
    reviewer.groups.add(Group.objects.get(name="Reviewers"))
    project = Project.objects.filter(publication_state="published").order_by("pk").first()
    old_title = project.title
    review.take_step(review.WITHDRAW, project, editor, "Retitling")
    stored = Project.objects.get(pk=project.pk)
    stored.title, stored._history_user = f"{old_title} (revised)", editor
    stored.save()
    review.take_step(review.SUBMIT, stored, editor)

    _context, anonymous = _new_page(browser, DESKTOP, base_url=live_server.url)
    assert anonymous.goto(f"/projects/{project.slug}/").status == 404

    _context, page = _new_page(browser, DESKTOP, base_url=live_server.url)
    _sign_in(page, "rhea", password)
    page.goto("/admin/projects/project/")
    page.get_by_role("link", name=re.compile(r"Review queue \(1 waiting\)")).click()
    item = page.locator(f"#review-{project.pk}")
    assert item.locator("del").first.inner_text() == old_title
    assert item.locator("ins").first.inner_text() == f"{old_title} (revised)"
    for path, banner in ((f"/projects/{project.slug}/", "In review"), (f"/ja/projects/{project.slug}/", "レビュー中")):
        signed_in = page.context.storage_state()
        _context, preview = _new_page(browser, DESKTOP, base_url=live_server.url, storage_state=signed_in)
        preview.goto(path)
        assert banner in preview.locator("body").inner_text()
    item.get_by_role("button", name="Approve and publish").click()
    page.wait_for_load_state()
    assert "Nothing is waiting for review" in page.locator("#content-main").inner_text()
    anonymous.goto(f"/projects/{project.slug}/")
    assert f"{old_title} (revised)" in anonymous.locator("h1").inner_text()
    assert page.console.csp_violations() == []
