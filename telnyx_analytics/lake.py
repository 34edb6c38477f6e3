"""A local Parquet lake of one account's records, kept current by :func:`sync`.

Layout (docs/large-accounts.md)::

    DIR/_manifest.json                         what each kind and day holds
    DIR/.lock                                  held by the one sync running
    DIR/<kind>/date=YYYY-MM-DD/part-0.parquet  the records of one UTC day

One hive-partitioned Parquet dataset per kind (``mdrs``, ``cdrs``, ``wdrs``, and
``detail:<record type>`` for the Detail Record Search API's types), partitioned
by the UTC day of the record's own time, readable by pyarrow, pandas, DuckDB, Polars and
Dask without this package. Money is stored as exact integer micro-units
(``<column>_micros``, int64, 1e-6 of the row's ``currency``) so that every engine sums it
exactly and vectorised; :func:`read` gives back the fetcher's columns and dtypes.

The guarantees: a day's file is written to a hidden temporary name, flushed to disk and
renamed into place, and the manifest changes only after that; records are deduplicated
by id within a day; a day is *settled* once it was fetched after its settle horizon
(:data:`KINDS`), and settled days are never requested again; a rerun over a settled
window changes no byte; one account per lake; one sync at a time (a lock).

>>> import telnyx_analytics as tx
>>> from telnyx_analytics.sandbox import serve
>>> import tempfile
>>> yesterday = pd.Timestamp.now(tz="UTC").date() - pd.Timedelta(days=1)
>>> with serve(seed=1, days=3, report_delay=0.1) as sb, tempfile.TemporaryDirectory() as d:
...     c = tx.Client("KEY_DOC", sb.base_url, cache=False, progress=False)
...     done = tx.sync(d, ["mdrs"], start=yesterday, client=c)
...     back = tx.lake.read(d, "mdrs")
>>> sorted(set(done["action"])), len(back) == int(done["rows"].sum())
(['written'], True)
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import fcntl
import hashlib
import json
import logging
import os
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from . import _catalog, _frames, _money, records, reports
from ._client import Client, get_client
from ._dates import Moment, window
from ._progress import progress_bar
from .errors import TelnyxAnalyticsError

if TYPE_CHECKING:
    import dask.dataframe as dd

__all__ = [
    "DEFAULT_KINDS",
    "KINDS",
    "LakeAccountError",
    "LakeError",
    "LakeKind",
    "LakeLockedError",
    "ManifestError",
    "read",
    "rebuild_manifest",
    "sync",
    "sync_arguments",
]

log = logging.getLogger("telnyx_analytics.lake")

MANIFEST = "_manifest.json"
LOCK = ".lock"
DAY_FILE = "part-0.parquet"
MICROS_SUFFIX = "_micros"
FORMAT = 1  # the manifest's format version
_TMP_PREFIX = ".tmp-"  # a leading dot: pyarrow, DuckDB, Polars and Dask skip such files
#: Rows a Dask partition of :func:`read` aims at (whole days; a bigger day stands alone).
PARTITION_ROWS = 1_000_000
_DEFAULT_DAYS = 30  # a new lake without start= covers the last 30 days


def _now() -> pd.Timestamp:
    """The lake's idea of now (UTC), which decides what has settled. One function, so
    that a test or the benchmark can run a sync as of another day (a day later)."""
    return pd.Timestamp.now(tz="UTC")


# -- errors -----------------------------------------------------------------------------------


class LakeError(TelnyxAnalyticsError):
    """A lake that cannot be used as asked (see the subclasses)."""


class LakeLockedError(LakeError):
    """Another sync holds the lake's lock."""


class LakeAccountError(LakeError):
    """The lake holds another account's records."""


class ManifestError(LakeError):
    """The manifest is missing where files exist, unreadable or inconsistent."""


# -- kinds ------------------------------------------------------------------------------------


def _fetch_mdrs(start: pd.Timestamp, end: pd.Timestamp, client: Client) -> pd.DataFrame:
    return records.mdrs(start, end, client=client)


def _fetch_wdrs(start: pd.Timestamp, end: pd.Timestamp, client: Client) -> pd.DataFrame:
    return records.wdrs(start, end, client=client)


def _fetch_cdrs(start: pd.Timestamp, end: pd.Timestamp, client: Client) -> pd.DataFrame:
    # max_age=0: a lake wants the records as they are now, never a report kept from before.
    return reports.read("cdr_detail", start=start, end=end, max_age=0, client=client)


