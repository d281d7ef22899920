"""The public site through Django's test client: what each page shows, its filters, drafts
kept out, escaping, constant query counts, security headers and the Japanese pages.
(The same pages in a real browser: tests/browser/.)"""

import re
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.cache import cache
from django.db import connection
from django.template.loader import render_to_string
from django.test.client import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.views.defaults import server_error

from core.cache.responses import lookup
from partners.models import Partner
from projects.models import Field, Program, Project
from projects.selectors import DATA_AS_OF_KEY, report_timeline
from tests.public.conftest import make_project

# Once per CI run: page rendering; the filters and reports behind the pages are tested on both engines.
pytestmark = pytest.mark.engines("once")

PUBLIC_PAGES = [
    "/",
    "/projects/",
    "/projects/vn-medicine/",
    "/partners/",
    "/partners/vietnam/",
    "/fields/ha-dr/",
    "/programs/cba/",
    "/matrix/",
    "/timeline/",
]


def _text(response):
    return response.content.decode()


def _titles(response):
    """The project titles of the result cards, in order."""
    return [unescape(t) for t in re.findall(r'<h3 id="project-\d+"><a href="[^"]+">([^<]+)</a></h3>', _text(response))]


@pytest.mark.parametrize("prefix", ["", "/ja"])
@pytest.mark.parametrize("path", PUBLIC_PAGES)
def test_every_public_page_renders_for_an_anonymous_visitor(anonymous_client, site, prefix, path):
    response = anonymous_client.get(prefix + path)
    assert response.status_code == 200
    assert "<main" in _text(response) and "<h1" in _text(response)


