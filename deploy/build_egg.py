"""Build the egg scrapyd deploys (``make egg``), from pyproject.toml alone.

scrapyd (1.6) runs a project from an egg whose ``scrapy`` entry point names
its settings. ``scrapyd-deploy`` builds one by writing a ``setup.py`` and
running ``setup.py bdist_egg``, which ignores pyproject.toml's package list
and package data; setuptools no longer builds eggs from pyproject.toml.
So: build the wheel the usual way (``pip wheel``, which honours
pyproject.toml: packages, package data, the ``scrapy`` entry point), then
have setuptools lay it out as an egg (``setuptools.wheel.Wheel.install_as_egg``,
what easy_install did with wheels) and zip it.

    python deploy/build_egg.py [--output DIR]    # prints the egg's path
    scrapyd-deploy TARGET --egg dist/uir_news-*.egg
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from setuptools.wheel import Wheel

ROOT = Path(__file__).resolve().parent.parent


def build(output: Path) -> Path:
    with tempfile.TemporaryDirectory(prefix="uir-news-egg-") as tmp:
        work = Path(tmp)
        pip = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps"]
        subprocess.run([*pip, "-w", str(work), str(ROOT)], check=True)
        (wheel_path,) = work.glob("*.whl")
        wheel = Wheel(str(wheel_path))
        egg_dir = work / wheel.egg_name()
        wheel.install_as_egg(str(egg_dir))
        output.mkdir(parents=True, exist_ok=True)
        egg = output / wheel.egg_name()
        with zipfile.ZipFile(egg, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(egg_dir.rglob("*")):
                if path.is_file() and "__pycache__" not in path.parts:
                    archive.write(path, path.relative_to(egg_dir).as_posix())
    return egg


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=ROOT / "dist", help="default: dist/")
    print(build(parser.parse_args().output))
    return 0


if __name__ == "__main__":
    sys.exit(main())
