"""A telemetry gateway: one supervised session stores sensor readings in its durable outbox
and delivers them through an NM28, through broker restarts, dropped links, module reboots, a
pulled cable and a killed process.

Each reading is committed to the outbox file (`--outbox`) before the next is taken; the
session's sender publishes the stored readings in order (QoS 1) whenever the link is up, so
none is lost while the link is down, and a gateway killed and restarted on the same file
delivers what it had stored. Only a lost port ends the modem; the gateway then opens it again.

Against the virtual NM28 (`nm28 sim` prints the port of its broker):

    nm28 sim --tcp 127.0.0.1:7000 --drop-interval 5     # "broker mqtt://127.0.0.1:NNNN"
    python examples/telemetry_gateway.py socket://127.0.0.1:7000 --port NNNN --duration 30 \
        --outbox /tmp/telemetry.sqlite
    mosquitto_sub -h 127.0.0.1 -p NNNN -t 'gateway/#' -v  # what arrives

On a module: python examples/telemetry_gateway.py /dev/ttyUSB2 --host broker.example \
    --outbox /var/lib/gateway/outbox.sqlite
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


async def store_readings(
    session: nm.Session, args: argparse.Namespace, stored: int, deadline: float
) -> int:
    """Store a reading every interval until `deadline`; the count so far. Only the sleep is
    cut short at the end: a reading whose store was under way is counted, never half-kept."""
    while anyio.current_time() < deadline:
        reading = json.dumps({"seq": stored + 1, **read_sensors(stored)})
        await session.enqueue(f"gateway/{args.client_id}/telemetry", reading, qos=1)
        stored += 1
        print(f"stored {reading}", flush=True)
        await anyio.sleep(min(args.interval, max(0.0, deadline - anyio.current_time())))
    return stored


async def main(args: argparse.Namespace) -> int:
    deadline = anyio.current_time() + args.duration
    stored = 0
    while True:
        late: nm.Nm28TimeoutError | None = None
        try:
            async with (
                nm.Modem.open(args.serial) as modem,
                modem.session(
                    0, args.host, args.port, client_id=args.client_id, keepalive=60,
                    clean_session=False, backoff=nm.Backoff(initial=0.5, maximum=10),
                    poll_interval=10, outbox=args.outbox, outbox_size=100_000,
                ) as session,
                anyio.create_task_group() as tasks,
            ):  # fmt: skip
                tasks.start_soon(show_states, session)
                stored = await store_readings(session, args, stored, deadline)
                await session.flush(timeout=args.flush_timeout)
                tasks.cancel_scope.cancel()
            print(f"done: {stored} readings stored and delivered", flush=True)
            return 0
        except* nm.PortLostError as lost:  # the cable was pulled: open the port again
            print(f"modem gone ({lost.exceptions[0]}); opening it again", flush=True)
        except* nm.Nm28TimeoutError as timeouts:
            late = timeouts.exceptions[0]  # type: ignore[assignment]
        if late is not None:
            print(f"stopped ({late}); what is stored goes out on the next run", flush=True)
            return 1
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
    parser.add_argument(
        "--outbox", default=None, help="the outbox file (default: in memory, lost on exit)"
    )
    parser.add_argument(
        "--flush-timeout", type=float, default=60.0,
        help="seconds to wait at the end for stored readings to go out (default: 60)",
    )  # fmt: skip
    return parser.parse_args()


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(message)s")
    try:
        sys.exit(anyio.run(main, arguments()))
    except KeyboardInterrupt:  # Ctrl-C: what was stored stays in the outbox file
        sys.exit(130)
