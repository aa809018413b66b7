"""The README's Python examples run as written."""

import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[3]


def python_blocks(path):
    return re.findall(r"```python\n(.*?)```", path.read_text(), flags=re.S)


def run_tests_of(source):
    namespace = {}
    exec(compile(source, "README", "exec"), namespace)
    tests = [f for name, f in namespace.items() if name.startswith("test_")]
    for test in tests:
        test()
    return namespace


def test_the_repository_readme_example():
    [block] = python_blocks(ROOT / "README.md")
    assert len(block.strip().splitlines()) <= 12
    run_tests_of(block)


def test_the_package_readme_example():
    [block] = python_blocks(ROOT / "crates" / "vrsim-py" / "README.md")
    namespace = run_tests_of(block)
    assert namespace["result"].vif == 5