@pytest.mark.engines("both")  # the list's filters and search, through the page
class TestProjectList:
    def test_it_lists_published_projects_with_a_count(self, anonymous_client, site):
        response = anonymous_client.get("/projects/")
        assert sorted(_titles(response)) == sorted(
            ["Vietnam: underwater medicine", "Joint HA/DR seminar", "Balikatan", "Military band training"]
        )
        assert "4 projects" in _text(response)

    @pytest.mark.parametrize(
        ("query", "expected"),
        [
            ("partner=philippines", {"Joint HA/DR seminar", "Balikatan"}),
            (
                "partner=vietnam&partner=png",
                {"Vietnam: underwater medicine", "Joint HA/DR seminar", "Military band training"},
            ),
            ("country=PG", {"Military band training"}),
            ("region=oceania", {"Military band training"}),
            ("asean=false", {"Military band training"}),
            ("asean=true", {"Vietnam: underwater medicine", "Joint HA/DR seminar", "Balikatan"}),
            ("field=ha-dr", {"Joint HA/DR seminar", "Balikatan"}),
            ("program=vientiane-vision", {"Balikatan"}),
            ("status=ongoing", {"Balikatan"}),
            ("year=2014", {"Vietnam: underwater medicine"}),
            ("year=2020", {"Balikatan"}),
            ("year=2021", set()),
            ("q=medicine", {"Vietnam: underwater medicine"}),
            ("field=ha-dr&status=completed", {"Joint HA/DR seminar"}),
        ],
    )
    def test_filters_narrow_the_list(self, anonymous_client, site, query, expected):
        response = anonymous_client.get(f"/projects/?{query}")
        assert response.status_code == 200
        assert set(_titles(response)) == expected

    def test_a_chosen_filter_stays_ticked_so_the_page_shows_its_state(self, anonymous_client, site):
        html = _text(anonymous_client.get("/projects/?field=ha-dr&year=2016&q=seminar"))
        assert re.search(r'name="field" value="ha-dr"[^>]*checked', html)
        assert not re.search(r'name="field" value="underwater-medicine"[^>]*checked', html)
        assert 'name="year" id="id_year" value="2016"' in html
        assert 'name="q" id="id_q" value="seminar"' in html

    def test_sorting_by_title(self, anonymous_client, site):
        titles = _titles(anonymous_client.get("/projects/?ordering=title"))
        assert titles == sorted(titles)
        assert _titles(anonymous_client.get("/projects/?ordering=-title")) == sorted(titles, reverse=True)

    def test_default_order_is_by_start_year(self, anonymous_client, site):
        assert _titles(anonymous_client.get("/projects/")) == [
            "Vietnam: underwater medicine",
            "Joint HA/DR seminar",
            "Balikatan",
            "Military band training",
        ]

    def test_pagination_keeps_the_filters_in_its_links(self, anonymous_client, site):
        response = anonymous_client.get("/projects/?asean=true&page_size=10&ordering=title")
        assert response.status_code == 200
        for i in range(12):
            make_project(f"extra-{i}", f"Extra project {i:02d}", site["cba"], [site["vn"]], [], 2019, 2019)
        response = anonymous_client.get("/projects/?asean=true&page_size=10&ordering=title")
        assert len(_titles(response)) == 10
        links = re.findall(r'href="(\?[^"]*page=2[^"]*)"', _text(response))
        assert links
        params = parse_qs(urlsplit(unescape(links[0])).query)
        assert params == {"asean": ["true"], "page_size": ["10"], "ordering": ["title"], "page": ["2"]}
        second = anonymous_client.get("/projects/" + unescape(links[0]))
        assert len(_titles(second)) == 5
        assert not set(_titles(second)) & set(_titles(response))

    def test_it_links_to_the_same_selection_in_the_api_as_csv_and_json(self, anonymous_client, site):
        html = _text(anonymous_client.get("/projects/?field=ha-dr&status=ongoing&page=1&page_size=10"))
        links = {unescape(m) for m in re.findall(r'href="(/api/v1/projects/\?[^"]+)"', html)}
        by_format = {parse_qs(urlsplit(link).query)["format"][0]: parse_qs(urlsplit(link).query) for link in links}
        assert set(by_format) == {"csv", "json"}
        for fmt, params in by_format.items():
            assert params == {"field": ["ha-dr"], "status": ["ongoing"], "format": [fmt]}

    def test_the_api_link_returns_the_same_projects(self, anonymous_client, site):
        html = _text(anonymous_client.get("/projects/?field=ha-dr"))
        json_link = unescape(re.search(r'href="(/api/v1/projects/\?[^"]*format=json[^"]*)"', html).group(1))
        data = anonymous_client.get(json_link).json()
        assert {p["title"] for p in data["results"]} == {"Joint HA/DR seminar", "Balikatan"}


BAD_QUERIES = [
    ("year=abc", "year"),
    ("year=20155", "year"),
    ("year=1066", "year"),
    ("year=2015.0", "year"),
    ("partner=no-such-partner", "partner"),
    ("partner=hidden-partner", "partner"),
    ("field=%3Cscript%3E", "field"),
    ("program=nope", "program"),
    ("status=zzz", "status"),
    ("region=mars", "region"),
    ("country=ZZ", "country"),
    ("asean=maybe", "asean"),
    ("ordering=password", "ordering"),
    ("page_size=7", "page_size"),
    ("page_size=abc", "page_size"),
    ("q=" + "x" * 201, "q"),
    ("q=a%00b", "q"),
    ("partner=viet%00nam", "partner"),
    ("field=%00", "field"),
    ("program=cba%00", "program"),
    ("country=V%00", "country"),
    ("status=%00", "status"),
    ("ordering=title%00", "ordering"),
]


