"""Solara's front-end files for the workshop app, from npm, for rooms without a route to the CDN.

Solara (>= 1.59; ``solara-assets`` stops at 1.58.2 on PyPI) serves its front end (the Vue app,
require.js, font-awesome) through ``/_solara/cdn/...``: a proxy that fetches
``https://cdn.jsdelivr.net/npm/<pkg>@<version>/<file>`` on first use and caches it in
``settings.assets.proxy_cache_dir`` (default ``<sys.prefix>/share/solara/cdn``, environment
variable ``SOLARA_ASSETS_PROXY_CACHE_DIR``).  Without that route the page stays blank
("solara is not defined").  jsDelivr's ``/npm/`` files are the npm tarballs' ``package/``
folders, so ``npm pack`` + extract gives the same cache.

Usage: ``python -m cxsim.viz_assets [CACHE_DIR] [--all]`` (with the environment's python;
default: its Solara cache folder).  Needs ``npm`` on PATH.  A workshop venue with poor
internet can prepare a laptop this way once; ``--all`` adds the (large) maths and diagram
packages that Markdown pages may use.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

#: exact-version npm packages referenced through Solara's CDN proxy
_CDN_REF = re.compile(r"(?:getCdn\(\)\}|\{\{cdn\}\})/((?:@[\w.-]+/)?[\w.-]+@\d+\.\d+\.\d+[\w.-]*)/")
#: only needed for Markdown maths and diagrams (large); seeded with --all
_OPTIONAL = ("katex@", "mermaid@")


def needed_packages(everything: bool = False) -> list[str]:
    """``name@version`` of the npm packages the installed Solara loads through its CDN proxy.

    Scans Solara's page template and widget sources (e.g. ``gridlayout.vue``, which
    SolaraViz's draggable grid needs: ``@widgetti/vue-grid-layout``).
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
        specs = {s for s in specs if not s.startswith(_OPTIONAL)}
    return sorted(specs)


def seed(cache_dir: Path, everything: bool = False) -> None:
    """Unpack every needed package from npm into ``cache_dir`` (skipping those present)."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    npm = shutil.which("npm")
    if npm is None:
        sys.exit("cxsim.viz_assets: npm not found (install Node.js, or use a machine that can "
                 "reach cdn.jsdelivr.net)")
    with tempfile.TemporaryDirectory() as tmp:
        for spec in needed_packages(everything):
            target = cache_dir / spec
            if target.is_dir() and any(target.iterdir()):
                print(f"have {spec}")
                continue
            out = subprocess.run([npm, "pack", "--silent", spec], cwd=tmp, check=True,
                                 capture_output=True, text=True).stdout.strip().splitlines()[-1]
            with tarfile.open(Path(tmp) / out) as tar:
                members = [m for m in tar.getmembers() if m.name.startswith("package/")
                           and (m.isfile() or m.isdir())]
                for m in members:
                    m.name = m.name[len("package/"):]
                    if not m.name:
                        continue
                    tar.extract(m, target, filter="data")
            print(f"seeded {spec} -> {target}")


def main(argv: list[str] | None = None) -> int:
    """``python -m cxsim.viz_assets [CACHE_DIR] [--all]``."""
    argv = sys.argv[1:] if argv is None else argv
    args = [a for a in argv if a != "--all"]
    try:
        import solara.server.settings as settings
    except ImportError:
        print("cxsim.viz_assets: needs the viz extra: pip install 'cxsim[viz]'", file=sys.stderr)
        return 2
    cache = Path(args[0]) if args else Path(settings.assets.proxy_cache_dir)
    seed(cache, everything="--all" in argv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
