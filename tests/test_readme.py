"""The README's Python examples run as written, in order, like a notebook."""

import re

from conftest import ROOT


def _python_blocks():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


def test_readme_examples_run_in_order(tmp_path, monkeypatch):
    blocks = _python_blocks()
    assert blocks, "README.md has no ```python example"
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "__readme__"}
    for index, code in enumerate(blocks):
        exec(compile(code, f"README.md[python block {index}]", "exec"), namespace)
    assert (tmp_path / "adding.keras").exists()