class TestBadQueryStrings:
    @pytest.mark.parametrize(("query", "name"), BAD_QUERIES)
    def test_a_bad_value_is_a_400_page_with_the_error_beside_its_control(self, anonymous_client, site, query, name):
        response = anonymous_client.get(f"/projects/?{query}")
        assert response.status_code == 400
        html = _text(response)
        assert 'role="alert"' in html
        assert f'href="#filter-{name}"' in html, "the summary links to the control"
        assert f'id="filter-{name}"' in html
        assert _titles(response) == [], "no results are shown while a filter is wrong"

    @pytest.mark.parametrize("path", ["/matrix/", "/timeline/", "/partners/"])
    @pytest.mark.parametrize("query", ["year=abc", "program=nope", "region=mars", "asean=maybe&kind=zzz"])
    def test_other_filtered_pages_answer_bad_values_with_a_400_page(self, anonymous_client, site, path, query):
        response = anonymous_client.get(f"{path}?{query}")
        assert response.status_code in (200, 400)
        if response.status_code == 400:
            assert 'role="alert"' in _text(response)
        assert "Secret draft plan" not in _text(response)

    @pytest.mark.parametrize("page", ["abc", "-1", "0", "99999", "1" + "0" * 40, "9" * 5000, "1.5", ""])
    def test_an_absurd_page_number_shows_a_real_page(self, anonymous_client, site, page):
        response = anonymous_client.get("/projects/", {"page": page})
        assert response.status_code == 200
        assert len(_titles(response)) == 4

    def test_unknown_parameters_are_ignored(self, anonymous_client, site):
        response = anonymous_client.get("/projects/?utm_source=newsletter&foo=%FF")
        assert response.status_code == 200
        assert len(_titles(response)) == 4

    def test_filters_given_only_in_the_url_are_kept_when_the_form_is_resubmitted(self, anonymous_client, site):
        html = _text(anonymous_client.get("/projects/?start_year_min=2016&cooperating_country=GB"))
        assert '<input type="hidden" name="start_year_min" value="2016">' in html
        assert '<input type="hidden" name="cooperating_country" value="GB">' in html


class TestDrafts:
    def test_a_draft_projects_url_is_a_404(self, anonymous_client, site):
        assert anonymous_client.get("/projects/secret-draft/").status_code == 404
        assert anonymous_client.get("/ja/projects/secret-draft/").status_code == 404

    @pytest.mark.parametrize("path", ["/projects/secret-draft/", "/ja/projects/secret-draft/"])
    def test_staff_preview_a_draft_on_the_public_site_with_a_banner(self, viewer_client, site, path):
        """The admin's "View on site" for a draft: the page as it will be, saying it is a
        draft, in either language, and never kept by a cache."""
        response = viewer_client.get(path)
        assert response.status_code == 200
        text = response.content.decode()
        japanese = path.startswith("/ja/")
        banner = "下書き：一般には公開されていません。" if japanese else "Draft: not visible to the public."
        assert banner in text
        assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]

    def test_a_published_page_has_no_banner_for_staff(self, viewer_client, site):
        response = viewer_client.get("/projects/hadr-seminar/")
        assert "Preview for staff" not in response.content.decode()

    def test_a_draft_partners_url_is_a_404(self, anonymous_client, site):
        assert anonymous_client.get("/partners/hidden-partner/").status_code == 404

    @pytest.mark.parametrize(
        "path",
        [
            *PUBLIC_PAGES,
            "/projects/hadr-seminar/",
            "/fields/underwater-medicine/",
            "/projects/?year=2021",
            "/projects/?q=secret",
            "/matrix/?year=2022",
            "/timeline/?program=cba",
            "/sitemap.xml",
            "/ja/matrix/",
        ],
    )
    def test_no_public_page_shows_a_draft(self, anonymous_client, viewer_client, site, path):
        for client in (anonymous_client, viewer_client):
            html = _text(client.get(path))
            assert "Secret draft" not in html
            assert "secret-draft" not in html
            assert "Hidden Partner Force" not in html
            assert "hidden-partner" not in html

    def test_the_timeline_counts_no_draft(self, anonymous_client, site):
        html = _text(anonymous_client.get("/timeline/"))
        years = re.findall(r'<th scope="col" class="num">(\d+)</th>', html)
        assert years[-1] == "2020"  # the open-ended Balikatan runs to its latest report
        assert years[0] == "2012"

    def test_field_and_program_pages_list_only_published_projects(self, anonymous_client, site):
        assert set(_titles(anonymous_client.get("/fields/ha-dr/"))) == {"Joint HA/DR seminar", "Balikatan"}
        assert set(_titles(anonymous_client.get("/programs/cba/"))) == {
            "Vietnam: underwater medicine",
            "Joint HA/DR seminar",
            "Military band training",
        }

    def test_the_home_page_counts_published_records_only(self, anonymous_client, site):
        html = _text(anonymous_client.get("/"))
        figures = re.findall(r"<li><strong>([^<]+)</strong>", html)
        # 4 published projects, 3 published partners in them, 2 fields, 2012 to this year.
        assert figures[:3] == ["4", "3", "2"]


