"""Wheel build hook: ship the translation catalogs compiled.

An installed site then reads its ``.mo`` files from the package and writes nothing at start-up
(see ``lepsite.i18n.compile_catalogs``). Editable installs keep compiling on demand into the
instance folder, so an edited ``.po`` shows up without reinstalling.
"""

import tempfile
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class CustomBuildHook(BuildHookInterface):
    """Compile ``translations/*/LC_MESSAGES/*.po`` into the wheel beside the ``.po`` files."""

    def initialize(self, version: str, build_data: dict) -> None:
        if self.target_name != "wheel" or version == "editable":
            return
        root = Path(self.root)
        out = Path(tempfile.mkdtemp(prefix="lepsite-mo-"))
        for po_path in sorted((root / "translations").glob("*/LC_MESSAGES/*.po")):
            relative = po_path.relative_to(root / "translations").with_suffix(".mo")
            mo_path = out / relative
            mo_path.parent.mkdir(parents=True, exist_ok=True)
            with po_path.open("rb") as po_file, mo_path.open("wb") as mo_file:
                write_mo(mo_file, read_po(po_file, locale=relative.parts[0]))
            target = f"lepsite/_site/translations/{relative.as_posix()}"
            build_data["force_include"][str(mo_path)] = target
