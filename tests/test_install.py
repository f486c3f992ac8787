"""kb as its users get it: the wheel built and installed in a fresh virtual environment, and
the pre-commit hooks run from this repository with ``pre-commit try-repo``.

Both need PyPI (the dependencies, pinned by constraints.txt) and take about a minute each;
``pytest -m "not install"`` leaves them out while working, ``make test`` and CI run them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CONSTRAINTS = ROOT / "constraints.txt"
SKIP = shutil.ignore_patterns(
    ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache", ".hypothesis", "kb.db", ".kb.db.*"
)

pytestmark = pytest.mark.install


def run(*command: str | Path, cwd: Path, env: dict | None = None, timeout: int = 600) -> str:
    """Run a command; fail the test with its output unless it exits 0."""
    result = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"{command} exited {result.returncode}:\n{output[-4000:]}"
    return output


def copy_tree(target: Path) -> Path:
    """The working tree without the virtual environment and build products."""
    shutil.copytree(ROOT, target, ignore=SKIP)
    return target


def test_wheel_installs_and_runs_in_a_fresh_environment(tmp_path):
    source = copy_tree(tmp_path / "src")
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    output = run(
        *pip, "wheel", "--no-deps", "-c", CONSTRAINTS, "--build-constraint", CONSTRAINTS, "-w", tmp_path, source,
        cwd=tmp_path,
    )  # fmt: skip
    assert "Warning" not in output, output  # no BuildBackendWarning, no SetuptoolsDeprecationWarning
    [wheel] = tmp_path.glob("kb-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for package in ("kb/checks/", "kb/database/", "kb/site/"):
        assert any(name.startswith(package) for name in names), package
    assert {"kb/site/metadata.yaml", "kb/site/static/kb.css"} <= set(names)

    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True, clear=True).create(env_dir)
    bin_dir = env_dir / "bin"
    run(bin_dir / "python", "-m", "pip", "install", "--quiet", "-c", CONSTRAINTS, wheel, cwd=tmp_path)

    # From the fresh environment, outside the source tree: nothing is imported from it.
    where = run(bin_dir / "python", "-c", "import kb, kb.checks, kb.site; print(kb.__file__)", cwd=tmp_path)
    assert str(env_dir) in where
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name in ("claims", "sources"):
        shutil.copytree(ROOT / name, corpus / name)
    shutil.copy(ROOT / "pyproject.toml", corpus)
    report = run(bin_dir / "kb", "check", "--strict", "--require-snapshots", "--root", corpus, cwd=tmp_path)
    assert "acknowledged findings hidden" in report.splitlines()[-1]
    built = run(bin_dir / "kb", "build", "--root", corpus, "-o", tmp_path / "kb.db", cwd=tmp_path)
    assert built.startswith("Built ") and (tmp_path / "kb.db").is_file()
    # The installed plugin: its stylesheet (static/ and metadata.yaml read from the package)
    css = run(bin_dir / "datasette", tmp_path / "kb.db", "--get", "/-/kb.css", cwd=tmp_path)
    assert "td.col-statement:before" in css
    page = run(bin_dir / "datasette", tmp_path / "kb.db", "--get", "/", cwd=tmp_path)
    assert '<link rel="stylesheet" href="/-/kb.css">' in page


def test_pre_commit_try_repo_runs_the_hooks(tmp_path):
    pre_commit = Path(sys.executable).parent / "pre-commit"
    git = shutil.which("git")
    if git is None:
        pytest.fail("pre-commit needs git")
    repo = copy_tree(tmp_path / "kb-repo")  # try-repo clones the hooks' repository: a git copy of this tree
    identity = ["-c", "user.name=kb tests", "-c", "user.email=tests@example.invalid", "-c", "commit.gpgsign=false"]
    run(git, "init", "-q", cwd=repo)
    run(git, "add", "-A", cwd=repo)
    run(git, *identity, "commit", "-q", "-m", "kb", cwd=repo)

    target = tmp_path / "user-kb"  # a user's knowledge base, a git repository of its own
    target.mkdir()
    for name in ("claims", "sources"):
        shutil.copytree(ROOT / name, target / name)
    shutil.copy(ROOT / "pyproject.toml", target)
    run(git, "init", "-q", cwd=target)
    run(git, "add", "-A", cwd=target)
    env = {
        "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"),  # a fresh hook environment, removed with tmp_path
        "PIP_CONSTRAINT": str(CONSTRAINTS),  # the hook environment gets the pinned versions too
    }
    output = run(pre_commit, "try-repo", repo, "--all-files", cwd=target, env=env)
    assert "kb check........" in output and "kb check --strict" in output
    assert output.count("Passed") == 2, output

    # a broken claim fails the hook, with the located finding
    claim = next((target / "claims").rglob("*.md"))
    claim.write_text(claim.read_text(encoding="utf-8").replace("statement:", "statment:", 1), encoding="utf-8")
    run(git, "add", "-A", cwd=target)
    result = subprocess.run(
        [str(pre_commit), "try-repo", str(repo), "kb-check", "--all-files"],
        cwd=target,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 1
    assert "KB004 [error] unknown field `statment`" in result.stdout
