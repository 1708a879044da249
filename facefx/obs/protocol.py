"""The control protocol between the OBS side (facefx.obs.client) and the worker (facefx.worker).

Standard library only: both OBS's embedded Python and the worker import it. Control messages
are one JSON object per line; pixels never travel here (see facefx.ipc). Every op and event
name exists once, here, so the two sides cannot drift apart by a typo.

  OBS -> worker (stdin)
    {"op": "open",     "source": id}                     a new source (no engine yet)
    {"op": "attach",   "source": id, "path": p, "seq": n} its shared-memory channel; results
                                                          there are numbered after n
    {"op": "settings", "source": id, "settings": {...}}   Settings.to_dict() form
    {"op": "close",    "source": id}
    {"op": "teach",    "source": id, "name": n, "seconds": s}   record this source's hands for s
                                                          seconds, then train `n` (facefx.teach)
    {"op": "forget",   "source": id, "name": n}           delete a taught gesture, retrain
    {"op": "recalibrate", "source": id}                   learn every face's resting (neutral)
                                                          expression baseline again
    {"op": "exit"}
  worker -> OBS (stdout)
    {"event": "ready", "pid": n, "protocol": VERSION}
    {"event": "heartbeat", "sources": {id: {"fps", "stage_ms", "frames", "result_seq",
                                            "model", "error", "teach", "taught", "labels",
                                            "expressions"}}}  every HEARTBEAT_S
        teach: {"name", "state": recording|training|taught|failed, "remaining", "samples",
                "message"} or null; taught: the taught gesture names; labels: the gesture
                names the source's custom or taught model adds (its "none" class left out)
        expressions: {"model": path or "" (bundled), "state": loading|ready|failed,
                      "calibrating": faces still learning their baseline, "recalibrations": n,
                      "message"} or null while expressions are off
    {"event": "busy", "source": id, "seconds": s}   the next analysis may load a model: no
                                                     heartbeat for up to s seconds
    {"event": "error", "source": id or null, "message": text}
    {"event": "fatal", "kind": "import", "module": name, "message": text}   then exit 3

VERSION changes whenever a message changes shape (new ops and new heartbeat fields are
additions, not changes: an older worker answers an op it does not know with an error event);
the client refuses a worker that announces another one (a plugin folder updated while an old
worker interpreter is configured).
"""
from __future__ import annotations

import json
from typing import Any, Optional

VERSION = 1
HEARTBEAT_S = 0.5

OP_OPEN = "open"
OP_ATTACH = "attach"
OP_SETTINGS = "settings"
OP_CLOSE = "close"
OP_EXIT = "exit"
OP_TEACH = "teach"
OP_FORGET = "forget"
OP_RECALIBRATE = "recalibrate"
OPS = (OP_OPEN, OP_ATTACH, OP_SETTINGS, OP_CLOSE, OP_EXIT, OP_TEACH, OP_FORGET, OP_RECALIBRATE)
TEACH_SECONDS = (1.0, 10.0)   # the recording lengths the worker accepts

EV_READY = "ready"
EV_HEARTBEAT = "heartbeat"
EV_BUSY = "busy"
EV_ERROR = "error"
EV_FATAL = "fatal"
EVENTS = (EV_READY, EV_HEARTBEAT, EV_BUSY, EV_ERROR, EV_FATAL)


def encode(msg: dict) -> bytes:
    """One protocol line (compact JSON, newline-terminated, UTF-8)."""
    return (json.dumps(msg, separators=(",", ":")) + "\n").encode("utf-8")


def op(name: str, source: Optional[str] = None, **fields: Any) -> dict:
    """A control message for the worker."""
    msg: dict = {"op": name}
    if source is not None:
        msg["source"] = source
    msg.update(fields)
    return msg


def decode_event(text: str) -> Optional[dict]:
    """The event object in one worker line, or None when the line is not a protocol event
    (library chatter that reached stdout)."""
    if not text.startswith("{"):
        return None
    try:
        msg = json.loads(text)
    except ValueError:
        return None
    if not isinstance(msg, dict) or "event" not in msg:
        return None
    return msg
