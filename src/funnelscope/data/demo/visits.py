"""Visit events for the ecommerce demo: one ``visit`` per session, with its own traffic source.

Every event of a user carries the user's acquisition ``channel``, except ``visit`` events: a
visit's ``channel`` is where that session came from. The first session comes from the
acquisition channel; a later one keeps it with probability ``SAME_SOURCE`` and otherwise comes
from ``RETURN_SOURCES`` (people come back through search, retargeting ads, shares or
directly). That gives multi-touch journeys for ``funnelscope attribution --touch-event visit``.

The sources are drawn from their own random stream (a fixed child of the dataset's seed), so
the other tables do not change.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from funnelscope.data.demo import columns as col
from funnelscope.data.demo.journeys import Sessions
from funnelscope.data.demo.window import Window

SAME_SOURCE = 0.45
RETURN_SOURCES = {"search": 0.30, "ads": 0.30, "share": 0.10, "organic": 0.30}
#: the spawn key of the visits' own stream (any fixed number unused by other children)
STREAM = 101


def stream(rng: np.random.Generator) -> np.random.Generator:
    """A random stream of its own, derived from ``rng``'s seed without consuming from it."""
    seq = rng.bit_generator.seed_seq
    child = np.random.SeedSequence(seq.entropy, spawn_key=(*seq.spawn_key, STREAM))
    return np.random.default_rng(child)


def generate(rng: np.random.Generator, window: Window, sessions: Sessions, channel: np.ndarray,
             channels: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(user, ts µs, channel code)`` of every visit inside ``window``: one per session, at
    its start. ``channel`` is each user's acquisition channel code (index into ``channels``)."""
    aux = stream(rng)
    owner, start = sessions.owner, sessions.start
    first = np.zeros(len(owner), dtype=bool)
    first[sessions.first] = True
    names = list(RETURN_SOURCES)
    other = np.array([channels.index(c) for c in names])[
        aux.choice(len(names), size=len(owner), p=list(RETURN_SOURCES.values()))]
    keep_source = first | (aux.random(len(owner)) < SAME_SOURCE)
    source = np.where(keep_source, channel[owner], other)
    inside = (start >= window.start_us) & (start < window.end_us)
    return owner[inside], start[inside], source[inside]


def table(user: np.ndarray, ts: np.ndarray, source: np.ndarray, template: pa.Table,
          channels: tuple[str, ...], user_ids: pa.Array, columns: dict[str, pa.Array],
          prefix: str) -> pa.Table:
    """The visit rows in ``template``'s schema (events): ids ``<prefix>v000001``..., the
    visit's source as ``channel``, the user's other properties from ``columns`` (per user)."""
    n = len(user)
    data = {}
    for field in template.schema:
        name = field.name
        if name == "event_id":
            data[name] = col.id_strings(prefix + "v", np.arange(n), col.id_width(n, 9))
        elif name == "user_id":
            data[name] = user_ids.take(pa.array(user))
        elif name == "event":
            data[name] = pa.repeat(pa.scalar("visit", pa.string()), n)
        elif name == "ts":
            data[name] = col.timestamps(ts)
        elif name == "channel":
            data[name] = col.labels(channels, source)
        elif name in columns:
            data[name] = columns[name].take(pa.array(user))
        else:
            data[name] = pa.nulls(n, field.type)
    return pa.table(data, schema=template.schema)
