"""Expression emojis in OBS: the recalibrate request and the status line's expressions part.

Why a module of its own: the Scene plans the emojis and labels and the GPU painters draw them
(sprites.py, labels.py); what is left for the OBS side is asking the worker to learn each
face's resting expression again (protocol OP_RECALIBRATE, from the panel's button and the
hotkey) and telling the user what the effect sees and what is wrong (faces seen, the main
face's expression, the model's state from the worker's heartbeat, file problems). The filter
calls these with its FilterInstance, as it does facefx.obs.actions' teach_status().

Standard library only, like all of facefx.obs.
"""
from __future__ import annotations

import os
from typing import Any, List, Optional, Tuple

from . import libobs as lo

BUNDLED_MODEL = "bundled FER2013 + face geometry"


def _active(inst: Any) -> bool:
    cfg = inst.config
    return cfg is not None and cfg.settings.expressions.active


def recalibrate(inst: Any) -> str:
    """The recalibrate button and hotkey (UI / hotkey thread): the worker's ExpressionsStage
    learns every face's resting expression again. Returns "" or why it could not be asked
    (also kept in inst.recalibrate_note for the status line)."""
    if not _active(inst):
        inst.recalibrate_note = "recalibrate: turn expression emojis on first"
    elif inst.channel is None:
        inst.recalibrate_note = "recalibrate: the worker is not running for this source"
    else:
        inst.channel.recalibrate_expressions()
        inst.recalibrate_note = ""
    return inst.recalibrate_note


def emoji_problems(scene: Any) -> List[str]:
    """The emoji overrides the Scene's emoji set refused (missing, not a PNG), one message each."""
    emojis = getattr(getattr(scene, "_emojis", None), "emojis", None)
    problems = getattr(emojis, "problems", None)
    return list(problems.values()) if isinstance(problems, dict) else []


def _worker_state(inst: Any) -> dict:
    ch = inst.channel
    return (ch.stats().get("expressions") if ch is not None else None) or {}


def problems(inst: Any) -> tuple:
    """What the status line says is wrong with expressions (a change refreshes the panel)."""
    if not _active(inst):
        return ()
    r = inst.renderer
    return (_worker_state(inst).get("state") == "failed", r.label_problem if r is not None else "",
            r.sprite_problem if r is not None else "", tuple(emoji_problems(inst.scene)))


def status(inst: Any) -> Optional[Tuple[str, int]]:
    """(text, kind) of the status line's expressions part, or None while they are off:
    faces seen, the main (largest) face's expression, the model and its baseline state."""
    if not _active(inst):
        return None
    ex = inst.config.settings.expressions
    kind = lo.OBS_TEXT_INFO_NORMAL
    res = inst.history[-1] if inst.history else None
    faces = tuple(res.results.faces) if res is not None and res.results is not None else ()
    line = "Expressions (%s): " % ex.mode
    if not inst.history:
        line += "waiting for the first result"
    elif not faces:
        line += "no face seen"
    else:
        main = max(faces, key=lambda f: f.box[2] * f.box[3])
        seen = ("%s (%d%%)" % (main.expression, round(main.expression_score * 100))
                if main.expression else "no expression yet")
        line += "%d face%s; main face: %s" % (len(faces), "" if len(faces) == 1 else "s", seen)
    state = _worker_state(inst)
    model = os.path.basename(ex.model) if ex.model else BUNDLED_MODEL
    if state.get("state") == "failed":
        line += "; model: %s cannot be used (%s), bundled FER2013 used instead" % (model, state.get("message"))
        kind = lo.OBS_TEXT_INFO_WARNING
    else:
        line += "; model: %s (%s)" % (model, state.get("state") or "starting")
    if state.get("calibrating"):
        line += "; learning the resting face of %d face(s)" % state["calibrating"]
    parts = [line + "."]
    if inst.config.expr_warning:
        parts.append("Expressions: %s." % inst.config.expr_warning)
        kind = lo.OBS_TEXT_INFO_WARNING
    for problem in emoji_problems(inst.scene):
        parts.append("Expressions: %s; that expression shows no emoji." % problem)
        kind = lo.OBS_TEXT_INFO_WARNING
    r = inst.renderer
    bad = r.sprite_problem if r is not None else ""
    if bad and any(path in bad for _, path in ex.emojis):
        parts.append("Expressions: %s; that expression shows no emoji." % bad.replace("sticker image", "emoji image"))
        kind = lo.OBS_TEXT_INFO_WARNING
    label_problem = r.label_problem if r is not None else ""
    if label_problem and ex.label:
        parts.append("Expression labels: %s." % label_problem)
        kind = lo.OBS_TEXT_INFO_WARNING
    if inst.recalibrate_note:
        parts.append("Expressions: %s." % inst.recalibrate_note)
    return "\n".join(parts), kind