@dataclass(frozen=True)
class LakeKind:
    """How one kind of record is fetched into the lake and read back.

    ``settle`` is the horizon after which a day's records no longer change: a day fetched
    at least that long after its end is settled and never requested again. ``chunk_days``
    is how many days one request (or one report) covers.
    """

    name: str
    schema: str  # the _frames schema of the fetcher's frame
    time: str  # the record's own time: its UTC day is its partition
    id: str  # deduplication key within a day
    settle: pd.Timedelta
    chunk_days: int
    fetch: Callable[[pd.Timestamp, pd.Timestamp, Client], pd.DataFrame]


#: The kinds a lake keeps, by name. Settle horizons: Telnyx warns that an MDR report whose
#: end falls within the last 4 hours may miss records still waiting for a delivery
#: receipt, so a day of MDRs settles 6 hours after it ends; a CDR exists once its call has
#: ended and a WDR once its data session has closed (sessions run up to a day), so those
#: settle 24 hours after the day ends. MDRs and WDRs are paged per day (bounded memory,
#: one day in flight); CDRs come from the asynchronous report, one report per 7 days.
KINDS: dict[str, LakeKind] = {
    k.name: k
    for k in (
        LakeKind("mdrs", "mdr", "created_at", "id", pd.Timedelta(hours=6), 1, _fetch_mdrs),
        LakeKind("cdrs", "cdr_detail", "start_timestamp_utc", "call_leg_id",
                 pd.Timedelta(hours=24), 7, _fetch_cdrs),
        LakeKind("wdrs", "wdr", "created_at", "id", pd.Timedelta(hours=24), 1, _fetch_wdrs),
    )
}
#: The kinds synced when none are named.
DEFAULT_KINDS = tuple(KINDS)


def _detail_kind(record_type: str) -> LakeKind:
    """The lake kind ``detail:<record_type>`` of the Detail Record Search API: a day of
    records under the type's own time field, paged per day. Telnyx documents no delay
    for these records, so they get the longest horizon of the other kinds (24 hours)."""
    row = _catalog.DETAIL_TYPES[record_type]

    def fetch(start: pd.Timestamp, end: pd.Timestamp, client: Client) -> pd.DataFrame:
        return records.detail_records(record_type, start, end, client=client)

    return LakeKind(f"detail:{record_type}", row.schema, row.time_field, row.id_field,
                    pd.Timedelta(hours=24), 1, fetch)


KINDS.update({k.name: k for k in map(_detail_kind, _catalog.DETAIL_TYPES)})
_KIND_NAMES = (f"{', '.join(DEFAULT_KINDS)}, or detail:<record type> "
               f"({', '.join(_catalog.DETAIL_TYPES)})")


def _kind(name: Any) -> LakeKind:
    if name not in KINDS:
        raise ValueError(f"kind must be one of {_KIND_NAMES}; got {name!r}")
    return KINDS[name]


def _kinds(kinds: str | Sequence[str] | None) -> list[LakeKind]:
    if kinds is None:
        return [KINDS[k] for k in DEFAULT_KINDS]
    if isinstance(kinds, str):
        kinds = [k.strip() for k in kinds.split(",") if k.strip()]
    if not isinstance(kinds, Sequence) or not kinds:
        raise ValueError(f"kinds must be None or a list of {_KIND_NAMES}; got {kinds!r}")
    return [_kind(k) for k in dict.fromkeys(kinds)]


# -- files ------------------------------------------------------------------------------------


