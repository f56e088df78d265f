"""OpenPrepay core: an asyncio core in the style of Home Assistant."""
from .const import __version__

__all__ = ["__version__"]
