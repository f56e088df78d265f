"""Logging: one line per event (time, level, component, message) as text or JSON, to stdout or a rotated file."""
from __future__ import annotations

import argparse
import json
import logging
import sys
from datetime import UTC, datetime
from logging.handlers import RotatingFileHandler
from pathlib import Path

from .const import LOG_BACKUPS, LOG_FORMATS, LOG_MAX_BYTES, QUIET_LOGGERS

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    """One JSON object per line for log collectors: ts (ISO 8601, UTC), level, component, message, exc_info.

    Hand-written rather than python-json-logger: these five keys are all we emit, and a dependency for them
    would be one more pin to keep.
    """

    def format(self, record: logging.LogRecord) -> str:
        """Return ``record`` as one line of JSON (a traceback stays inside the line, its newlines escaped)."""
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "component": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack_info"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False)


def add_logging_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the logging options to the command line."""
    parser.add_argument("--log-format", choices=LOG_FORMATS, default=LOG_FORMATS[0],
                        help="text (default) or json: one JSON object per line, for log collectors")
    parser.add_argument("--log-file", type=Path, metavar="PATH", help="log to this file instead of stdout, rotated by size")
    parser.add_argument("--log-max-bytes", type=int, default=LOG_MAX_BYTES,
                        help=f"rotate the log file at this size (default {LOG_MAX_BYTES})")
    parser.add_argument("--log-backups", type=int, default=LOG_BACKUPS,
                        help=f"rotated log files kept (default {LOG_BACKUPS})")


def setup_logging(
    verbose: bool, log_format: str = LOG_FORMATS[0], log_file: Path | None = None,
    max_bytes: int = LOG_MAX_BYTES, backups: int = LOG_BACKUPS,
) -> logging.Handler:
    """Send every log line to stdout or ``log_file`` (rotated at ``max_bytes``, ``backups`` kept) as text or
    JSON, ours from INFO (DEBUG when ``verbose``), noisy libraries' from WARNING; return the handler."""
    if log_file is not None:
        handler: logging.Handler = RotatingFileHandler(log_file, maxBytes=max_bytes, backupCount=backups,
                                                       encoding="utf-8")
    else:
        handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT))
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, handlers=[handler], force=True)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    return handler