class TestEscaping:
    TITLE = '<script>alert("x")</script> & <b>bold</b>'

    @pytest.fixture
    def hostile(self, site):
        return make_project(
            "hostile",
            self.TITLE,
            site["cba"],
            [site["vn"]],
            [site["hadr"]],
            2016,
            2016,
            description='<img src=x onerror="alert(1)">',
        )

    @pytest.mark.parametrize(
        "path", ["/projects/", "/projects/hostile/", "/matrix/", "/partners/vietnam/", "/fields/ha-dr/"]
    )
    def test_user_entered_text_renders_as_text(self, anonymous_client, hostile, path):
        html = _text(anonymous_client.get(path))
        assert "<script>alert" not in html
        assert "<b>bold</b>" not in html
        assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
        assert "<img src=x" not in html

    def test_the_detail_page_shows_the_title_exactly_as_entered(self, anonymous_client, hostile):
        html = _text(anonymous_client.get("/projects/hostile/"))
        h1 = re.search(r'<h1 id="project-title">(.*?)</h1>', html).group(1)
        assert unescape(h1) == self.TITLE


def _add_projects(site, n, start=0):
    for i in range(start, start + n):
        project = make_project(
            f"bulk-{i}",
            f"Bulk project {i}",
            site["cba"],
            [site["vn"], site["ph"]],
            [site["hadr"], site["medicine"]],
            2013,
            2016,
        )
        project.partners.add(site["png"])


def _count_queries(client, url):
    # The footer's "data as of" is kept once per data version, which a test's transaction
    # never moves: forgotten before each page, so each counts its queries (the version
    # read first, as any process has once: its first check asks the database).
    lookup(DATA_AS_OF_KEY)
    cache.delete(DATA_AS_OF_KEY)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


class TestQueryCounts:
    @pytest.mark.parametrize(
        "url",
        [
            "/projects/?page_size={size}",
            "/projects/?page_size={size}&field=ha-dr&partner=vietnam&q=project&ordering=-title",
            "/ja/projects/?page_size={size}",
        ],
    )
    def test_the_project_list_runs_a_constant_number_of_queries_at_any_page_size(self, anonymous_client, site, url):
        _add_projects(site, 5)
        small = {size: _count_queries(anonymous_client, url.format(size=size)) for size in (10, 25, 50, 100)}
        _add_projects(site, 100, start=5)
        large = {size: _count_queries(anonymous_client, url.format(size=size)) for size in (10, 25, 50, 100)}
        assert len(set(small.values()) | set(large.values())) == 1, (small, large)

    @pytest.mark.parametrize(
        "url", ["/", "/partners/", "/partners/vietnam/", "/fields/ha-dr/", "/programs/cba/", "/matrix/", "/timeline/"]
    )
    def test_other_list_pages_run_a_constant_number_of_queries(self, anonymous_client, site, url):
        _add_projects(site, 3)
        few = _count_queries(anonymous_client, url)
        _add_projects(site, 60, start=3)
        for i in range(20):
            Partner.objects.create(name=f"Partner {i}", slug=f"partner-{i}", country="TH", region="southeast_asia")
        assert _count_queries(anonymous_client, url) == few

    def test_the_project_page_runs_a_constant_number_of_queries(self, anonymous_client, site):
        few = _count_queries(anonymous_client, "/projects/vn-medicine/")
        project = site["vn_medicine"]
        project.partners.add(site["ph"], site["png"])
        for i in range(10):
            activity = project.activities.create(title=f"Visit {i}", kind="seminar", year=2014)
            activity.citations.create(source=site["source"], section="S", excerpt=f"visit {i}")
        assert _count_queries(anonymous_client, "/projects/vn-medicine/") == few


