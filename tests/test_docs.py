"""The results tables of README.md and docs/ are rendered from benchmarks/results/, never typed."""

from __future__ import annotations

import importlib.util
import json
import re
import sys

import pytest
from conftest import ROOT


def _renderer():
    spec = importlib.util.spec_from_file_location("render_docs", ROOT / "benchmarks" / "render_docs.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


render_docs = _renderer()

PAGE = """# Page

Text before.

<!-- results: demo.json at=runs row=b=Beta row=a
     col="run={@key}" col="label={@label}" col="score={score:.2f}" col="spread={spread.std:+.1f}" -->
stale content
<!-- /results -->

Text after.
"""


@pytest.fixture
def results_dir(tmp_path):
    folder = tmp_path / "results"
    folder.mkdir()
    runs = {
        "a": {"score": 0.5, "spread": {"std": 1.25}, "done": True},
        "b": {"score": 0.876, "spread": {"std": -0.5}, "done": None},
        "c.1": {"score": 2, "spread": {"std": 0}, "done": False},
    }
    (folder / "demo.json").write_text(json.dumps({"runs": runs}), encoding="utf-8")
    return folder


def test_committed_tables_match_their_results_files():
    stale = render_docs.stale_blocks(render_docs.default_pages(ROOT))
    assert not stale, "stale results blocks (run python benchmarks/render_docs.py):\n" + "\n".join(
        map(str, stale)
    )


def test_every_page_quotes_results_through_blocks():
    pages = render_docs.default_pages(ROOT)
    blocks = [b for page in pages for b in render_docs.render_text(page.read_text("utf-8"), page)[1]]
    assert len(blocks) >= 10, "the docs should render their results tables from benchmarks/results"
    sources = {b.spec.split()[0] for b in blocks}
    for source in sources:
        assert (render_docs.RESULTS / source).is_file(), source


def test_render_replaces_the_block_and_keeps_the_rest(tmp_path, results_dir):
    page = tmp_path / "page.md"
    page.write_text(PAGE, encoding="utf-8")
    assert [str(b.path) for b in render_docs.stale_blocks([page], results_dir)] == [str(page)]
    assert render_docs.main([str(page), "--check", "--results", str(results_dir)]) == 1
    assert render_docs.main([str(page), "--results", str(results_dir)]) == 0
    text = page.read_text(encoding="utf-8")
    expected = (
        "| run | label | score | spread |\n|---|---|---|---|\n"
        "| b | Beta | 0.88 | -0.5 |\n| a | — | 0.50 | +1.2 |\n"
    )
    assert expected in text
    assert "stale content" not in text
    assert text.startswith("# Page\n\nText before.\n\n<!-- results: demo.json")
    assert text.endswith("<!-- /results -->\n\nText after.\n")
    assert render_docs.main([str(page), "--check", "--results", str(results_dir)]) == 0


def test_a_figure_changing_in_the_json_fails_the_check(tmp_path, results_dir, capsys):
    page = tmp_path / "page.md"
    page.write_text(PAGE, encoding="utf-8")
    render_docs.main([str(page), "--results", str(results_dir)])
    data = json.loads((results_dir / "demo.json").read_text(encoding="utf-8"))
    data["runs"]["a"]["score"] = 0.51
    (results_dir / "demo.json").write_text(json.dumps(data), encoding="utf-8")
    capsys.readouterr()
    assert render_docs.main([str(page), "--check", "--results", str(results_dir)]) == 1
    assert f"{page}:5" in capsys.readouterr().out
    # a change below the printed precision renders the same table
    data["runs"]["a"]["score"] = 0.501
    (results_dir / "demo.json").write_text(json.dumps(data), encoding="utf-8")
    render_docs.main([str(page), "--results", str(results_dir)])
    data["runs"]["a"]["score"] = 0.5012
    (results_dir / "demo.json").write_text(json.dumps(data), encoding="utf-8")
    assert render_docs.main([str(page), "--check", "--results", str(results_dir)]) == 0


def test_spec_forms(results_dir):
    render = render_docs.render_spec
    # every item and every field when no row= or col= is given; None and booleans spelled out
    assert render("demo.json at=runs", results_dir).splitlines() == [
        "| score | spread | done |",
        "|---|---|---|",
        "| 0.5 | {'std': 1.25} | yes |",
        "| 0.876 | {'std': -0.5} | — |",
        "| 2 | {'std': 0} | no |",
    ]
    # a key with a dot in it, thousands separators, literal braces, another file
    (results_dir / "other.json").write_text(json.dumps({"n": 13888}), encoding="utf-8")
    table = render(
        'demo.json at=runs row=c.1 col="n={other.json#n:,} {{x}}" col="s={score:.1%}"', results_dir
    )
    assert table.splitlines()[-1] == "| 13,888 {x} | 200.0% |"
    # a field that ends in ? may be missing
    table = render('demo.json at=runs row=a row=b col="x={extra?:.1f}" col="y={spread.std:.2f}"', results_dir)
    assert table.splitlines()[2:] == ["| — | 1.25 |", "| — | -0.50 |"]
    # heterogeneous lines
    table = render(
        'demo.json header="what | value" line="a | {runs.a.score}" line="b | {runs.b.done}"', results_dir
    )
    assert table.splitlines()[2:] == ["| a | 0.5 |", "| b | — |"]


def test_markdown_results_are_read_as_tables(results_dir):
    (results_dir / "suite.md").write_text(
        "## Suite\n\n| task | solved | n |\n|---|---|---|\n"
        "| adding | True | 13888 |\n| reber | False | — |\n",
        encoding="utf-8",
    )
    table = render_docs.render_spec(
        'suite.md at=0 col="task={task}" col="n={n:,}" col="ok={solved}"', results_dir
    )
    assert table.splitlines()[2:] == ["| adding | 13,888 | yes |", "| reber | — | no |"]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("demo.json at=runs row=z", "no key 'z'"),
        ('demo.json at=runs col="x={scor}"', "no key 'scor'"),
        ("missing.json", "not found"),
        ("demo.json colour=red", "unknown option"),
        ("demo.json col=nothing", "col=HEADER=TEMPLATE"),
        ('demo.json header="a | b" line="1"', "1 cells, the header 2"),
        ("demo.json at=runs.a.score", "not a dict or list"),
    ],
)
def test_bad_specs_name_what_is_wrong(results_dir, spec, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        render_docs.render_spec(spec, results_dir)


def test_a_bad_block_names_its_page_and_line(tmp_path, results_dir, capsys):
    page = tmp_path / "bad.md"
    page.write_text("x\n\n<!-- results: demo.json at=nope -->\n<!-- /results -->\n", encoding="utf-8")
    assert render_docs.main([str(page), "--check", "--results", str(results_dir)]) == 2
    assert f"{page}:3" in capsys.readouterr().err


def test_readme_is_one_page_with_the_two_commands_and_a_page_per_recipe():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 250
    bash = re.findall(r"```bash\n(.*?)```", text, flags=re.S)
    assert 'pip install -e ".[test]" && python -m pytest -q -n 2\n' in bash  # CI runs exactly this line
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert ci[-1] + "\n" == 'pip install -e ".[test]" && python -m pytest -q -n 2\n'
    # the first command installs what its recipe needs: the recipes extra
    assert re.fullmatch(r'pip install -e "\.\[recipes\]" && python recipes/\w+\.py --quick\n', bash[0])
    assert "import lstm_apps.layers" in text  # what load_model of our .keras files needs first
    for recipe in sorted((ROOT / "recipes").glob("*.py")):
        page = f"docs/recipes/{recipe.stem}.md"
        assert (ROOT / page).is_file(), f"{recipe.name} has no {page}"
        assert f"]({page})" in text, f"README.md does not link {page}"


def test_relative_links_of_the_docs_resolve():
    for page in render_docs.default_pages(ROOT):
        text = page.read_text(encoding="utf-8")
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", text):
            assert (page.parent / target).exists(), (
                f"{page.relative_to(ROOT)} links {target}, which is absent"
            )
