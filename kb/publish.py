"""A deploy directory for many stateless replicas: ``kb package DIR``.

What Datasette's ``publish --generate-dir`` writes (a Dockerfile, the database, its inspect
file, the metadata), with three differences that matter for kb:

- the **built wheel of kb** is in the directory and is what the image installs, so the
  plugin, its templates, static files and vendored assets are exactly the tested ones
  (``datasette publish --install`` could only name a package on PyPI);
- every install is **pinned**: ``pip install -c constraints.txt`` with the versions of the
  environment that built it (datasette==0.65.5 among them), and nothing else is installed;
  Datasette's own Dockerfile runs an unpinned ``pip install -U datasette``;
- the server runs with kb's **public settings** (:data:`kb.serve.PUBLIC_SETTINGS`) in
  immutable mode (``-i``), the same as ``kb serve --public``.

No ``DATASETTE_SECRET`` is written (Datasette's generated directory bakes one in, which is why
its notes say never to commit one); the public site signs nothing, and a host that wants a
fixed secret sets the variable at run time. The directory still holds the database: it has a
``.gitignore`` of ``*``. Nothing here runs docker or reaches the network.
"""

from __future__ import annotations

import json
import platform
import shlex
import shutil
import subprocess
import sys
from importlib import metadata as distributions
from pathlib import Path

import kb
from kb.serve import PUBLIC_SETTINGS, metadata
from kb.settings import Settings

__all__ = ["PublishError", "constraints", "dockerfile", "find_project", "serve_command", "write_package"]

DATABASE = "kb.db"


class PublishError(Exception):
    """The deploy directory cannot be written; the message says why."""


def find_project() -> Path | None:
    """The source tree kb runs from (an editable install or a checkout), or None."""
    folder = Path(kb.__file__).resolve().parent.parent
    pyproject = folder / "pyproject.toml"
    if pyproject.is_file() and 'name = "kb"' in pyproject.read_text(encoding="utf-8"):
        return folder
    return None


def build_wheel(project: Path, directory: Path) -> Path:
    """``pip wheel`` of kb alone, with the build tools already installed (no network)."""
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet"]
    command += ["--disable-pip-version-check", "-w", str(directory), str(project)]
    result = subprocess.run(command, capture_output=True, text=True)
    wheels = sorted(directory.glob("kb-*.whl"))
    if result.returncode != 0 or not wheels:
        raise PublishError(f"building the wheel of kb failed: {result.stderr.strip()[-2000:]}")
    return wheels[-1]


def constraints() -> str:
    """Exact pins of every distribution in this environment except kb itself."""
    pins = {}
    for dist in distributions.distributions():
        name = dist.metadata["Name"]
        if name and name.lower() != "kb":
            pins[name.lower()] = f"{name}=={dist.version}"
    header = "# The versions kb was built and tested with (pip install -c).\n"
    return header + "".join(f"{pins[key]}\n" for key in sorted(pins))


def serve_command(port_variable: str = "$PORT") -> list[str]:
    command = ["datasette", "serve", "--host", "0.0.0.0", "--port", port_variable, "-i", DATABASE]
    command += ["--inspect-file", "inspect-data.json", "--metadata", "metadata.json", "--cors"]
    for key, value in PUBLIC_SETTINGS.items():
        text = ("on" if value else "off") if isinstance(value, bool) else str(value)
        command += ["--setting", key, text]
    return command


def dockerfile(wheel_name: str) -> str:
    python = platform.python_version()
    command = " ".join(shlex.quote(part) if not part.startswith("$") else part for part in serve_command())
    return (
        f"# Written by kb package (kb {kb.__version__}). Build: docker build -t kb-site .\n"
        f"FROM python:{python}-slim-bookworm\n"
        "WORKDIR /app\n"
        f"COPY {wheel_name} constraints.txt ./\n"
        f"RUN pip install --no-cache-dir --disable-pip-version-check -c constraints.txt ./{wheel_name}\n"
        f"COPY {DATABASE} inspect-data.json metadata.json ./\n"
        "ENV PORT=8001\n"
        "EXPOSE 8001\n"
        f"CMD {command}\n"
    )


def write_package(settings: Settings, directory: Path, wheel: Path | None = None) -> list[Path]:
    """Write the deploy directory for the built database of ``settings``; return its files."""
    database = settings.database_path
    if not database.is_file():
        raise PublishError(f"{database}: no database (run kb build)")
    if directory.exists() and any(directory.iterdir()):
        raise PublishError(f"{directory}: not empty; give a new or empty directory")
    directory.mkdir(parents=True, exist_ok=True)
    if wheel is None:
        project = find_project()
        if project is None:
            raise PublishError("kb is not installed from a source tree: pass the wheel of kb (--wheel)")
        wheel = build_wheel(project, directory)
    elif wheel.parent.resolve() != directory.resolve():
        wheel = Path(shutil.copy2(wheel, directory / wheel.name))
    shutil.copy2(database, directory / DATABASE)
    data = metadata(settings)
    data["databases"] = {Path(DATABASE).stem: next(iter(data["databases"].values()))}
    (directory / "metadata.json").write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
    inspect = [sys.executable, "-m", "datasette", "inspect", DATABASE, "--inspect-file", "inspect-data.json"]
    result = subprocess.run(inspect, cwd=directory, capture_output=True, text=True)
    if result.returncode != 0:
        raise PublishError(f"datasette inspect failed: {result.stderr.strip()[-2000:]}")
    (directory / "constraints.txt").write_text(constraints(), encoding="utf-8")
    (directory / "Dockerfile").write_text(dockerfile(wheel.name), encoding="utf-8")
    (directory / ".dockerignore").write_text(".gitignore\n", encoding="utf-8")
    (directory / ".gitignore").write_text("# generated by kb package: holds the database; do not commit\n*\n")
    return sorted(directory.iterdir())
