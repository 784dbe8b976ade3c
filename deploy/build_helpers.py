"""Steps of the Dockerfile's build stage that read the project's own files (stdlib only, plus Django for npm-files).

python deploy/build_helpers.py requirements pyproject.toml
    The runtime dependencies of pyproject.toml, one a line: the image installs these with
    requirements.lock as constraints, so it gets the versions CI tested and none of the test tools.
python deploy/build_helpers.py npm-files NODE_MODULES DESTINATION
    Copies only the files of settings.NPM_STATIC_FILES from NODE_MODULES to DESTINATION (same
    relative paths), so the runtime image keeps what `manage.py check` and the static finder
    look for (portfolio/staticfiles.py) without the packages' whole trees.
"""

from __future__ import annotations

import shutil
import sys
import tomllib
from pathlib import Path


def runtime_requirements(pyproject: Path) -> list[str]:
    """`[project].dependencies` of pyproject.toml, without the comments."""
    with pyproject.open("rb") as file:
        return list(tomllib.load(file)["project"]["dependencies"])


def copy_npm_files(node_modules: Path, destination: Path) -> list[Path]:
    """Copy the sources of settings.NPM_STATIC_FILES; a missing one is an error (npm ci did not run)."""
    import django
    from django.conf import settings

    django.setup()
    copied = []
    for source in settings.NPM_STATIC_FILES.values():
        target = destination / source
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(node_modules / source, target)
        copied.append(target)
    return copied


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "requirements":
        print("\n".join(runtime_requirements(Path(argv[1]))))
        return 0
    if len(argv) == 3 and argv[0] == "npm-files":
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
        copy_npm_files(Path(argv[1]), Path(argv[2]))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
