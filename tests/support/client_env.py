"""Client tests run with no user configuration: no config file, keyring, token or default
instance from the environment of whoever runs them."""

from __future__ import annotations

from pathlib import Path

import pytest

CLIENT_ENV = ("NEUROPIL_URL", "NEUROPIL_API_KEY", "DANDI_INSTANCE", "DANDI_API_KEY")


def isolate_client(monkeypatch: pytest.MonkeyPatch, config_dir: Path) -> Path:
    monkeypatch.setenv("NEUROPIL_CONFIG_DIR", str(config_dir))
    monkeypatch.setenv("NEUROPIL_KEYRING", "0")
    for var in CLIENT_ENV:
        monkeypatch.delenv(var, raising=False)
    return config_dir
