"""The record hub: where trials running anywhere leave their records, and learn whether to stop.

:class:`RecordHub` is a plain class; the Ray driver runs it as an actor on the driver's
node (``num_cpus=0``, so it never takes a trial's place). Trials push batches of
records to it (:meth:`push`, a few times a second) and get back whether they are asked
to stop; the driver drains it (:meth:`drain`, every tenth of a second) and hands the
records to the comparison's listener, so the same live plots show trials on any node.
A trial's run folder comes back the same way (:meth:`put_folder`), as file contents, so
the comparison folder is written on the driver's machine and cluster nodes need no
shared file system.

An actor runs one call at a time, so nothing here needs a lock. This module imports
nothing of Ray: it is tested as a plain object.
"""

from __future__ import annotations

from typing import Final

STOP_TRIAL: Final = "trial"  # this trial was stopped by the user
STOP_ALL: Final = "all"  # the whole comparison was stopped (an interruption: a resume runs it again)


class RecordHub:
    """Records and run folders by trial id, and the stop requests the driver forwards."""

    def __init__(self) -> None:
        self._items: list[tuple[int, object]] = []
        self._folders: list[tuple[int, dict[str, bytes]]] = []
        self._stopped: set[int] = set()
        self._stop_all = False

    def push(self, trial_id: int, items: list[object]) -> str | None:
        """Keep ``items`` (records and state updates, in order); the stop order for this trial."""
        self._items.extend((trial_id, item) for item in items)
        return self.stop_order(trial_id)

    def stop_order(self, trial_id: int) -> str | None:
        if trial_id in self._stopped:
            return STOP_TRIAL
        return STOP_ALL if self._stop_all else None

    def drain(self) -> list[tuple[int, object]]:
        """Everything pushed since the last drain, in arrival order."""
        items, self._items = self._items, []
        return items

    def put_folder(self, trial_id: int, files: dict[str, bytes]) -> None:
        self._folders.append((trial_id, files))

    def take_folders(self) -> list[tuple[int, dict[str, bytes]]]:
        folders, self._folders = self._folders, []
        return folders

    def stop(self, trial_ids: list[int]) -> None:
        self._stopped.update(trial_ids)

    def stop_all(self) -> None:
        self._stop_all = True
