"""What ``--existing`` may say, for downloads and uploads (as the official client has them).

Kept apart from the engines so the command line can offer the choices without importing them.
"""

from __future__ import annotations

import typing
from typing import Literal

DownloadExisting = Literal["error", "skip", "overwrite", "overwrite-different", "refresh"]
DOWNLOAD_EXISTING: tuple[str, ...] = typing.get_args(DownloadExisting)

UploadExisting = Literal["error", "skip", "force", "overwrite", "refresh"]
UPLOAD_EXISTING: tuple[str, ...] = typing.get_args(UploadExisting)
