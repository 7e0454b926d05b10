"""``manage.py run_monitor_gateway``: the MLLP listener bedside monitors send vitals to.

Each connection is served by the ``hl7`` package's asyncio MLLP server
(:func:`hl7.mllp.start_hl7_server`): one MLLP block in, one ACK out, in order. Parsing is pure
(:mod:`ketaclinic.infusions.hl7_feed`) and runs on the event loop; the database step runs on
one dedicated writer (SQLite has one writer at a time, and Django's connections are per thread),
so the loop keeps reading other monitors while a message is being stored: a thread by default,
or with ``--writer process`` a process forked at start, which lets parsing and storing use two
cores (measured in ``bench/monitor_gateway.py``: on a shared 2-core machine it did not beat the
thread, because the hand-over costs CPU too). Messages that arrive while the writer is busy are
stored together in one transaction (group commit, at most ``--batch`` messages; under load the
writer first waits up to ``--gather-ms`` for the other monitors' messages): chairs come from a
short-lived directory, the chairs' open sessions are read once and locked
(``actions.lock_device_sessions``), repeated control IDs come from one query, and every message
goes through ``actions.record_device_vitals_many``, which checks each message on its own (a
refused message writes nothing and does not touch the others), inserts vitals sets and alerts
in bulk and writes one audit event per session and device. If the batch's transaction fails,
its messages are stored again one transaction each. An ACK is sent only after the commit
that holds its message, so AA always means recorded.

How a monitor names its chair (PV1-3.1 location, PV1-3.3 chair) and which ACK answers what is
described in :mod:`ketaclinic.infusions.hl7_feed`. Every message is logged as a
:class:`~ketaclinic.infusions.models.MonitorMessage` (control ID, device, chair, session, ACK
code, reason, values recorded): never the raw message or anything from PID.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import logging
import multiprocessing
import signal
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import hl7  # type: ignore[import-untyped]
import hl7.mllp  # type: ignore[import-untyped]
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandParser
from django.db import DatabaseError, connections, transaction
from django.db.models import Q
from django.utils import timezone

from ketaclinic.clinics.models import Chair
from ketaclinic.infusions import actions, device_queries
from ketaclinic.infusions.hl7_feed import (
    ACCEPT,
    ERR_INTERNAL,
    ERR_UNKNOWN_KEY,
    ERROR,
    ERROR_MAX,
    REJECT,
    Header,
    ParsedMessage,
    Problem,
    build_ack,
    parse_message,
)
from ketaclinic.infusions.models import Alert, InfusionSession, MonitorMessage, ProtocolVersion, VitalSign, VitalSource
from ketaclinic.infusions.queries import active_session_for_chair

logger = logging.getLogger("ketaclinic.infusions.monitor")

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 2575  # the port IANA registered for HL7 over MLLP
DEFAULT_BATCH = 128  # the most a batch holds; under light load batches are as small as the queue
# Group commit under load, as PostgreSQL's commit_delay/commit_siblings: when the last batch held
# more than one message, the writer waits up to this long for the other connected monitors'
# messages before it starts the next batch, so their fixed cost (about ten statements) is
# shared by more messages. Under light load (one message at a time) it never waits.
DEFAULT_GATHER_MS = 5.0
WRITERS = ("thread", "process")  # where the database step runs (see Gateway)
DEFAULT_WRITER = "thread"
CLOCK_SKEW = timedelta(minutes=2)  # a monitor clock this far ahead is still believed
SHUTDOWN_GRACE_S = 10.0
# SQLite: the writer's commits leave copying the write-ahead log back into the database file to a
# checkpoint every this many seconds on a thread of its own (a PASSIVE checkpoint never blocks
# the writer). Left to the commits, that copy made a sustained feed's commits 2.4 ms dearer per
# batch. 0: the commits checkpoint as SQLite does by default.
CHECKPOINT_EVERY_S = 1.0
CHAIR_TTL_S = 5.0  # how long a PV1-3 → chair answer is reused
CHAIR_CACHE_MAX = 10_000  # PV1-3 values remembered at most (garbage cannot grow it without bound)


@dataclass(frozen=True)
class Outcome:
    """What the database step decided for one message (the ACK is built from it)."""

    ack_code: str
    text: str
    error: tuple[str, str] | None = None
    values_recorded: int = 0


NOT_STORED = Outcome(ERROR, "The message could not be stored; send it again.", ERR_INTERNAL)


# --- The database step (runs on the gateway's database thread) --------------------------------


def find_chair(point_of_care: str, bed: str) -> Chair | None:
    """PV1-3.1 is the location's pk or name, PV1-3.3 the chair's name (case-insensitive)."""
    where = Q(location__name__iexact=point_of_care)
    if point_of_care.isdigit():
        where |= Q(location_id=int(point_of_care))
    return (
        Chair.objects.select_related("location")
        .filter(where, name__iexact=bed, is_active=True, location__is_active=True)
        .order_by("pk")
        .first()
    )


class ChairDirectory:
    """PV1-3 → chair, remembered for ``ttl_s`` seconds (answers, not-found included): a monitor
    sends the same PV1-3 every few seconds, and a chair renamed, added or retired is seen within
    the TTL. Only the chair is remembered; its active session is looked up in every batch.
    It also keeps the protocol versions the writer has read (``versions``): a published version
    never changes, so each is read once."""

    def __init__(self, ttl_s: float = CHAIR_TTL_S, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s = ttl_s
        self._clock = clock
        self._known: dict[tuple[str, str], tuple[float, Chair | None]] = {}
        self.versions: dict[int, ProtocolVersion] = {}

    def find(self, point_of_care: str, bed: str) -> Chair | None:
        key = (point_of_care.casefold(), bed.casefold())
        now = self._clock()
        known = self._known.get(key)
        if known is not None and now < known[0]:
            return known[1]
        chair = find_chair(point_of_care, bed)
        if len(self._known) >= CHAIR_CACHE_MAX:
            self._known.clear()
            self.versions.clear()
        self._known[key] = (now + self.ttl_s, chair)
        return chair


def _localise(taken_at: datetime | None, chair: Chair, received_at: datetime) -> datetime:
    if taken_at is None:
        return received_at
    if timezone.is_naive(taken_at):  # a monitor's wall clock: the chair's local time
        return timezone.make_aware(taken_at, ZoneInfo(chair.location.time_zone))
    return taken_at


def _outside_session(times: Sequence[datetime], session: InfusionSession, received_at: datetime) -> str:
    for taken_at in times:
        if taken_at > received_at + CLOCK_SKEW:
            return "An observation time is in the future; check the monitor's clock."
        if taken_at < session.checked_in_at - CLOCK_SKEW:
            return "An observation time is before this session's check-in (a previous patient's reading?)."
    return ""


def _prepare(
    parsed: ParsedMessage, received_at: datetime, chair: Chair | None, session: InfusionSession | None
) -> Outcome | actions.DeviceMessage:
    """The answer for a message that cannot be recorded, or what to record for it (the checks
    that need its chair and session but no other query)."""
    problem = parsed.problem
    if problem is not None and problem.ack_code == REJECT:
        return Outcome(REJECT, problem.text, problem.error)
    if chair is None:
        text = f"No chair named '{parsed.bed}' at location '{parsed.point_of_care}' (PV1-3)."
        return Outcome(REJECT, text, ERR_UNKNOWN_KEY)
    if session is None:
        return Outcome(ERROR, f"No active infusion session on {chair.name}.", ERR_UNKNOWN_KEY)
    if problem is not None:
        return Outcome(problem.ack_code, problem.text, problem.error)
    readings = [
        actions.DeviceReading(
            values=r.values, taken_at=_localise(r.taken_at, chair, received_at), message_id=parsed.header.control_id
        )
        for r in parsed.readings
    ]
    outside = _outside_session([r.taken_at for r in readings], session, received_at)
    if outside:
        return Outcome(ERROR, outside, ERR_INTERNAL)
    return actions.DeviceMessage(session=session, readings=readings, device=parsed.header.device)


def _recorded(stored: list[tuple[VitalSign, list[Alert]]], message: actions.DeviceMessage) -> Outcome:
    alerts = sum(len(found) for _, found in stored)
    text = f"Recorded {len(stored)} vitals set(s); {alerts} alert(s)."
    return Outcome(ACCEPT, text, values_recorded=sum(len(r.values) for r in message.readings))


REPEATED = Outcome(ACCEPT, "Already recorded (repeated message).")


def _apply(parsed: ParsedMessage, received_at: datetime) -> tuple[Outcome, Chair | None, InfusionSession | None]:
    """One message on its own, with its own queries."""
    chair = session = None
    if parsed.problem is None or parsed.problem.ack_code != REJECT:
        chair = find_chair(parsed.point_of_care, parsed.bed)
        session = active_session_for_chair(chair.pk) if chair is not None else None
    prepared = _prepare(parsed, received_at, chair, session)
    if isinstance(prepared, Outcome):
        return prepared, chair, session
    control_id = parsed.header.control_id
    if (
        control_id
        and VitalSign.objects.filter(session=session, source=VitalSource.DEVICE, device_message_id=control_id).exists()
    ):
        return REPEATED, chair, session
    try:
        stored = actions.record_device_vitals(
            session=prepared.session, readings=prepared.readings, device=prepared.device
        )
    except ValidationError as exc:
        return Outcome(ERROR, " ".join(exc.messages), ERR_INTERNAL), chair, session
    return _recorded(stored, prepared), chair, session


def _record_one(parsed: ParsedMessage, received_at: datetime) -> Outcome:
    """One message in its own transaction: the path taken when a batch could not be stored."""
    with transaction.atomic():
        outcome, chair, session = _apply(parsed, received_at)
        actions.log_monitor_messages(
            [_log(parsed, received_at, outcome, chair.pk if chair else None, session.pk if session else None)]
        )
    return outcome


def _failed(parsed: ParsedMessage) -> Outcome:
    logger.exception("HL7 %s from %s could not be stored", parsed.header.control_id, parsed.header.device)
    return NOT_STORED


def _log(
    parsed: ParsedMessage, received_at: datetime, outcome: Outcome, chair_id: int | None, session_id: int | None
) -> MonitorMessage:
    if outcome.ack_code != ACCEPT:
        logger.warning(
            "HL7 %s from %s answered %s: %s",
            parsed.header.control_id,
            parsed.header.device,
            outcome.ack_code,
            outcome.text,
        )
    return MonitorMessage(
        received_at=received_at,
        control_id=parsed.header.control_id,
        device=parsed.header.device,
        chair_id=chair_id,
        session_id=session_id,
        ack_code=outcome.ack_code,
        error=outcome.text[:ERROR_MAX] if outcome.ack_code != ACCEPT else "",
        values_recorded=outcome.values_recorded,
    )


def _active_sessions(locked: actions.DeviceSessions) -> dict[int, InfusionSession]:
    """Each chair's active session among the locked ones (as ``queries.active_session_for_chair``
    chooses: the latest checked in)."""
    found: dict[int, InfusionSession] = {}
    for session, _ in sorted(locked.values(), key=lambda pair: pair[0].checked_in_at, reverse=True):
        if session.chair_id is not None:
            found.setdefault(session.chair_id, session)
    return found


def _repeats(items: Sequence[tuple[ParsedMessage, datetime]], pending: dict[int, actions.DeviceMessage]) -> set[int]:
    """The pending messages whose control ID is already charted on their session (one query)."""
    keys = {i: (m.session.pk, items[i][0].header.control_id) for i, m in pending.items()}
    charted = device_queries.charted_device_messages({key for key in keys.values() if key[1]})
    return {i for i, key in keys.items() if key in charted}


def _record_batch(items: Sequence[tuple[ParsedMessage, datetime]], chairs: ChairDirectory) -> list[Outcome]:
    """The batch in bulk: chairs from the directory, their open sessions locked once, repeats in
    one query, every valid message through ``actions.record_device_vitals_many`` (each checked on
    its own), the log in one insert. A message repeating a control ID seen earlier in the batch
    is decided after the others are stored, in its own savepoint, exactly as if it had arrived
    alone."""
    chair_of = {
        i: chairs.find(parsed.point_of_care, parsed.bed)
        for i, (parsed, _) in enumerate(items)
        if parsed.problem is None or parsed.problem.ack_code != REJECT
    }
    # The chairs' open sessions, locked once for the whole batch (status read under the lock).
    locked = actions.lock_device_sessions(
        open_on_chairs={c.pk for c in chair_of.values() if c is not None}, versions=chairs.versions
    )
    sessions = _active_sessions(locked)
    places: list[tuple[Chair | None, InfusionSession | None]] = []
    for i in range(len(items)):
        chair = chair_of.get(i)
        places.append((chair, sessions.get(chair.pk) if chair is not None else None))
    outcomes = [NOT_STORED] * len(items)
    pending: dict[int, actions.DeviceMessage] = {}
    for i, ((parsed, received_at), (chair, session)) in enumerate(zip(items, places, strict=True)):
        prepared = _prepare(parsed, received_at, chair, session)
        if isinstance(prepared, Outcome):
            outcomes[i] = prepared
        else:
            pending[i] = prepared

    fresh: dict[int, actions.DeviceMessage] = {}
    in_batch: set[tuple[int, str]] = set()
    later: list[int] = []
    repeats = _repeats(items, pending)
    for i, message in pending.items():
        key = (message.session.pk, items[i][0].header.control_id)
        if i in repeats:
            outcomes[i] = REPEATED
        elif key[1] and key in in_batch:
            later.append(i)  # the same message twice in one batch: decided once the first is stored
        else:
            in_batch.add(key)
            fresh[i] = message
    results = actions.record_device_vitals_many(list(fresh.values()), locked=locked) if fresh else []
    for (i, message), result in zip(fresh.items(), results, strict=True):
        if isinstance(result, ValidationError):
            outcomes[i] = Outcome(ERROR, " ".join(result.messages), ERR_INTERNAL)
        else:
            outcomes[i] = _recorded(result, message)
    for i in later:
        with transaction.atomic():
            outcomes[i] = _apply(*items[i])[0]

    actions.log_monitor_messages(
        [
            _log(parsed, received_at, outcome, chair.pk if chair else None, session.pk if session else None)
            for (parsed, received_at), outcome, (chair, session) in zip(items, outcomes, places, strict=True)
        ]
    )
    return outcomes


def record_messages(
    items: Sequence[tuple[ParsedMessage, datetime]], chairs: ChairDirectory | None = None
) -> list[Outcome]:
    """Store a batch of parsed messages in one transaction (bulk, each message checked on its
    own); if that transaction fails, store them one transaction each so one cannot sink the
    others."""
    try:
        with transaction.atomic():
            return _record_batch(items, chairs or ChairDirectory(ttl_s=0))
    except DatabaseError:
        logger.exception("A monitor batch of %d could not be stored together; storing one by one", len(items))
    outcomes = []
    for parsed, received_at in items:
        try:
            outcomes.append(_record_one(parsed, received_at))
        except DatabaseError:
            outcomes.append(_failed(parsed))
    return outcomes


def answer(parsed: ParsedMessage, outcome: Outcome, now: datetime | None = None) -> bytes:
    return build_ack(
        parsed.header,
        outcome.ack_code,
        outcome.text,
        error=outcome.error,
        now=now or timezone.now(),
        ack_id=hl7.generate_message_control_id(),
    )


def handle_message(raw: bytes | str) -> bytes:
    """Parse, store and answer one message synchronously (the gateway's work without the socket)."""
    parsed = parse_message(raw)
    return answer(parsed, record_messages([(parsed, timezone.now())])[0])


# --- Where the database step runs --------------------------------------------------------------

_writer_chairs: ChairDirectory | None = None  # the writer process's chair directory


def _start_writer_process() -> None:
    """First thing the forked writer process does. It takes no signals: Ctrl-C reaches the whole
    process group and a service manager may signal every process of the service, but only the
    gateway decides when the writer stops (after the last batch, by shutting its pool down).
    The asyncio wake-up descriptor it inherited belongs to the gateway's loop; the gateway
    closed its database connections before forking, so this process opens its own."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.set_wakeup_fd(-1)
    global _writer_chairs  # noqa: PLW0603 - one directory per writer process
    _writer_chairs = ChairDirectory()


def _store_batch(
    items: Sequence[tuple[ParsedMessage, datetime]], chairs: ChairDirectory | None, manual_checkpoints: bool
) -> list[Outcome]:
    """The writer's step, in the thread or the writer process (``chairs`` None: the process's own
    directory, which cannot be handed over)."""
    if manual_checkpoints:
        _leave_checkpoints_to_the_gateway()
    return record_messages(items, chairs if chairs is not None else _writer_chairs)


def _writer_ready() -> bool:
    return True


def _close_connections() -> None:
    connections.close_all()


def _leave_checkpoints_to_the_gateway() -> None:
    """SQLite: this connection's commits no longer copy the write-ahead log back (the gateway's
    checkpointer does, beside them). Set on every batch: cheap, and a reopened connection is
    covered too; without the checkpointer (tests, other callers) nothing calls this."""
    connection = connections["default"]
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA wal_autocheckpoint=0")


def _checkpoint() -> None:
    with connections["default"].cursor() as cursor:
        cursor.execute("PRAGMA wal_checkpoint(PASSIVE)")


# --- The asyncio MLLP server -------------------------------------------------------------------


class Gateway:
    """The MLLP server and its database writer. ``batch`` caps how many queued messages share one
    transaction (1: one transaction per message).

    ``writer`` says where the database step runs: ``"thread"``, one thread of this process
    (the event loop and the writer then share one interpreter lock, so one core), or
    ``"process"``, one process forked at start (Linux), so parsing and answering on the event
    loop and storing in the writer can use two cores (at the price of pickling each batch).
    Each batch is handed to the writer whole and its outcomes come back after its commit, so in
    both an ACK is sent only after the commit that holds its message. A writer process that dies (killed, out of memory) answers its
    batch AE ("send it again"; a repeat of a stored message is recognised by its control ID)
    and is replaced."""

    def __init__(
        self,
        *,
        batch: int = DEFAULT_BATCH,
        writer: str = DEFAULT_WRITER,
        checkpoint_every_s: float = CHECKPOINT_EVERY_S,
        gather_ms: float = DEFAULT_GATHER_MS,
    ) -> None:
        if writer not in WRITERS:
            raise ValueError(f"writer must be one of {', '.join(WRITERS)}, not {writer!r}")
        self.batch = max(1, batch)
        self.writer = writer
        self.gather_s = max(0.0, gather_ms) / 1000
        self._last_batch = 0
        self._wanted = 0  # while gathering: how many queued messages end the wait
        self._gathered = asyncio.Event()
        # Checkpoints on a thread of their own, for SQLite only (PostgreSQL has no such step).
        # (Read from the settings: touching the connection here would open it on the event loop.)
        sqlite = connections.settings["default"]["ENGINE"].endswith("sqlite3")
        self.checkpoint_every_s = checkpoint_every_s if sqlite else 0.0
        self._checkpointer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="monitor-checkpoint")
        self._checkpoints: asyncio.Task[None] | None = None
        self._chairs = ChairDirectory()
        self._executor = self._new_executor()
        self._queue: asyncio.Queue[tuple[ParsedMessage, datetime, asyncio.Future[Outcome]]] = asyncio.Queue()
        self._clients: set[asyncio.Task[Any]] = set()
        self._in_flight = 0
        self._closing = False
        self._server: asyncio.Server | None = None
        self._writer: asyncio.Task[None] | None = None

    def _new_executor(self) -> Executor:
        if self.writer == "process":
            return ProcessPoolExecutor(
                max_workers=1, mp_context=multiprocessing.get_context("fork"), initializer=_start_writer_process
            )
        return ThreadPoolExecutor(max_workers=1, thread_name_prefix="monitor-db")

    def _store(self, items: Sequence[tuple[ParsedMessage, datetime]]) -> Callable[[], list[Outcome]]:
        chairs = None if self.writer == "process" else self._chairs
        return functools.partial(_store_batch, items, chairs, self.checkpoint_every_s > 0)

    async def _checkpoint_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self.checkpoint_every_s)
            try:
                await loop.run_in_executor(self._checkpointer, _checkpoint)
            except Exception:  # a failed checkpoint is retried next time; SQLite's log only grows
                logger.exception("WAL checkpoint failed")

    async def start(self, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> tuple[str, int]:
        if self.writer == "process":
            # Fork now, with no database connection open here (this process never uses one while
            # the writer runs), and fail at start rather than on the first message.
            connections.close_all()
            await asyncio.get_running_loop().run_in_executor(self._executor, _writer_ready)
        self._writer = asyncio.create_task(self._write_loop())
        if self.checkpoint_every_s > 0:
            self._checkpoints = asyncio.create_task(self._checkpoint_loop())
        self._server = await hl7.mllp.start_hl7_server(self._serve_client, host, port)
        bound: tuple[str, int] = self._server.sockets[0].getsockname()[:2]
        return bound

    async def submit(self, parsed: ParsedMessage) -> bytes:
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self._in_flight += 1
        try:
            self._queue.put_nowait((parsed, timezone.now(), future))
            if self._wanted and self._queue.qsize() >= self._wanted:
                self._gathered.set()
            outcome = await future
        finally:
            self._in_flight -= 1
        return answer(parsed, outcome)

    async def _serve_client(self, reader: Any, writer: Any) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._clients.add(task)
        try:
            while not self._closing:
                try:
                    block = await reader.readblock()
                    parsed = parse_message(block)
                except asyncio.IncompleteReadError:
                    break  # the monitor closed the connection
                except (hl7.mllp.InvalidBlockError, ValueError) as exc:
                    parsed = ParsedMessage(
                        header=Header(), problem=Problem(REJECT, f"Bad MLLP block: {str(exc)[:80]}", ERR_INTERNAL)
                    )
                ack = await self.submit(parsed)
                writer.writeblock(ack)
                await writer.drain()
        except ConnectionError as exc:
            logger.info("Monitor connection dropped: %s", exc.__class__.__name__)
        finally:
            if task is not None:
                self._clients.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _gather(self) -> None:
        """Under load (the last batch held more than one message), wait up to ``gather_s`` until
        every other connected monitor's message is queued (or a full batch is): in original mode
        each monitor has at most one message unanswered, so more cannot come."""
        wanted = min(self.batch, len(self._clients)) - 1  # besides the message already taken
        if self.gather_s <= 0 or self._last_batch <= 1 or self._queue.qsize() >= wanted:
            return
        self._wanted = wanted
        self._gathered.clear()
        try:
            await asyncio.wait_for(self._gathered.wait(), self.gather_s)
        except TimeoutError:
            pass  # store what has come
        finally:
            self._wanted = 0

    async def _write_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = [await self._queue.get()]
            await self._gather()
            while len(batch) < self.batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            self._last_batch = len(batch)
            items = [(parsed, received_at) for parsed, received_at, _ in batch]
            try:
                outcomes = await loop.run_in_executor(self._executor, self._store(items))
            except BrokenProcessPool:
                logger.exception("The monitor writer process died; starting a new one")
                outcomes = [NOT_STORED] * len(batch)
                self._executor.shutdown(wait=False)
                self._executor = self._new_executor()
            except Exception:  # never let one batch stop the gateway
                logger.exception("Monitor batch failed")
                outcomes = [NOT_STORED] * len(batch)
            for (_, _, future), outcome in zip(batch, outcomes, strict=True):
                if not future.done():
                    future.set_result(outcome)

    async def close(self, grace_s: float = SHUTDOWN_GRACE_S) -> None:
        """Stop listening, let messages already received be stored and answered, then close."""
        self._closing = True
        if self._server is not None:
            self._server.close()
        deadline = time.monotonic() + grace_s
        while self._in_flight and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        for task in list(self._clients):
            task.cancel()
        if self._clients:
            await asyncio.gather(*self._clients, return_exceptions=True)
        if self._writer is not None:
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer
        with contextlib.suppress(BrokenProcessPool):
            await asyncio.get_running_loop().run_in_executor(self._executor, _close_connections)
        self._executor.shutdown(wait=True)
        if self._checkpoints is not None:
            self._checkpoints.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._checkpoints
            # A last checkpoint, so the log is copied back when the gateway stops.
            with contextlib.suppress(DatabaseError):
                await asyncio.get_running_loop().run_in_executor(self._checkpointer, _checkpoint)
        await asyncio.get_running_loop().run_in_executor(self._checkpointer, _close_connections)
        self._checkpointer.shutdown(wait=True)


async def serve(  # noqa: PLR0913 - the command's options
    host: str,
    port: int,
    *,
    batch: int,
    ready: Callable[[str, int], None],
    writer: str = DEFAULT_WRITER,
    gather_ms: float = DEFAULT_GATHER_MS,
) -> None:
    """Run the gateway until SIGINT or SIGTERM, then shut down gracefully."""
    gateway = Gateway(batch=batch, writer=writer, gather_ms=gather_ms)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    bound = await gateway.start(host, port)
    ready(*bound)
    try:
        await stop.wait()
    finally:
        await gateway.close()


class Command(BaseCommand):
    help = "Listen for HL7 v2 ORU^R01 messages from bedside monitors over MLLP and chart their vitals."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=DEFAULT_HOST, help=f"address to listen on (default {DEFAULT_HOST})")
        parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"TCP port (default {DEFAULT_PORT})")
        parser.add_argument(
            "--batch",
            type=int,
            default=DEFAULT_BATCH,
            help=f"most queued messages stored in one transaction (default {DEFAULT_BATCH}; 1 = one each)",
        )
        parser.add_argument(
            "--writer",
            choices=WRITERS,
            default=DEFAULT_WRITER,
            help=f"where the database step runs: a thread, or a forked process (two cores) (default {DEFAULT_WRITER})",
        )
        parser.add_argument(
            "--gather-ms",
            type=float,
            default=DEFAULT_GATHER_MS,
            help=(
                "under load, how long the writer waits for the other monitors' messages before a batch "
                f"(default {DEFAULT_GATHER_MS:g}; 0 = never)"
            ),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        def ready(host: str, port: int) -> None:
            self.stdout.write(f"Monitor gateway listening on {host}:{port} (MLLP). Ctrl-C stops it.")
            self.stdout.flush()

        # Everything loaded so far (Django, the models, the hl7 package) lives as long as the
        # process: keep it out of the cyclic collector's full passes, which otherwise walk it
        # again and again as batches allocate (about 1 ms a 64-message batch, measured).
        gc.freeze()
        asyncio.run(
            serve(
                options["host"],
                options["port"],
                batch=options["batch"],
                ready=ready,
                writer=options["writer"],
                gather_ms=options["gather_ms"],
            )
        )
        self.stdout.write("Monitor gateway stopped.")
