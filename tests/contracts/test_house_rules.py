"""Guards for the contracts package: terms are read as attributes, and no module grows past 500 lines."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_no_code_reads_terms_as_a_dict():
    pattern = re.compile(r"""terms\.get\(|terms\[["']""")
    found = [
        f"{path.relative_to(ROOT)}:{n}"
        for path in sorted((ROOT / "app").rglob("*.py"))
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if pattern.search(line)
    ]
    assert found == []


def test_no_contracts_module_is_over_500_lines():
    sizes = {
        str(path.relative_to(ROOT)): len(path.read_text(encoding="utf-8").splitlines())
        for path in sorted((ROOT / "app" / "contracts").rglob("*.py"))
    }
    assert {name: n for name, n in sizes.items() if n > 500} == {}
