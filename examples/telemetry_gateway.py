"""A telemetry gateway: one supervised session publishes sensor readings through an NM28 and
keeps publishing through broker restarts, dropped links, module reboots and a pulled cable.

The session reconnects by itself; a reading published while the link is down waits (QoS 1,
bounded) and goes out once it is back, so none is lost. Only a lost port ends the modem; the
gateway then opens it again.

Against the virtual NM28 (`nm28 sim` prints the port of its broker):

    nm28 sim --tcp 127.0.0.1:7000 --drop-interval 5     # "broker mqtt://127.0.0.1:NNNN"
    python examples/telemetry_gateway.py socket://127.0.0.1:7000 --port NNNN --duration 30
    mosquitto_sub -h 127.0.0.1 -p NNNN -t 'gateway/#' -v  # what arrives

On a module: python examples/telemetry_gateway.py /dev/ttyUSB2 --host broker.example
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import sys

import anyio

import nm28_async as nm


def read_sensors(step: int) -> dict[str, float]:
    """Stands in for the gateway's field bus (Modbus, 1-Wire, ...)."""
    return {
        "temperature": round(21.0 + random.uniform(-0.5, 0.5), 2),
        "humidity": round(40.0 + step % 10, 1),
    }


async def show_states(session: nm.Session) -> None:
    async for change in session.states():
        print(f"link {change.state.value}: {change.reason}", flush=True)


async def publish_readings(session: nm.Session, args: argparse.Namespace) -> int:
    """Publish a reading every interval for `duration` seconds once connected; their count."""
    await session.wait_connected()
    published = 0
    with anyio.move_on_after(args.duration):
        while True:
            reading = json.dumps({"seq": published + 1, **read_sensors(published)})
            await session.publish(f"gateway/{args.client_id}/telemetry", reading, qos=1)
            published += 1
            print(f"published {reading}", flush=True)
            await anyio.sleep(args.interval)
    return published


async def main(args: argparse.Namespace) -> int:
    while True:
        try:
            async with (
                nm.Modem.open(args.serial) as modem,
                modem.session(
                    0, args.host, args.port, client_id=args.client_id, keepalive=60,
                    clean_session=False, backoff=nm.Backoff(initial=0.5, maximum=10),
                    poll_interval=10,
                ) as session,
                anyio.create_task_group() as tasks,
            ):  # fmt: skip
                tasks.start_soon(show_states, session)
                published = await publish_readings(session, args)
                tasks.cancel_scope.cancel()
            print(f"done: {published} readings published and acknowledged", flush=True)
            return 0
        except* nm.PortLostError as lost:  # the cable was pulled: open the port again
            print(f"modem gone ({lost.exceptions[0]}); opening it again", flush=True)
        await anyio.sleep(2)


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Publish sensor readings through an NM28.")
    parser.add_argument("serial", help="the module's port: /dev/ttyUSB2 or socket://HOST:PORT")
    parser.add_argument("--host", default="127.0.0.1", help="the broker (default: %(default)s)")
    parser.add_argument("--port", type=int, default=1883, help="its port (default: %(default)s)")
    parser.add_argument("--client-id", default="gw-1", help="MQTT client id (default: gw-1)")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between readings")
    parser.add_argument(
        "--duration", type=float, default=float("inf"), help="seconds to publish (default: ever)"
    )
    return parser.parse_args()


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(message)s")
    sys.exit(anyio.run(main, arguments()))
