"""`kb package DIR`: the deploy directory installs the built wheel with pinned versions and runs
the public settings in immutable mode (checked without docker)."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
import zipfile

import pytest
from click.testing import CliRunner

from kb.cli import main
from kb.publish import find_project
from kb.serve import PUBLIC_SETTINGS

pytestmark = pytest.mark.skipif(find_project() is None, reason="kb does not run from its source tree")


@pytest.fixture(scope="module")
def package(tmp_path_factory):
    root = tmp_path_factory.mktemp("kb")
    (root / "kb.toml").write_text('today = "2026-11-23"\n', encoding="utf-8")
    (root / "claims" / "c").mkdir(parents=True)
    (root / "claims" / "c" / "c1.md").write_text(
        "---\nid: c1\nstatement: OpenAI 亏损 50 亿美元.\nkind: opinion\n---\n", encoding="utf-8"
    )
    directory = tmp_path_factory.mktemp("deploy") / "site"
    result = CliRunner().invoke(main, ["package", str(directory), "--root", str(root)])
    assert result.exit_code == 0, result.output
    return directory


def test_directory_contents(package):
    names = sorted(path.name for path in package.iterdir())
    [wheel] = [name for name in names if name.endswith(".whl")]
    assert set(names) == {".dockerignore", ".gitignore", "Dockerfile", "constraints.txt", "inspect-data.json"} | {
        wheel,
        "kb.db",
        "metadata.json",
    }
    assert (package / ".gitignore").read_text().splitlines()[-1] == "*"
    text = "".join(path.read_text(errors="replace") for path in package.iterdir() if path.suffix != ".whl")
    assert "DATASETTE_SECRET" not in text


def test_dockerfile_installs_only_the_pinned_wheel(package):
    dockerfile = (package / "Dockerfile").read_text()
    assert re.search(r"^FROM python:\d+\.\d+\.\d+-slim-bookworm$", dockerfile, flags=re.MULTILINE)
    installs = [line for line in dockerfile.splitlines() if "pip install" in line]
    [wheel] = [path.name for path in package.glob("*.whl")]
    assert installs == [f"RUN pip install --no-cache-dir --disable-pip-version-check -c constraints.txt ./{wheel}"]
    pins = dict(line.lower().split("==") for line in (package / "constraints.txt").read_text().splitlines()[1:])
    assert pins["datasette"] == "0.65.5" and "opencc" in pins and "sqlite-utils" in pins
    assert all(re.fullmatch(r"[\w.+-]+", version) for version in pins.values())
    # every requirement of the wheel is pinned
    with zipfile.ZipFile(package / wheel) as archive:
        meta = archive.read(next(n for n in archive.namelist() if n.endswith("METADATA"))).decode()
        files = archive.namelist()
        entry_points = archive.read(next(n for n in files if n.endswith("entry_points.txt"))).decode()
    required = re.findall(r"^Requires-Dist: ([A-Za-z0-9_.-]+)[^;\n]*$", meta, flags=re.MULTILINE)
    assert required and all(
        name.lower().replace("_", "-") in {p.lower().replace("_", "-") for p in pins} for name in required
    )
    # the plugin, its templates and static files are in the wheel
    assert {"kb/site/__init__.py", "kb/site/hardening.py", "kb/site/metadata.yaml", "kb/site/static/kb.css"} <= set(
        files
    )
    assert "kb = kb.site" in entry_points and "kb_hardening = kb.site.hardening" in entry_points


def test_command_runs_public_settings_immutable(package):
    dockerfile = (package / "Dockerfile").read_text()
    [cmd] = [line[4:] for line in dockerfile.splitlines() if line.startswith("CMD ")]
    args = shlex.split(cmd)
    assert args[:2] == ["datasette", "serve"] and args[args.index("-i") + 1] == "kb.db"
    settings = {args[i + 1]: args[i + 2] for i, arg in enumerate(args) if arg == "--setting"}
    expected = {k: ("on" if v else "off") if isinstance(v, bool) else str(v) for k, v in PUBLIC_SETTINGS.items()}
    assert settings == expected
    assert settings["default_allow_sql"] == "off" and settings["allow_download"] == "off"
    # the same command, run here (with the installed kb), serves the search and refuses SQL
    local = [sys.executable, "-m", "datasette", *args[1:]]
    local[local.index("$PORT")] = "0"
    for path, status in (("/kb/search_quotes.json?q=x&_shape=array", 0), ("/kb.json?sql=select+1", 1)):
        result = subprocess.run([*local, "--get", path], cwd=package, capture_output=True, text=True, timeout=60)
        assert result.returncode == status, (path, result.stdout[-500:], result.stderr[-500:])
    result = subprocess.run(
        [*local, "--get", "/kb/search_claims.json?q=%E8%99%A7%E6%90%8D&_shape=array"],
        cwd=package,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert [row["id"] for row in json.loads(result.stdout)] == ["c1"]


def test_refuses_a_directory_that_is_not_empty(package, tmp_path):
    (tmp_path / "x").write_text("x")
    result = CliRunner().invoke(main, ["package", str(tmp_path), "--root", str(package)])
    assert result.exit_code != 0