class TestProjectPage:
    def test_it_shows_the_project_with_its_activities_in_date_order_and_sources(self, anonymous_client, site):
        html = _text(anonymous_client.get("/projects/vn-medicine/"))
        assert "Vietnam: underwater medicine" in html
        assert "2012–2015" in html
        assert "Completed" in html
        assert html.index("First survey") < html.index("Diving medicine seminar in Hanoi")
        assert "5 March 2013" in html
        assert "Japan&#x27;s Security Cooperation with ASEAN" in html
        assert "Vietnam Underwater medicine (2012-5)" in html  # the project's quoted excerpt
        assert "a seminar in Hanoi in March 2013" in html  # the activity's
        assert 'href="/partners/vietnam/"' in html
        assert 'href="/fields/underwater-medicine/"' in html
        assert 'href="/programs/cba/"' in html

    def test_it_names_the_co_operating_countries(self, anonymous_client, site):
        assert "United Kingdom" in _text(anonymous_client.get("/projects/hadr-seminar/"))

    def test_it_does_not_list_a_draft_partner(self, anonymous_client, site):
        html = _text(anonymous_client.get("/projects/hadr-seminar/"))
        assert "Vietnam" in html and "Philippines" in html
        assert "Hidden Partner Force" not in html


class TestPartnerPages:
    def test_partners_are_grouped_by_region(self, anonymous_client, site):
        html = _text(anonymous_client.get("/partners/"))
        southeast = html.index('id="region-southeast_asia"')
        oceania = html.index('id="region-oceania"')
        assert southeast < html.index(">Vietnam</a>") < oceania < html.index(">Papua New Guinea</a>")

    def test_the_partner_list_filters_with_the_partner_filterset(self, anonymous_client, site):
        html = _text(anonymous_client.get("/partners/?region=oceania"))
        assert ">Papua New Guinea</a>" in html and ">Vietnam</a>" not in html

    def test_a_partner_page_shows_its_projects_across_the_years(self, anonymous_client, site):
        html = _text(anonymous_client.get("/partners/vietnam/"))
        years = re.findall(r'<th scope="col" class="num">(\d+)</th>', html)
        assert years == [str(y) for y in range(2012, 2017)]
        assert set(_titles(anonymous_client.get("/partners/vietnam/"))) == {
            "Vietnam: underwater medicine",
            "Joint HA/DR seminar",
        }
        assert "Vietnam, an ASEAN member" in html  # its citation


