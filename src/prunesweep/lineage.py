"""Which file was made from which: the digests a file records of its inputs, and their check.

Every file carries its own digest (`prunesweep.digest`); a file made from others records theirs
under the names below, so the results form a chain as in a content-addressed store: a level file
names the level it was pruned from, its dense network and its dataset; a metrics file the network
it measured; a selection its metrics; an exported model its network and selection. A reader that
holds both ends of a link checks it, and when they disagree the file that records the link is the
stale one (made from another version of its input), so the message names it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from prunesweep.files import check_link

#: level k: the file it was pruned from (level k - 1, or the dense network for level 1)
PARENT = "parent_digest"
#: level files: their dense network
DENSE = "dense_digest"
#: dense and level files: the dataset they were trained on
DATASET = "dataset_digest"
#: metrics files and exported models: the network file they describe
NETWORK = "network_digest"
#: selection files: the metrics they select from
METRICS = "metrics_digest"
#: exported models: the selection that chose their level
SELECTION = "selection_digest"

#: what each link points to, for messages
SOURCE_KINDS = {
    PARENT: "previous level",
    DENSE: "dense network",
    DATASET: "dataset",
    NETWORK: "network",
    METRICS: "metrics file",
    SELECTION: "selection file",
}


@dataclass(frozen=True)
class Source:
    """An input file as a job read it: where it is and its verified digest."""

    path: str
    digest: str


def record(**sources: Source) -> dict[str, str]:
    """The attributes that record `sources` (keyword: the link's name, e.g. `parent_digest`)."""
    return {key: source.digest for key, source in sources.items()}


def check(attrs: Mapping, path, *, kind: str, **sources: Source) -> None:
    """Refuse a file (at `path`, with `attrs`) whose recorded links differ from `sources`."""
    for key, source in sources.items():
        check_link(
            attrs,
            path,
            kind=kind,
            key=key,
            source=source.path,
            source_digest=source.digest,
            source_kind=SOURCE_KINDS[key],
        )
