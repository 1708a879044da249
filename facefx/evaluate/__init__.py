"""`facefx eval ...`: accuracy checks of the analysis on labelled folders of photos and videos."""
from __future__ import annotations

import sys
from typing import Optional, Sequence

TASKS = ("gestures", "expressions")


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Dispatch `facefx eval TASK ...` (argv without the leading 'eval')."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: facefx eval {gestures,expressions} ...\n\n"
              "  gestures     built-in or custom gesture recognition on a labelled folder "
              "(facefx eval gestures --help)\n"
              "  expressions  expression recognition on a folder per label "
              "(facefx eval expressions --help)")
        return 0 if argv else 2
    if argv[0] == "gestures":
        from .gestures import main as gestures_main
        return gestures_main(argv[1:])
    if argv[0] == "expressions":
        from .expressions import main as expressions_main
        return expressions_main(argv[1:])
    print(f"facefx eval: unknown task {argv[0]!r}; expected one of: {', '.join(TASKS)}", file=sys.stderr)
    return 2