def day_path(root: Path, kind: str, day: dt.date) -> Path:
    """Where the records of ``kind`` on ``day`` live: ``root/kind/date=YYYY-MM-DD/part-0``."""
    return root / kind / f"date={day.isoformat()}" / DAY_FILE


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_atomic(target: Path, write: Callable[[Path], object]) -> bool:
    """Write ``target`` through ``write(tmp)``, flushed to disk and renamed into place.

    Readers see the old file or the new one, never a part. When the file on disk already
    holds exactly the new bytes it is left alone (its bytes and times unchanged) and the
    answer is ``False``.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f"{_TMP_PREFIX}{uuid.uuid4().hex}-{target.name}"
    try:
        write(tmp)
        if target.exists() and _sha256(tmp) == _sha256(target):
            return False
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    _fsync_dir(target.parent)
    return True


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _to_table(frame: pd.DataFrame, schema: str) -> pa.Table:
    """The fetcher's frame as the lake's Arrow table: money as ``<name>_micros`` int64.

    Which columns are money comes from the kind's schema, not from a dtype: any
    representation of money in frames goes through ``_money`` to the same integers.
    """
    money = {name for name in frame.columns if _frames.schema(schema).kind(str(name)) == "money"}
    columns: dict[str, pa.Array] = {}
    for name in frame.columns:
        col = frame[name]
        if name in money:
            micros, valid = _money.to_micros(col, str(name))
            columns[f"{name}{MICROS_SUFFIX}"] = pa.array(micros, pa.int64(), mask=~valid)
        else:
            arr = pa.Array.from_pandas(col)
            if pa.types.is_dictionary(arr.type):
                # The day's own values in order of appearance, as a fetch of that day gives
                # them (a chunk's frame carries the categories of every day in it).
                arr = arr.dictionary_decode().dictionary_encode()
            columns[str(name)] = arr
    return pa.table(columns)


def _from_table(table: pa.Table) -> pd.DataFrame:
    """The lake's Arrow table back as the fetcher's frame (dtypes from ``_frames``)."""
    money = [n for n in table.column_names
             if n.endswith(MICROS_SUFFIX) and pa.types.is_integer(table.schema.field(n).type)]
    micros = {n: table.column(n).combine_chunks() for n in money}
    frame = _frames.table_to_frame(table.drop_columns(money))
    # Put each money column back where it was, under its own name.
    for position, name in sorted((table.column_names.index(n), n) for n in money):
        arr = micros[name]
        if arr.null_count == 0:
            valid, values = None, arr.to_numpy()  # the common case: no copy
        else:
            valid = np.asarray(arr.is_valid())
            values = arr.fill_null(0).to_numpy(zero_copy_only=False)
        frame.insert(position, name[: -len(MICROS_SUFFIX)],
                     _money.money_series(values, frame.index, valid))
    return frame


def _write_day(path: Path, frame: pd.DataFrame, schema: str) -> bool:
    """Write one day's records; ``False`` when the file already held exactly them."""
    table = _to_table(frame, schema).replace_schema_metadata(None)
    # Fixed writer settings, and no pandas metadata: the same rows give the same bytes.
    return _write_atomic(path, lambda tmp: pq.write_table(
        table, tmp, compression="zstd", write_statistics=True))


# -- the manifest -----------------------------------------------------------------------------


def _manifest_path(root: Path) -> Path:
    return root / MANIFEST


def _load_manifest(root: Path) -> dict[str, Any]:
    path = _manifest_path(root)
    rebuild = (f"rebuild it from the files with tx.lake.rebuild_manifest({str(root)!r}) "
               f"(or: telnyx-analytics sync {root} --rebuild-manifest)")
    if not path.exists():
        if any((root / k).is_dir() for k in KINDS):
            raise ManifestError(f"{root}: day files exist but {MANIFEST} is missing; {rebuild}")
        return {"format": FORMAT, "account": None, "kinds": {}}
    try:
        manifest: dict[str, Any] = json.loads(path.read_text("utf-8"))
        if manifest.get("format") != FORMAT or not isinstance(manifest.get("kinds"), dict):
            raise ValueError("not a lake manifest of format 1")
        for kind, days in manifest["kinds"].items():
            _kind(kind)
            for day, entry in days.items():
                dt.date.fromisoformat(day)
                int(entry["rows"]), str(entry["sha256"]), bool(entry["settled"])
    except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
        raise ManifestError(f"{path} is damaged ({exc}); {rebuild}") from None
    return manifest


def _save_manifest(root: Path, manifest: dict[str, Any]) -> None:
    text = json.dumps(manifest, indent=1, sort_keys=True) + "\n"
    path = _manifest_path(root)
    if path.exists() and path.read_text("utf-8") == text:
        return  # nothing changed: keep the file's bytes (and its time) as they are
    _write_atomic(path, lambda tmp: tmp.write_text(text, "utf-8"))