class TestMatrixAndTimeline:
    def test_the_matrix_puts_project_years_in_partner_and_field_cells(self, anonymous_client, site):
        html = _text(anonymous_client.get("/matrix/"))
        assert '<a href="/projects/vn-medicine/">2012–2015<span class="visually-hidden">' in html
        assert '<a href="/projects/balikatan/">2017–<span class="visually-hidden">' in html

    def test_the_matrix_filters_by_program_and_year(self, anonymous_client, site):
        html = _text(anonymous_client.get("/matrix/?program=vientiane-vision"))
        assert "/projects/balikatan/" in html and "/projects/vn-medicine/" not in html
        html = _text(anonymous_client.get("/matrix/?year=2014"))
        assert "/projects/vn-medicine/" in html and "/projects/balikatan/" not in html

    def test_a_crowded_matrix_cell_links_to_all_its_projects_on_the_list_page(self, anonymous_client, site):
        for i in range(7):
            make_project(f"crowd-{i}", f"Crowd {i}", site["vv"], [site["png"]], [site["medicine"]], 2010 + i, 2010 + i)
        html = _text(anonymous_client.get("/matrix/?program=vientiane-vision"))
        assert html.count('href="/projects/crowd-') == 6
        link = unescape(re.search(r'href="(/projects/\?[^"]*)">all 7 projects</a>', html).group(1))
        assert parse_qs(urlsplit(link).query) == {
            "program": ["vientiane-vision"],
            "partner": ["png"],
            "field": ["underwater-medicine"],
        }
        assert len(_titles(anonymous_client.get(link))) == 7

    def test_the_timeline_table_has_the_selectors_numbers(self, anonymous_client, site):
        timeline = report_timeline(projects=Project.objects.public())
        html = _text(anonymous_client.get("/timeline/"))
        table = html[html.index('id="timeline-table"') :]
        years = [int(y) for y in re.findall(r'<th scope="col" class="num">(\d+)</th>', table)]
        assert years == timeline["years"]
        for field in timeline["fields"]:
            row = re.search(rf'<tr data-field="{field["slug"]}">(.*?)</tr>', table, re.S).group(1)
            counts = [int(n) for n in re.findall(r'<td class="num">(\d+)</td>', row)]
            assert counts == [r["counts"][field["slug"]] for r in timeline["rows"]]
        foot = table[table.index("<tfoot>") :]
        totals = [int(n) for n in re.findall(r'<td class="num">(\d+)</td>', foot)]
        assert totals == [r["total"] for r in timeline["rows"]]

    def test_the_timeline_chart_is_server_rendered_svg_with_the_same_totals(self, anonymous_client, site):
        html = _text(anonymous_client.get("/timeline/"))
        svg = html[html.index('<figure class="chart">') : html.index("</figure>")]
        timeline = report_timeline(projects=Project.objects.public())
        bars = re.findall(r'<rect class="bar"[^>]*><title>(\d+): (\d+)</title>', svg)
        assert [(int(y), int(n)) for y, n in bars] == [(r["year"], r["total"]) for r in timeline["rows"]]
        assert "style=" not in svg

    def test_the_timeline_filters_by_program(self, anonymous_client, site):
        html = _text(anonymous_client.get("/timeline/?program=vientiane-vision"))
        years = re.findall(r'<th scope="col" class="num">(\d+)</th>', html)
        assert years[0] == "2017"


class TestSecurityHeaders:
    @pytest.mark.parametrize(
        "path",
        [
            *PUBLIC_PAGES,
            "/ja/projects/",
            "/projects/?year=abc",
            "/projects/secret-draft/",
            "/no/such/page/",
            "/sitemap.xml",
            "/api/v1/projects/",
            "/api/v1/projects/?format=csv",
            "/api/v1/docs/",
            "/api/v1/schema/",
            "/admin/login/",
            "/healthz",
        ],
    )
    def test_every_response_carries_the_security_headers(self, anonymous_client, site, path):
        response = anonymous_client.get(path)
        csp = response.headers["Content-Security-Policy"]
        directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
        assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp
        if "html" in response.headers["Content-Type"]:
            assert directives["script-src"].startswith("'self' 'nonce-")
            assert directives["style-src"].startswith("'self' 'nonce-")
        else:  # never a document: no nonce, so the same headers on every request (a cached answer's)
            assert directives["script-src"] == directives["style-src"] == "'self'"
        assert directives["frame-ancestors"] == "'none'"
        assert directives["object-src"] == "'none'"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "same-origin"
        assert "camera=()" in response.headers["Permissions-Policy"]
        assert response.headers["X-Frame-Options"] == "DENY"

    def test_the_nonce_is_new_for_every_request(self, anonymous_client, site):
        first = anonymous_client.get("/").headers["Content-Security-Policy"]
        second = anonymous_client.get("/").headers["Content-Security-Policy"]
        assert first != second

    @pytest.mark.parametrize("path", PUBLIC_PAGES)
    def test_public_pages_have_no_inline_script_or_style(self, anonymous_client, site, path):
        html = _text(anonymous_client.get(path))
        assert not re.search(r"<script(?![^>]*\bsrc=)", html), "every script is a file"
        assert "<style" not in html
        assert not re.search(r"\sstyle=", html)
        assert not re.search(r"\son[a-z]+=", html), "no inline event handlers"

    def test_the_api_docs_load_their_script_from_a_file(self, anonymous_client):
        html = _text(anonymous_client.get("/api/v1/docs/"))
        assert not re.search(r"<script(?![^>]*\bsrc=)", html)
        nonce = re.search(r"'nonce-([^']+)'", anonymous_client.get("/api/v1/docs/").headers["Content-Security-Policy"])
        assert nonce
        assert re.search(r'<style nonce="[^"]+">', html)


