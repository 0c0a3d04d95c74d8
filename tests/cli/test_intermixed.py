"""Every `nm28` subcommand takes its options anywhere among its positionals (argparse's
intermixed parsing): `nm28 at PORT --record FILE AT+CSQ`, commands after `--payload`, the port
after `-m`. Each runs in its own process, as a user runs it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from support.brokers import BrokerInfo
from support.cli import one_line, run_cli, start_sim, stop

from nm28_async.sim.replay import read_recording

pytestmark = pytest.mark.e2e


@pytest_asyncio.fixture
async def port(broker: BrokerInfo) -> AsyncIterator[str]:
    """`socket://` to an `nm28 sim --tcp` on `broker`, started with its options reordered."""
    sim, where = await start_sim("--broker", broker.url, "--tcp", "127.0.0.1:0", "--no-echo")
    try:
        yield f"socket://{where}"
    finally:
        assert await stop(sim) == 0


@pytest.mark.asyncio
async def test_at_takes_options_between_and_after_its_commands(port: str, tmp_path: Path) -> None:
    log = tmp_path / "field.jsonl"
    code, out, err = await run_cli(
        "at", port, "--record", str(log), "AT+CSQ", "--timeout", "20", "ATI", "-v"
    )
    assert code == 0, err
    shown = out.splitlines()
    assert shown[0] == "> AT+CSQ"
    assert "> ATI" in shown
    sent = [record.data for record in read_recording(log) if record.direction == "tx"]
    assert b"AT+CSQ\r" in sent  # --record, given between the port and a command


@pytest.mark.asyncio
async def test_at_takes_commands_after_a_payload(port: str, broker: BrokerInfo) -> None:
    code, out, err = await run_cli(
        "at", port, f'AT+MQTTOPEN=0,"{broker.host}",{broker.port}',
        'AT+MQTTCONN=0,"mixed","",""', 'AT+MQTTPUBEX=0,3,1,0,0,"mixed/t",2', "--payload", "hi",
        "AT+MQTTDISC=0", "--timeout", "20", "AT+MQTTCLOSE=0",
    )  # fmt: skip
    assert code == 0, err
    sent = [line for line in out.splitlines() if line.startswith("> ")]
    assert sent[-2:] == ["> AT+MQTTDISC=0", "> AT+MQTTCLOSE=0"]
    assert "+MQTTPUBEX:0,3,0" in out.splitlines()


@pytest.mark.asyncio
async def test_pub_takes_the_port_after_its_message(port: str, broker: BrokerInfo) -> None:
    code, _, err = await run_cli(
        "pub", "-h", broker.host, "-t", "mixed/pub", "-m", "after -m", port,
        "-p", str(broker.port), "-r", "--client", "2",
    )  # fmt: skip
    assert (code, err) == (0, "")
    code, out, err = await run_cli(
        "sub", port, "-h", broker.host, "-p", str(broker.port), "-t", "mixed/pub", "-C", "1"
    )
    assert (code, out, err) == (0, "after -m\n", "")


@pytest.mark.asyncio
async def test_sub_takes_the_port_among_its_options(port: str, broker: BrokerInfo) -> None:
    code, _, err = await run_cli(
        "pub", port, "-h", broker.host, "-p", str(broker.port), "-t", "mixed/sub", "-m", "x",
        "-r",
    )  # fmt: skip
    assert (code, err) == (0, "")
    code, out, err = await run_cli(
        "sub", "-t", "mixed/sub", "-v", port, "-h", broker.host, "-C", "1",
        "-p", str(broker.port), "-W", "30",
    )  # fmt: skip
    assert (code, out, err) == (0, "mixed/sub x\n", "")


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "argv",
    [["sim", "--tcp", "127.0.0.1:0", "stray", "--no-echo"],
     ["demo", "--duration", "1", "stray", "--no-faults"]],
    ids=lambda argv: argv[0],
)  # fmt: skip
async def test_sim_and_demo_take_no_positionals_wherever_they_stand(argv: list[str]) -> None:
    """They have options only: a stray word among them is one line and exit 2, not run."""
    code, out, err = await run_cli(*argv)
    assert code == 2
    assert "unrecognized arguments: stray" in one_line(err)
    assert out == ""


@pytest.mark.asyncio
async def test_demo_runs_with_its_options_in_any_order(broker: BrokerInfo) -> None:
    code, out, err = await run_cli(
        "demo", "--no-faults", "--interval", "0.2", "--broker", broker.url, "--duration", "1",
        timeout=120,
    )  # fmt: skip
    assert code == 0, out[-2000:] + err
    assert "result: every message arrived" in out