def rebuild_manifest(path: str | os.PathLike[str], *,
                     client: Client | None = None) -> dict[str, Any]:  # fmt: skip
    """Rebuild a lost or damaged manifest from the day files that are on disk.

    Every day file is read back (rows, content hash); every day is marked *not settled*,
    so the next :func:`sync` fetches the days of its window again and settles them.

    Parameters
    ----------
    path : path
        The lake's directory.
    client : Client, optional
        The account the lake belongs to (its fingerprint is recorded). Default: the
        module-wide client.

    Returns
    -------
    dict
        The new manifest (also written to ``path/_manifest.json``).

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     client = Client("KEY_DOC", "http://127.0.0.1:9/v2", cache=False)
    ...     rebuild_manifest(d, client=client)["kinds"]
    {}
    """
    root = Path(path)
    client = get_client(client)
    with _locked(root):
        manifest: dict[str, Any] = {"format": FORMAT, "account": client.account, "kinds": {}}
        for kind in KINDS:
            for file in sorted((root / kind).glob(f"date=*/{DAY_FILE}")):
                day = file.parent.name.removeprefix("date=")
                entry = {"rows": pq.read_metadata(file).num_rows, "sha256": _sha256(file),
                         "fetched_at": None, "settled": False}  # fmt: skip
                manifest["kinds"].setdefault(kind, {})[day] = entry
        _save_manifest(root, manifest)
    log.info("lake %s: manifest rebuilt from %d day files", root,
             sum(len(d) for d in manifest["kinds"].values()))
    return manifest


