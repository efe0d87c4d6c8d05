"""Where the site's data folders are, in a checkout and in an installed wheel."""

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
_CHECKOUT_ROOT = PACKAGE_DIR.parent


def site_dir(name: str) -> Path:
    """Return the absolute path of a top-level data folder (content, translations, static).

    In a checkout or an editable install the folders sit beside the package; a built wheel
    carries copies under ``lepsite/_site`` (see ``pyproject.toml``).
    """
    if (_CHECKOUT_ROOT / "pyproject.toml").is_file() and (_CHECKOUT_ROOT / name).is_dir():
        return _CHECKOUT_ROOT / name
    return PACKAGE_DIR / "_site" / name