class TestLanguages:
    def test_english_is_the_default_and_japanese_lives_under_ja(self, anonymous_client, site):
        assert '<html lang="en">' in _text(anonymous_client.get("/projects/"))
        assert '<html lang="ja">' in _text(anonymous_client.get("/ja/projects/"))

    def test_a_browser_asking_for_japanese_still_gets_english_at_the_unprefixed_url(self, anonymous_client, site):
        response = anonymous_client.get("/projects/", HTTP_ACCEPT_LANGUAGE="ja")
        assert response.status_code == 200
        assert '<html lang="en">' in _text(response)

    def test_the_interface_is_japanese_on_japanese_pages(self, anonymous_client, site):
        html = _text(anonymous_client.get("/ja/projects/"))
        for text in (
            "プロジェクト",
            "絞り込む",
            "並べ替え",
            "表示件数",
            "4 件のプロジェクト",
            "完了",
            "実施中",
            "メインコンテンツへ移動",
        ):
            assert text in html, text
        for english in ("Apply filters", "Sort by", "Skip to main content", "Completed"):
            assert english not in html, english

    def test_japanese_pages_show_japanese_names_of_partners_fields_and_programs(self, anonymous_client, site):
        html = _text(anonymous_client.get("/ja/projects/vn-medicine/"))
        assert ">ベトナム</a>" in html
        assert ">潜水医学</a>" in html
        assert ">能力構築支援</a>" in html
        assert "Vietnam: underwater medicine" in html, "titles stay in the language of their source"
        assert "2013年3月5日" in html
        assert "セミナー" in html  # the activity kind

    def test_english_pages_show_english_names(self, anonymous_client, site):
        html = _text(anonymous_client.get("/projects/vn-medicine/"))
        assert ">Vietnam</a>" in html and "ベトナム" not in html

    def test_region_and_country_names_are_translated(self, anonymous_client, site):
        html = _text(anonymous_client.get("/ja/partners/vietnam/"))
        assert "東南アジア" in html
        assert "ベトナム" in html

    def test_the_matrix_and_timeline_use_japanese_names(self, anonymous_client, site):
        assert ">人道支援・災害救援</a>" in _text(anonymous_client.get("/ja/matrix/"))
        assert "人道支援・災害救援" in _text(anonymous_client.get("/ja/timeline/"))

    def test_the_language_switcher_links_to_the_same_page_and_query(self, anonymous_client, site):
        html = _text(anonymous_client.get("/projects/?field=ha-dr&amp;status=ongoing".replace("&amp;", "&")))
        assert 'href="/ja/projects/?field=ha-dr&amp;status=ongoing" lang="ja"' in html
        html = _text(anonymous_client.get("/ja/projects/?field=ha-dr"))
        assert 'href="/projects/?field=ha-dr" lang="en"' in html

    @pytest.mark.parametrize(
        "path",
        ["/ja//evil.example/", "//evil.example/", "/ja/%2F%2Fevil.example/", "/%2F%2Fevil.example/",
         "/ja/%5C%5Cevil.example/", "/ja/%5C/evil.example/", "/ja///evil.example/projects/", "/projects//evil.example/",
         "/ja/projects/?q=//evil.example/"],
    )  # fmt: skip
    def test_every_language_link_is_a_path_on_this_site_whatever_the_request_path(self, anonymous_client, site, path):
        html = _text(anonymous_client.get(path))
        links = re.findall(r'<a [^>]*href="([^"]*)"[^>]* lang="(?:en|ja)"', html)
        alternates = re.findall(r'<link rel="alternate" hreflang="[^"]*" href="([^"]*)"', html)
        assert links, html[:500]
        for url in links + alternates:
            assert url.startswith("/") and url[1:2] not in ("/", "\\"), url
        assert not re.search(r'href="(//|/\\|\\)', html)

    def test_filter_errors_are_in_japanese_on_japanese_pages(self, anonymous_client, site):
        html = _text(anonymous_client.get("/ja/projects/?year=abc"))
        assert "年は4桁の数字で入力してください" in html

    def test_a_missing_page_is_a_friendly_404_in_the_pages_language(self, anonymous_client, site):
        response = anonymous_client.get("/ja/no-such-page/")
        assert response.status_code == 404
        assert "ページが見つかりません" in _text(response)
        assert 'href="/no-such-page/" lang="en"' in _text(response), "the switcher still leads somewhere sensible"
        response = anonymous_client.get("/no-such-page/")
        assert "Page not found" in _text(response)
        assert 'href="/projects/"' in _text(response)
        assert 'href="/ja/no-such-page/" lang="ja"' in _text(response)


