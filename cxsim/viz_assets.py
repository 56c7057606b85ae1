"""Solara's front-end files for the workshop app, from npm, for rooms without a route to the CDN.

Solara (>= 1.59; ``solara-assets`` stops at 1.58.2 on PyPI) serves its front end (the Vue app,
require.js, font-awesome) through ``/_solara/cdn/...``: a proxy that fetches
``https://cdn.jsdelivr.net/npm/<pkg>@<version>/<file>`` on first use and caches it in
``settings.assets.proxy_cache_dir`` (default ``<sys.prefix>/share/solara/cdn``, environment
variable ``SOLARA_ASSETS_PROXY_CACHE_DIR``).  Without that route the page stays blank
("solara is not defined").  jsDelivr's ``/npm/`` files are the npm tarballs' ``package/``
folders, so ``npm pack`` + extract gives the same cache.

``cxsim viz`` checks the cache at start (:func:`ensure`) and fills it this way when files are
missing (once, about 65 MB), so the app works offline afterwards.

Usage: ``python -m cxsim.viz_assets [CACHE_DIR] [--all]`` (with the environment's python;
default: its Solara cache folder).  Needs ``npm`` on PATH.  A workshop venue with poor
internet can prepare a laptop this way once; ``--all`` adds what other Solara pages may use
(the Vue 3 app, a draggable grid, the large maths and diagram packages of Markdown pages).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Callable
from pathlib import Path

#: exact-version npm packages referenced through Solara's CDN proxy
_CDN_REF = re.compile(r"(?:getCdn\(\)\}|\{\{cdn\}\})/((?:@[\w.-]+/)?[\w.-]+@\d+\.\d+\.\d+[\w.-]*)/")
#: not needed by the workshop app: Markdown maths and diagrams (large), Solara's draggable grid
_OPTIONAL = ("katex@", "mermaid@", "@widgetti/vue-grid-layout@")
#: the Solara page's Vue app, for Vue 2 (ipyvue 1.x) and Vue 3 (ipyvue 3.x)
_VUE2_APP, _VUE3_APP = "@widgetti/solara-vuetify-app@", "@widgetti/solara-vuetify3-app@"
#: seconds one ``npm pack`` may take
NPM_TIMEOUT = 300


class AssetsError(Exception):
    """The front-end files could not be fetched (the message says why, in a few words)."""


def cache_dir() -> Path:
    """Solara's CDN cache folder (``SOLARA_ASSETS_PROXY_CACHE_DIR`` or its default)."""
    import solara.server.settings as settings

    return Path(settings.assets.proxy_cache_dir)


def needed_packages(everything: bool = False) -> list[str]:
    """``name@version`` of the npm packages the installed Solara loads through its CDN proxy.

    Scans Solara's page template and widget sources.  Unless ``everything``: only what the
    workshop app's page loads (the Vue app of the installed ipyvue, require.js, font-awesome).
    """
    import solara
    import solara.server.settings as settings

    root = Path(solara.__file__).parent
    specs = set()
    for path in root.rglob("*"):
        if "website" in path.parts or path.suffix not in (".vue", ".js", ".j2", ".html", ".py"):
            continue
        if path.is_file():
            specs.update(_CDN_REF.findall(path.read_text(errors="ignore")))
    fa = settings.assets.fontawesome_path  # "/font-awesome@4.5.0/css/font-awesome.min.css"
    specs.add(fa.strip("/").split("/")[0])
    if not everything:
        import ipyvue

        unused = _VUE2_APP if ipyvue.__version__.startswith("3") else _VUE3_APP
        specs = {s for s in specs if not s.startswith((*_OPTIONAL, unused))}
    return sorted(specs)


def missing_packages(cache: Path, everything: bool = False) -> list[str]:
    """The needed packages that are not (whole) in ``cache``."""
    return [s for s in needed_packages(everything) if not _present(cache / s)]


def _present(target: Path) -> bool:
    # packages are moved into place whole (see seed), so a non-empty folder is complete
    return target.is_dir() and any(target.iterdir())


