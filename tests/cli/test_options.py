"""The `nm28` command's options and command lines, checked in process (no port, no broker):
readable errors in one line, help with defaults, broker URLs, and `nm28 at`'s line checks."""

from __future__ import annotations

import argparse

import pytest

from nm28_async.protocol import commands
from nm28_async.protocol.broker_url import BrokerUrl
from nm28_async.protocol.commands import ResultKey
from nm28_async.tools import cli
from nm28_async.tools.at_script import prepare
from nm28_async.tools.shell.common import EXIT_USAGE


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """`nm28 ARGV` in process, for arguments that end before anything runs."""
    with pytest.raises(SystemExit) as ended:
        cli.main(argv)
    out, err = capsys.readouterr()
    assert isinstance(ended.value.code, int)
    return ended.value.code, out, err


def subparsers() -> dict[str, argparse.ArgumentParser]:
    parser, _ = cli.build_parser()
    (action,) = (a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def test_every_option_says_what_it_does_and_its_default() -> None:
    for name, parser in subparsers().items():
        for action in parser._actions:
            if not action.option_strings or isinstance(action, argparse._HelpAction):
                continue
            assert action.help, (name, action.option_strings)
            assert "default" in action.help or "required" in action.help, (name, action.help)


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["--version"], capsys)
    assert code == 0
    assert out.startswith("nm28 0.")


@pytest.mark.parametrize(
    "argv",
    [
        ["sim", "--pty", "--network-latency", "abc"],
        ["sim", "--pty", "--command-latency", "-1"],
        ["sim", "--pty", "--noise-interval", "0"],
        ["sim", "--pty", "--drop-interval", "nan"],
        ["sim", "--pty", "--reboot-interval", "inf"],
        ["sim", "--pty", "--baudrate", "fast"],
        ["sim", "--tcp", "127.0.0.1:http"],
        ["sim", "--tcp", "127.0.0.1:70000"],
        ["demo", "--duration", "x"],
        ["demo", "--interval", "0"],
        ["at", "socket://h:1", "AT", "--timeout", "soon"],
        ["at", "socket://h:1", "AT", "--result-timeout", "-5"],
        ["at", "socket://h:1", "AT", "--baudrate", "0"],
    ],
    ids=lambda argv: " ".join(argv),
)
def test_a_bad_number_is_one_readable_line(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(argv, capsys)
    assert code == EXIT_USAGE
    assert err.count("\n") == 1
    assert "expected" in err
    assert "invalid" not in err  # argparse's "invalid _not_negative value"


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["sim", "--tcp", "999.1.1.1:5000"], "999.1.1.1 is not an IPv4 address"),
        (["sim", "--tcp", "[::g]:5000"], "not an IPv6 address"),
        (["sim", "--tcp", "bad host:5000"], "neither an IP address nor a host name"),
        (["sim", "--pty", "--broker", "garbage"], "expected mqtt://[user:password@]host"),
        (["sim", "--pty", "--broker", "mqtt://u:s3cret@h"], "takes no credentials"),
        (["demo", "--broker", "http://h:1883"], "expected mqtt://"),
        (["demo", "--broker", "mqtt://u:s3cret@h:99999"], "Port out of range"),
        (["sim"], "one of the arguments --pty --tcp is required"),
    ],
)
def test_bad_arguments_are_one_line_naming_the_problem(
    argv: list[str], said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(argv, capsys)
    assert code == EXIT_USAGE
    assert err.count("\n") == 1
    assert said in err
    assert "s3cret" not in err


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mqtt://broker", BrokerUrl("broker", 1883)),
        ("MQTT://broker:1884/", BrokerUrl("broker", 1884)),
        ("mqtts://broker", BrokerUrl("broker", 8883, tls=True)),
        ("mqtts://dev:p%40ss@broker:8884", BrokerUrl("broker", 8884, True, "dev", "p@ss")),
        ("mqtt://[::1]:1883", BrokerUrl("::1", 1883)),
    ],
)
def test_broker_urls(text: str, expected: BrokerUrl) -> None:
    url = BrokerUrl.parse(text)
    assert url == expected
    assert "p@ss" not in f"{url!r} {url}"


@pytest.mark.parametrize(
    "text",
    ["garbage", "broker:1883", "tcp://broker", "mqtt://", "mqtt://h/x", "mqtt://h?a=1",
     "mqtt://h:0", 'mqtt://u:a"b@h', "mqtt://h:1883#f"],
)  # fmt: skip
def test_not_broker_urls(text: str) -> None:
    with pytest.raises(ValueError, match=r"mqtt|port|broker"):
        BrokerUrl.parse(text)


@pytest.mark.parametrize(
    ("line", "key"),
    [
        ('AT+MQTTOPEN=0,"h",1883', ResultKey("MQTTOPEN", 0)),
        ('at+mqttsub=2,7,"t/#",1', ResultKey("MQTTSUB", 2, 7)),
        ('AT+MQTTCONN=1,"c","u","p"', ResultKey("MQTTCONN", 1)),
        ("AT+MQTTDISC=3", ResultKey("MQTTDISC", 3)),
        ("AT+CTWINGPOSTVER=0", ResultKey("CTWINGPOSTVER")),
        ("AT+MQTTOPEN?", None),
        ("AT+MQTTOPEN=?", None),
        ('AT+MQTTCFG="keepalive",0,60', None),
        ("AT+CSQ", None),
        ('AT+MQTTOPEN=x,"h",1', None),
        ('AT+MQTTSUB=0,x,"t",1', None),
        ('AT+MQTTOPEN=1234567,"h",1', None),
    ],
)
def test_the_result_line_a_typed_command_awaits(line: str, key: ResultKey | None) -> None:
    assert commands.raw(line).result == key


def test_at_lines_become_commands_with_their_payloads() -> None:
    csq, pub, sub = prepare(
        ["AT+CSQ", 'AT+MQTTPUBEX=0,9,1,0,0,"t",6', 'AT+MQTTSUB=0,3,"t",1'], ["héllo"]
    )
    assert (csq.line, csq.result, csq.payload) == (b"AT+CSQ\r", None, None)
    assert pub.result == ResultKey("MQTTPUBEX", 0, 9)
    assert pub.payload == "héllo".encode() + b"\x1a"
    assert sub.result == ResultKey("MQTTSUB", 0, 3)


@pytest.mark.parametrize(
    ("lines", "payloads", "said"),
    [
        (["AT", "AT+CSQ\r"], [], "control character"),
        (["AT", "CSQ"], [], "must start with 'AT'"),
        (['AT+MQTTPUBEX=0,1,0,0,0,"t",2'], [], "give its payload"),
        (['AT+MQTTPUBEX=0,1,0,0,0,"t",2'], ["abc"], "length 2, but the payload is 3 bytes"),
        (['AT+MQTTPUBEX=0,1,0,0,0,"t"'], ["ab"], r"expected AT\+MQTTPUBEX="),
        (['AT+MQTTPUBEX=0,1,3,0,0,"t",2'], ["ab"], "qos"),
        (['AT+MQTTPUBEX=0,1,0,2,0,"t",2'], ["ab"], "retain"),
        (['AT+MQTTPUBEX=0,1,0,0,0,"a/+",2'], ["ab"], "wildcards"),
        (["AT"], ["spare"], "left over"),
    ],
)
def test_bad_at_lines(lines: list[str], payloads: list[str], said: str) -> None:
    with pytest.raises(ValueError, match=said):
        prepare(lines, payloads)