class TestErrorPages:
    def test_the_500_page_renders_without_a_request_or_the_database(self):
        # No `db` fixture: pytest-django fails this test if the page touches the database.
        response = server_error(RequestFactory().get("/"))
        assert response.status_code == 500
        html = response.content.decode()
        assert "Something went wrong on our side" in html
        assert "<main" in html

    def test_the_500_template_needs_no_context(self):
        assert "Server error" in render_to_string("500.html")


class TestSitemap:
    def test_it_lists_published_records_in_both_languages(self, anonymous_client, site):
        response = anonymous_client.get("/sitemap.xml")
        assert response.status_code == 200
        xml = _text(response)
        locations = set(re.findall(r"<loc>([^<]+)</loc>", xml))
        paths = {urlsplit(loc).path for loc in locations}
        for path in ("/projects/vn-medicine/", "/ja/projects/vn-medicine/", "/partners/vietnam/", "/fields/ha-dr/"):
            assert path in paths
        assert "/programs/vientiane-vision/" in paths
        assert "/matrix/" in paths and "/ja/timeline/" in paths
        assert not any("secret" in p or "hidden" in p for p in paths)
        assert 'hreflang="ja"' in xml

    def test_every_sitemap_url_answers(self, anonymous_client, site):
        xml = _text(anonymous_client.get("/sitemap.xml"))
        for loc in set(re.findall(r"<loc>([^<]+)</loc>", xml)):
            assert anonymous_client.get(urlsplit(loc).path).status_code == 200, loc


def test_pages_have_landmarks_a_skip_link_and_labels(anonymous_client, site):
    html = _text(anonymous_client.get("/projects/"))
    assert html.index('class="skip-link" href="#main"') < html.index('<main id="main"')
    assert 'role="search"' in html
    assert '<nav class="site-nav" aria-label="Main">' in html
    assert '<a href="/projects/" aria-current="page">' in html
    for control in re.findall(r'<(?:input|select)[^>]*\bid="([^"]+)"', html):
        assert f'for="{control}"' in html, f"#{control} has a label"


def test_reference_names_are_used_in_the_filter_form(anonymous_client, site):
    html = _text(anonymous_client.get("/ja/projects/"))
    assert ">ビエンチャン・ビジョン</label>" in html
    assert Field.objects.count() == 2 and Program.objects.count() == 2
