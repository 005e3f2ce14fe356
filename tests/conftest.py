"""Shared test setup: the remembered problems of every test live in a temporary state folder, never the home."""
from __future__ import annotations

import os

import pytest


@pytest.fixture(scope="session", autouse=True)
def private_state_folder(tmp_path_factory):
    """XDG_STATE_HOME in os.environ (so subprocesses inherit it) points at a folder of the test run."""
    folder = tmp_path_factory.mktemp("state")
    old = os.environ.get("XDG_STATE_HOME")
    os.environ["XDG_STATE_HOME"] = str(folder)
    yield folder
    if old is None:
        os.environ.pop("XDG_STATE_HOME", None)
    else:
        os.environ["XDG_STATE_HOME"] = old
