"""Toolchain fixtures: a summary of what each worker uploads, printed after the run."""

from __future__ import annotations

import pytest

_UPLOADS = pytest.StashKey[dict[str, tuple[int, int, int]]]()


@pytest.fixture
def upload_report(request: pytest.FixtureRequest) -> dict[str, tuple[int, int, int]]:
    """worker name -> (its own Python modules, their bytes, vendored packages' bytes) of its dry-run upload."""
    return request.config.stash.setdefault(_UPLOADS, {})


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    uploads = config.stash.get(_UPLOADS, {})
    if uploads:
        terminalreporter.write_sep("-", "what each worker uploads (wrangler deploy --dry-run)")
        for name, (count, size, vendored) in sorted(uploads.items()):
            line = f"{name:14} {count:3} Python modules  {size / 1024:7.1f} KiB, vendored {vendored / 1024:7.1f} KiB"
            terminalreporter.write_line(line)