def seed(cache: Path, everything: bool = False, packages: list[str] | None = None,
         progress: Callable[[str], None] = print) -> list[str]:
    """Unpack every needed package (or ``packages``) from npm into ``cache``; skip those present.

    Each package is unpacked next to the cache and moved into place whole, so an interrupted
    run leaves no half package.  Returns the packages fetched.  :class:`AssetsError` if
    ``npm`` is missing or fails, or the cache cannot be written.
    """
    npm = shutil.which("npm")
    if npm is None:
        raise AssetsError("npm not found: install Node.js, or use a machine that can reach "
                          "cdn.jsdelivr.net")
    specs = needed_packages(everything) if packages is None else packages
    fetched = []
    try:
        cache.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=cache, prefix=".cxsim-") as tmp:
            for spec in specs:
                target = cache / spec
                if _present(target):
                    progress(f"have {spec}")
                    continue
                _unpack(npm, spec, Path(tmp))
                target.parent.mkdir(parents=True, exist_ok=True)
                if target.exists():  # an empty folder
                    target.rmdir()
                os.replace(Path(tmp) / "unpacked", target)
                fetched.append(spec)
                progress(f"fetched {spec}")
    except OSError as exc:
        raise AssetsError(f"cannot write {exc.filename or cache}: "
                          f"{exc.strerror or exc}") from None
    return fetched


def _unpack(npm: str, spec: str, tmp: Path) -> None:
    """``npm pack spec`` in ``tmp``, its ``package/`` folder unpacked as ``tmp/unpacked``."""
    # few retries: without a network npm otherwise takes over a minute to give up
    cmd = [npm, "pack", "--loglevel=error", "--fetch-retries=1",
           "--fetch-retry-mintimeout=2000", "--fetch-retry-maxtimeout=5000", spec]
    try:
        done = subprocess.run(cmd, cwd=tmp, capture_output=True, text=True, timeout=NPM_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise AssetsError(f"npm pack {spec} took over {NPM_TIMEOUT} s") from None
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        raise AssetsError(f"npm pack {spec} failed: {_npm_reason(done.stderr)}")
    tarball = tmp / lines[-1]
    out = tmp / "unpacked"
    if out.exists():
        shutil.rmtree(out)
    out.mkdir()
    with tarfile.open(tarball) as tar:
        members = [m for m in tar.getmembers()
                   if m.name.startswith("package/") and (m.isfile() or m.isdir())]
        for m in members:
            m.name = m.name[len("package/"):]
            if m.name:
                tar.extract(m, out, filter="data")
    tarball.unlink()


def _npm_reason(stderr: str) -> str:
    """The gist of npm's error output: its code and reason (``ECONNREFUSED: connect ...``)."""
    code = re.search(r"npm (?:error|ERR!) code (\S+)", stderr)
    reason = re.search(r"reason: (.+)", stderr)
    parts = [m.group(1).strip() for m in (code, reason) if m]
    if parts:
        return ": ".join(parts)
    last = [ln.strip() for ln in stderr.strip().splitlines() if ln.strip()]
    return last[-1] if last else "no output"


def ensure(cache: Path | None = None, progress: Callable[[str], None] = print) -> list[str]:
    """Fill Solara's cache with what the app needs if anything is missing; return what was fetched.

    :class:`AssetsError` if files are missing and cannot be fetched.
    """
    cache = cache_dir() if cache is None else cache
    missing = missing_packages(cache)
    if not missing:
        return []
    progress(f"fetching the app's front end once ({len(missing)} npm packages, about 65 MB) "
             f"into {cache}")
    return seed(cache, packages=missing, progress=lambda s: progress(f"  {s}"))


def main(argv: list[str] | None = None) -> int:
    """``python -m cxsim.viz_assets [CACHE_DIR] [--all]``."""
    argv = sys.argv[1:] if argv is None else argv
    args = [a for a in argv if a != "--all"]
    try:
        import solara.server.settings  # noqa: F401
    except ImportError:
        print("cxsim.viz_assets: needs the viz extra: pip install -e '.[viz]' (in the cxsim "
              "folder)", file=sys.stderr)
        return 2
    cache = Path(args[0]) if args else cache_dir()
    try:
        seed(cache, everything="--all" in argv)
    except AssetsError as exc:
        print(f"cxsim.viz_assets: {exc}", file=sys.stderr)
        return 2
    print(f"the app's front end is in {cache}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
