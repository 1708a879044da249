"""`facefx eval ...`: accuracy checks of the analysis on labelled folders of photos and videos."""
from __future__ import annotations

import sys
from typing import Optional, Sequence

TASKS = ("gestures", "expressions", "segmentation", "privacy")


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Dispatch `facefx eval TASK ...` (argv without the leading 'eval')."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: facefx eval {gestures,expressions,segmentation,privacy} ...\n\n"
              "  gestures      built-in or custom gesture recognition on a labelled folder "
              "(facefx eval gestures --help)\n"
              "  expressions   expression recognition on a folder per label "
              "(facefx eval expressions --help)\n"
              "  segmentation  person coverage against ground-truth masks "
              "(facefx eval segmentation --help)\n"
              "  privacy       faces still visible in face privacy's output "
              "(facefx eval privacy --help)")
        return 0 if argv else 2
    if argv[0] == "gestures":
        from .gestures import main as gestures_main
        return gestures_main(argv[1:])
    if argv[0] == "expressions":
        from .expressions import main as expressions_main
        return expressions_main(argv[1:])
    if argv[0] == "privacy":
        from .privacy import main as privacy_main
        return privacy_main(argv[1:])
    if argv[0] == "segmentation":
        from ..eval_segmentation import main as segmentation_main
        return segmentation_main(argv)
    print(f"facefx eval: unknown task {argv[0]!r}; expected one of: {', '.join(TASKS)}", file=sys.stderr)
    return 2
