"""The book of owed results alone: handles, the one-per-result-line rule, and single endings."""

from __future__ import annotations

from nm28_async.protocol import commands as c
from nm28_async.protocol.events import Final, FinalKind, ResultLine
from nm28_async.protocol.outcomes import Completed, ConversationEvent, Failed, Failure
from nm28_async.protocol.owed import Book, Stage

LOCAL = 5.0
NETWORK = 45.0
SUBSCRIBE = c.subscribe(0, 7, "a/b", 1)
SIGNAL = c.raw("AT+CSQ")
assert SUBSCRIBE.result is not None
SUBSCRIBE_KEY = SUBSCRIBE.result


class Ledger:
    """A book and what it emitted."""

    def __init__(self) -> None:
        self.emitted: list[ConversationEvent] = []
        self.book = Book(self.emitted.append)

    def submit(self, command: c.Command) -> int:
        return self.book.submit(command, local_timeout=LOCAL, network_timeout=NETWORK)

    def taken(self) -> list[ConversationEvent]:
        emitted = self.emitted[:]
        self.emitted.clear()
        return emitted


def test_handles_count_up_and_commands_queue_in_order() -> None:
    ledger = Ledger()
    first, second = ledger.submit(SIGNAL), ledger.submit(SUBSCRIBE)
    assert (first, second) == (1, 2)
    assert ledger.book.queued
    assert ledger.book.head.handle == first
    assert ledger.book.pop_next().handle == first
    assert ledger.book.pop_next().handle == second
    assert not ledger.book.queued
    assert ledger.taken() == []


def test_a_second_command_awaiting_the_same_result_line_is_busy() -> None:
    ledger = Ledger()
    ledger.submit(SUBSCRIBE)
    busy = ledger.submit(c.subscribe(0, 7, "c/d", 0))
    [event] = ledger.taken()
    assert isinstance(event, Failed)
    assert (event.handle, event.failure) == (busy, Failure.BUSY)
    assert event.detail == "a MQTTSUB for client 0 with message id 7 is already pending"
    ledger.book.pop_next()
    assert not ledger.book.queued  # the refused one was never queued


def test_another_message_id_or_client_is_not_busy() -> None:
    ledger = Ledger()
    ledger.submit(SUBSCRIBE)
    ledger.submit(c.subscribe(0, 8, "a/b", 1))
    ledger.submit(c.subscribe(1, 7, "a/b", 1))
    assert ledger.taken() == []


def test_an_ending_frees_the_result_line_for_the_next_command() -> None:
    ledger = Ledger()
    ledger.submit(SUBSCRIBE)
    ledger.book.finish(ledger.book.pop_next())
    ledger.submit(SUBSCRIBE)
    assert [type(e) for e in ledger.taken()] == [Completed]


def test_finish_reports_the_lines_and_the_result() -> None:
    ledger = Ledger()
    handle = ledger.submit(SIGNAL)
    exchange = ledger.book.pop_next()
    line = ResultLine("CSQ", ("20", "99"), "+CSQ: 20,99")
    exchange.lines.append(line)
    ledger.book.finish(exchange)
    assert ledger.taken() == [Completed(handle, (line,), None, None)]
    assert ledger.book.idle


def test_a_command_ends_once() -> None:
    ledger = Ledger()
    handle = ledger.submit(SIGNAL)
    exchange = ledger.book.pop_next()
    exchange.await_final(0.0)
    refused = Final(FinalKind.ERROR)
    ledger.book.fail(exchange, Failure.REFUSED, refused)
    ledger.book.finish(exchange)
    ledger.book.fail(exchange, Failure.TIMED_OUT)
    assert ledger.taken() == [Failed(handle, Failure.REFUSED, refused)]


