"""Garbage-collector settings for a long-running core that holds thousands of long-lived entities."""
from __future__ import annotations

import gc
import logging

from .const import GC_THRESHOLD_0

_LOGGER = logging.getLogger(__name__)


class CollectorTuning:
    """Freeze what start-up built (configuration, entities, profiles) and collect young objects less often.

    Frozen objects are never scanned again by full collections; ``restore`` undoes both at stop, so a
    process that runs several cores (the tests) ends as it began.
    """

    def __init__(self) -> None:
        self._saved: tuple[int, int, int] | None = None

    def apply(self) -> None:
        """Collect once, freeze the survivors and raise the young-generation threshold."""
        if self._saved is not None:
            return
        self._saved = gc.get_threshold()
        gc.collect()
        gc.freeze()
        gc.set_threshold(GC_THRESHOLD_0, *self._saved[1:])
        _LOGGER.debug("Froze %d start-up objects; gc thresholds %s", gc.get_freeze_count(), gc.get_threshold())

    def restore(self) -> None:
        """Put the collector back as it was before ``apply``."""
        if self._saved is None:
            return
        gc.unfreeze()
        gc.set_threshold(*self._saved)
        self._saved = None
