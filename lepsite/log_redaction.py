"""Secret links kept out of every log: the app's error log and gunicorn's access log.

A status link is an applicant's only key to their application; invitation and reset links
set a staff password. Logs keep the path's shape with ``[token]`` in place of the secret.
"""

import re

SECRET_IN_PATH = re.compile(r"(/apply/status/|/admin/reset/|/admin/invite/)[^/?\s\"]+")


def redact(text: str) -> str:
    """``text`` with every secret link's token replaced by ``[token]``."""
    return SECRET_IN_PATH.sub(r"\1[token]", text)