def test_failing_a_queued_command_takes_it_off_the_queue() -> None:
    ledger = Ledger()
    handle = ledger.submit(SIGNAL)
    ledger.book.fail(ledger.book.head, Failure.UNSYNCHRONISED, detail="no AT")
    assert not ledger.book.queued
    assert ledger.taken() == [Failed(handle, Failure.UNSYNCHRONISED, None, "no AT")]


def test_cancelling_a_queued_command_drops_it_silently() -> None:
    ledger = Ledger()
    handle = ledger.submit(SUBSCRIBE)
    assert ledger.book.cancel(handle)
    assert not ledger.book.queued
    assert ledger.book.idle
    ledger.submit(SUBSCRIBE)  # its result line is free again
    assert ledger.taken() == []


def test_cancelling_a_written_command_keeps_it_but_forgets_its_caller() -> None:
    ledger = Ledger()
    handle = ledger.submit(SUBSCRIBE)
    exchange = ledger.book.pop_next()
    exchange.await_final(0.0)
    assert ledger.book.awaited(exchange)
    assert not ledger.book.cancel(handle)
    assert not ledger.book.awaited(exchange)
    assert ledger.book.claimant(SUBSCRIBE_KEY) is None
    ledger.book.finish(exchange)
    assert ledger.taken() == []


def test_cancelling_twice_or_an_unknown_handle_does_nothing() -> None:
    ledger = Ledger()
    handle = ledger.submit(SIGNAL)
    assert ledger.book.cancel(handle)
    assert not ledger.book.cancel(handle)
    assert not ledger.book.cancel(99)


def test_a_result_line_is_claimed_only_once_its_command_is_written() -> None:
    ledger = Ledger()
    ledger.submit(SUBSCRIBE)
    assert ledger.book.claimant(SUBSCRIBE_KEY) is None
    assert ledger.book.in_flight() == []
    exchange = ledger.book.pop_next()
    exchange.await_final(0.0)
    assert ledger.book.claimant(SUBSCRIBE_KEY) is exchange
    assert ledger.book.in_flight() == [exchange]


def test_only_a_result_awaited_after_ok_has_a_deadline() -> None:
    ledger = Ledger()
    ledger.submit(SUBSCRIBE)
    assert ledger.book.deadline() is None
    exchange = ledger.book.pop_next()
    exchange.await_final(0.0)
    assert exchange.deadline == NETWORK  # a network command: the network bounds its final
    assert ledger.book.deadline() is None  # the channel's deadline, not the book's
    exchange.await_result(1.0)
    assert exchange.stage is Stage.RESULT
    assert ledger.book.deadline() == 1.0 + NETWORK


def test_a_result_overdue_after_ok_fails_with_no_result() -> None:
    ledger = Ledger()
    handle = ledger.submit(SUBSCRIBE)
    exchange = ledger.book.pop_next()
    exchange.await_result(1.0)
    ledger.book.expire(1.0 + NETWORK - 0.001)
    assert ledger.taken() == []
    ledger.book.expire(1.0 + NETWORK)
    assert ledger.taken() == [Failed(handle, Failure.NO_RESULT, None, "no result line within 45 s")]
    assert ledger.book.deadline() is None
    assert ledger.book.idle


def test_a_publish_owes_its_prompt_within_the_local_timeout_and_longer() -> None:
    ledger = Ledger()
    ledger.submit(c.publish(0, 3, "t", b"x", qos=1))
    exchange = ledger.book.pop_next()
    exchange.await_prompt(2.0)
    assert exchange.stage is Stage.PROMPT
    assert exchange.deadline == 2.0 + LOCAL
    assert exchange.prompt_owed_until == 2.0 + NETWORK


def test_a_local_command_awaits_its_final_within_the_local_timeout() -> None:
    ledger = Ledger()
    ledger.submit(SIGNAL)
    exchange = ledger.book.pop_next()
    exchange.await_final(2.0)
    assert exchange.stage is Stage.FINAL
    assert exchange.final_timeout == LOCAL
    assert exchange.deadline == 2.0 + LOCAL
