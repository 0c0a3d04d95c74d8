"""Bad flags or a bad config file: one line and exit 2, before the port is opened."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.cli import run_cli


@pytest.mark.asyncio
async def test_bad_flags_and_config_exit_2_before_the_port_opens(tmp_path: Path) -> None:
    port = tmp_path / "no-such-port"  # opening it would fail with exit 1, not 2
    config = tmp_path / "bridge.toml"
    config.write_text("no_such_option = 1\n")
    runs = [
        (str(port), "--bogus"),
        (str(port), "--config", str(config), "-h", "cloud", "--local", "mqtt://127.0.0.1:1"),
        (str(port), "-h", "cloud", "--local", "mqtt://127.0.0.1:1", "--topic", "a/# sideways"),
    ]
    for args in runs:
        code, _, err = await run_cli("bridge", *args)
        assert code == 2, (args, err)
        assert len(err.strip().splitlines()) == 1, err
        assert "Traceback" not in err
        assert not port.exists()