@contextlib.contextmanager
def _locked(root: Path) -> Iterator[None]:
    """Hold the lake's lock (an advisory ``flock``, released by the OS if the holder dies)."""
    root.mkdir(parents=True, exist_ok=True)
    fd = os.open(root / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise LakeLockedError(f"{root}: another sync is running on this lake; wait "
                                      f"for it to finish") from None
            raise
        _remove_leftovers(root)
        yield
    finally:
        os.close(fd)


def _remove_leftovers(root: Path) -> None:
    """Delete temporary files a killed sync left behind (only ever called under the lock)."""
    for kind in KINDS:
        for tmp in (root / kind).glob(f"date=*/{_TMP_PREFIX}*"):
            tmp.unlink(missing_ok=True)
    for tmp in root.glob(f"{_TMP_PREFIX}*"):
        tmp.unlink(missing_ok=True)


# -- sync -------------------------------------------------------------------------------------


def _days(lo: dt.date, hi: dt.date) -> list[dt.date]:
    return [lo + dt.timedelta(days=i) for i in range((hi - lo).days + 1)]


def _chunks(days: list[dt.date], size: int) -> list[list[dt.date]]:
    """Runs of consecutive days, each at most ``size`` long."""
    chunks: list[list[dt.date]] = []
    for day in days:
        last = chunks[-1] if chunks else None
        if last and len(last) < size and (day - last[-1]).days == 1:
            last.append(day)
        else:
            chunks.append([day])
    return chunks


def _day_start(day: dt.date) -> pd.Timestamp:
    return pd.Timestamp(day, tz="UTC")


def _dedupe(frame: pd.DataFrame, id_column: str) -> pd.DataFrame:
    if frame[id_column].duplicated().any():
        # The last answer for an id is the newest (a status that moved on); keep its place.
        frame = frame.drop_duplicates(id_column, keep="last")
    return frame.reset_index(drop=True)


def _split_days(frame: pd.DataFrame, kind: LakeKind,
                days: list[dt.date]) -> dict[dt.date, pd.DataFrame]:  # fmt: skip
    day_of = frame[kind.time].dt.tz_convert("UTC").dt.floor("D")
    out = {}
    for day in days:
        part = frame[(day_of == _day_start(day)).to_numpy(dtype=bool)]
        out[day] = _dedupe(part, kind.id)
    return out


def sync_arguments(
    path: str | os.PathLike[str],
    kinds: str | Sequence[str] | None = None,
    start: Moment | None = None,
    end: Moment | None = None,
) -> tuple[Path, list[LakeKind], pd.Timestamp | None, pd.Timestamp | None]:
    """The arguments of :func:`sync`, checked and resolved, before anything is sent.

    :func:`sync` starts with this; the command line calls it before it builds a client,
    so that a bad argument is a usage error and anything :func:`sync` raises afterwards
    is a failure (the lake's requests may have been sent by then).

    Returns
    -------
    tuple
        ``(root, kinds, start, end)``: the lake's directory, the :data:`KINDS` entries in
        the order given, and the window in UTC (``None`` for an open end).

    Raises
    ------
    ValueError, TypeError
        An unknown kind, a window the fetchers would refuse, or a ``path`` that is a
        file; the message names the argument.

    Examples
    --------
    >>> root, kinds, start, end = sync_arguments("/tmp/lake", "mdrs,wdrs", "2024-05-01")
    >>> [k.name for k in kinds], str(start), end
    (['mdrs', 'wdrs'], '2024-05-01 00:00:00+00:00', None)
    """
    chosen = _kinds(kinds)
    lo, hi = window(start, end, required=False)
    root = Path(path)
    if root.exists() and not root.is_dir():
        raise ValueError(f"path must be a directory (or not exist yet); {root} is a file")
    return root, chosen, lo, hi


def sync(
    path: str | os.PathLike[str],
    kinds: str | Sequence[str] | None = None,
    start: Moment | None = None,
    end: Moment | None = None,
    *,
    client: Client | None = None,
    progress: bool | None = None,
) -> pd.DataFrame:
    """Bring the lake at ``path`` up to date for ``kinds`` over ``[start, end]``.

    Only days that are missing or not yet settled are fetched; settled days are never
    requested again. Each day's file is replaced whole and atomically, and the manifest
    is written after the files it describes, so a sync killed at any point and run again
    ends with exactly the rows of an uninterrupted one.

    Parameters
    ----------
    path : path
        The lake's directory (created if missing).
    kinds : list of str or str, optional
        Any of ``"mdrs"``, ``"cdrs"``, ``"wdrs"`` (a list or ``"mdrs,cdrs"``; default
        these three), or ``"detail:<record type>"`` for a type of :func:`detail_records`
        (``"detail:verify"``, ``"detail:call-control"``, ...), partitioned by the UTC
        day of the type's own time field.
    start, end : str, date, datetime or Timestamp, optional
        The window, in whole UTC days, in the fetchers' vocabulary (naive values are
        UTC). Default start: the lake's first day of that kind, or 30 days ago for a new
        lake; default end: now.
    client : Client, optional
        Default: the module-wide client. The lake belongs to its account.
    progress : bool, optional
        A progress bar over the chunks; default the client's setting.

    Returns
    -------
    DataFrame
        One row per kind and day: ``kind``, ``date``, ``rows``, ``action`` (``"written"``:
        fetched and the file changed; ``"unchanged"``: fetched, same records, file left
        alone; ``"skipped"``: settled before, not requested) and ``settled``.

    Raises
    ------
    LakeLockedError
        Another sync holds the lake.
    LakeAccountError
        The lake holds another account's records.
    ManifestError
        The manifest is damaged (rebuild it with :func:`rebuild_manifest`).

    Examples
    --------
    >>> sync("/tmp/lake", ["vdrs"])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: kind must be one of mdrs, cdrs, wdrs, or detail:<record type> (...); got 'vdrs'
    """
    root, chosen, lo, hi = sync_arguments(path, kinds, start, end)
    client = get_client(client)
    if client.cache_path is not None:
        log.warning("sync through a client with an HTTP cache: a day that has not settled "
                    "may be answered from the cache; give sync a Client(cache=False)")
    account = client.account
    now = _now()
    rows: list[dict[str, Any]] = []
    with _locked(root):
        manifest = _load_manifest(root)
        if manifest["account"] is None:
            manifest["account"] = account
            # Claim the lake before any day file exists: files without a manifest would
            # otherwise be what a sync killed during its first chunk leaves behind.
            _save_manifest(root, manifest)
        elif manifest["account"] != account:
            raise LakeAccountError(
                f"{root} holds the records of account {manifest['account']}, not of this "
                f"client's key ({account}); one lake holds one account: use another directory")
        plan = []
        for kind in chosen:
            known = manifest["kinds"].setdefault(kind.name, {})
            if lo is not None:
                first = lo
            elif known:  # carry on from the lake's first day
                first = _day_start(dt.date.fromisoformat(min(known)))
            else:
                first = now.floor("D") - pd.Timedelta(days=_DEFAULT_DAYS - 1)
            last = now if hi is None else min(hi, now)
            if first is None or first > last:
                continue
            days = _days(first.date(), last.date())
            todo = [d for d in days if not known.get(d.isoformat(), {}).get("settled")]
            rows += [{"kind": kind.name, "date": d, "rows": known[d.isoformat()]["rows"],
                      "action": "skipped", "settled": True}
                     for d in days if known.get(d.isoformat(), {}).get("settled")]  # fmt: skip
            plan += [(kind, chunk) for chunk in _chunks(todo, kind.chunk_days)]
        show = client.progress if progress is None else progress
        with progress_bar(total=len(plan), unit="chunk", desc="sync",
                          disable=not show) as bar:  # fmt: skip
            for kind, chunk in plan:
                rows += _sync_chunk(root, manifest, kind, chunk, client)
                bar.update(1)
        _save_manifest(root, manifest)
    out = pd.DataFrame(rows, columns=["kind", "date", "rows", "action", "settled"])
    out["rows"] = out["rows"].astype(np.int64)
    out["settled"] = out["settled"].astype(bool)
    return out.sort_values(["kind", "date"], ignore_index=True)


def _sync_chunk(root: Path, manifest: dict[str, Any], kind: LakeKind, chunk: list[dt.date],
                client: Client) -> list[dict[str, Any]]:  # fmt: skip
    """Fetch one chunk of days, write its day files, then record them in the manifest."""
    fetched_at = _now()  # before the request: the conservative time
    frame = kind.fetch(_day_start(chunk[0]),
                       _day_start(chunk[-1]) + pd.Timedelta(days=1, microseconds=-1), client)
    known = manifest["kinds"][kind.name]
    rows = []
    for day, part in _split_days(frame, kind, chunk).items():
        target = day_path(root, kind.name, day)
        before = known.get(day.isoformat())
        changed = _write_day(target, part, kind.schema)
        digest = _sha256(target)
        action = "unchanged" if not changed and before and before["sha256"] == digest else "written"
        settled = bool(fetched_at >= _day_start(day) + pd.Timedelta(days=1) + kind.settle)
        known[day.isoformat()] = {
            "rows": len(part), "sha256": digest, "settled": settled,
            "fetched_at": (before["fetched_at"] if action == "unchanged" and before
                           and before["settled"] == settled else fetched_at.isoformat()),
        }  # fmt: skip
        rows.append({"kind": kind.name, "date": day, "rows": len(part), "action": action,
                     "settled": settled})  # fmt: skip
    # The day files are durable (fsynced and renamed): only now may the manifest say so.
    _save_manifest(root, manifest)
    log.info("lake %s: %s %s..%s synced (%d rows)", root, kind.name, chunk[0], chunk[-1],
             len(frame))
    return rows


# -- read -------------------------------------------------------------------------------------


def _files(root: Path, kind: LakeKind, lo: pd.Timestamp | None,
           hi: pd.Timestamp | None) -> list[Path]:  # fmt: skip
    """The day files of the window, in day order: only partitions in it are touched."""
    files = []
    for folder in sorted((root / kind.name).glob("date=*")):
        try:
            day = dt.date.fromisoformat(folder.name.removeprefix("date="))
        except ValueError:
            continue
        if (lo is not None and day < lo.date()) or (hi is not None and day > hi.date()):
            continue
        file = folder / DAY_FILE
        if file.exists():
            files.append(file)
    return files


def _storage_columns(columns: Sequence[str], names: list[str]) -> list[str]:
    """The stored names of frame columns (``cost`` is stored as ``cost_micros``)."""
    stored = set(names)
    out = []
    for name in columns:
        if name in stored:
            out.append(name)
        elif f"{name}{MICROS_SUFFIX}" in stored:
            out.append(f"{name}{MICROS_SUFFIX}")
        else:
            raise ValueError(f"columns: no column {name!r} in the lake; it has "
                             f"{', '.join(n.removesuffix(MICROS_SUFFIX) for n in names)}")
    return out


def _read_files(files: Sequence[Path], columns: Sequence[str] | None, names: list[str],
                kind: LakeKind, lo: pd.Timestamp | None,
                hi: pd.Timestamp | None) -> pd.DataFrame:  # fmt: skip
    """Read day files into the fetcher's frame (``columns`` of it, in that order; ``names``:
    the stored columns), trimmed to ``[lo, hi]``.

    Only the stored columns asked for are read: this is where a Dask computation's
    column projection lands, so a total of three columns never decodes the others.
    """
    trim = (lo is not None or hi is not None) and kind.time in names
    wanted = None if columns is None else list(columns)
    if wanted is not None and trim and kind.time not in wanted:
        wanted.append(kind.time)  # read to trim the window by it, dropped below
    stored = None if wanted is None else _storage_columns(wanted, names)
    if files:
        log.debug("lake: reading %d day files, columns %s", len(files), stored or "all")
    # ParquetFile.read, not pq.read_table: a file of a known path needs no dataset
    # discovery, which costs more than reading a small day's columns.
    tables = [pq.ParquetFile(f).read(columns=stored) for f in files]
    if not tables:
        empty = _to_table(_frames.empty_frame(kind.schema), kind.schema)
        tables = [empty.select(stored) if stored else empty]
    table = pa.concat_tables(tables, promote_options="permissive")
    frame = _from_table(table)
    if trim:
        times = frame[kind.time]
        keep = np.ones(len(frame), bool)
        if lo is not None:
            keep &= (times >= lo).to_numpy(dtype=bool)
        if hi is not None:
            keep &= (times <= hi).to_numpy(dtype=bool)
        if not keep.all():
            frame = frame[keep].reset_index(drop=True)
    return frame if columns is None else frame[list(columns)]


def read(
    path: str | os.PathLike[str],
    kind: str,
    start: Moment | None = None,
    end: Moment | None = None,
    *,
    columns: Sequence[str] | None = None,
    engine: Literal["pandas", "dask"] = "pandas",
) -> pd.DataFrame | dd.DataFrame:
    """Read a kind's records from the lake, with the same columns and dtypes as its fetcher.

    Only the day partitions that overlap ``[start, end]`` are opened.

    Parameters
    ----------
    path : path
        The lake's directory.
    kind : str
        ``"mdrs"``, ``"cdrs"`` or ``"wdrs"``.
    start, end : optional
        The window (the fetchers' vocabulary; a day as ``end`` includes it). Default: all.
    columns : list of str, optional
        Only these columns, in this order (money columns by their frame name, ``cost``);
        only they are read from the files.
    engine : ``"pandas"`` or ``"dask"``
        ``"dask"`` returns a ``dask.dataframe.DataFrame`` whose partitions are runs of
        whole days of about :data:`PARTITION_ROWS` rows (needs
        ``pip install 'telnyx-analytics[dask]'``). A column selection made on it later
        (``ddf[["cost", "currency"]]``, or the one each analysis function makes) is
        pushed into the reads: there is no need to pass ``columns`` for speed.

    Returns
    -------
    DataFrame or dask.dataframe.DataFrame

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     read(d, "mdrs").dtypes["cost"] == _money.MONEY
    True
    """
    k = _kind(kind)
    if engine not in ("pandas", "dask"):
        raise ValueError(f"engine must be 'pandas' or 'dask'; got {engine!r}")
    if columns is not None and (isinstance(columns, str) or not isinstance(columns, Sequence)):
        raise TypeError(f"columns must be a list of column names or None; got {columns!r}")
    lo, hi = window(start, end, required=False)
    root = Path(path)
    files = _files(root, k, lo, hi)
    log.debug("lake.read %s: %d day files", k.name, len(files))
    names = (pq.read_schema(files[0]).names if files
             else _to_table(_frames.empty_frame(k.schema), k.schema).column_names)
    if columns is not None:
        columns = list(columns)
        _storage_columns(columns, names)  # an unknown column is refused here, before reading
    if engine == "pandas":
        return _read_files(files, columns, names, k, lo, hi)
    from ._dask import read_days

    def read_run(run: Sequence[Path], columns: Sequence[str] | None = columns) -> pd.DataFrame:
        # `columns=`: Dask passes the columns a computation uses (its projection pushdown,
        # see dask.dataframe.from_map), and only those are read from the files.
        return _read_files(run, columns, names, k, lo, hi)

    meta = _read_files([], columns, names, k, None, None)
    return read_days(_partitions(files), meta, read_run)


def _partitions(files: list[Path]) -> list[list[Path]]:
    """Consecutive day files in runs of about :data:`PARTITION_ROWS` rows (row counts from
    the files' footers): a task per day would cost more in scheduling than in work."""
    runs: list[list[Path]] = []
    rows = 0
    for file in files:
        n = pq.read_metadata(file).num_rows
        if not runs or rows + n > PARTITION_ROWS:
            runs.append([])
            rows = 0
        runs[-1].append(file)
        rows += n
    return runs
