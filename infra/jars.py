"""Fetches the platform's Java parts from Maven Central into a cache outside git."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from infra.errors import PlatformError

POM_DIR = Path(__file__).resolve().parent / "jars"


def require_tool(name: str, purpose: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise PlatformError(f"'{name}' is not installed; it is needed to {purpose}.")
    return path


def fetch(component: str, cache: Path) -> Path:
    """Copy the jars of `infra/jars/<component>.pom.xml` and their dependencies into the cache."""
    pom = POM_DIR / f"{component}.pom.xml"
    target = cache / f"{component}-{_pom_digest(pom)}"
    if (target / ".complete").exists():
        return target
    mvn = require_tool("mvn", f"fetch {component} from Maven Central")
    require_tool("java", f"run {component}")
    target.mkdir(parents=True, exist_ok=True)
    argv = [
        mvn,
        "-q",
        "-B",
        "-f",
        str(pom),
        "dependency:copy-dependencies",
        f"-DoutputDirectory={target}",
    ]
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise PlatformError(
            f"Maven could not fetch {component} (exit {result.returncode}): "
            f"{' '.join(argv)}\n{result.stdout[-2000:]}{result.stderr[-2000:]}"
        )
    (target / ".complete").write_text("ok\n")
    return target


def _pom_digest(pom: Path) -> str:
    import hashlib

    return hashlib.sha256(pom.read_bytes()).hexdigest()[:12]
