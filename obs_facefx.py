"""FaceFX for OBS Studio: load this file in Tools > Scripts, then add the "FaceFX" filter to a
webcam (or any video) source.

This file stays thin. It makes the `facefx` package next to it importable, registers the
filter type (once per OBS process, see facefx/obs/registry.py) and hands OBS's script
callbacks to facefx.obs.filter.Plugin. Only the standard library and obspython are imported
into OBS's process; all machine learning runs in a separate worker process started with
FaceFX's own virtual-environment interpreter (.venv next to this file; see docs/obs.md).
"""
import os
import sys

ROOT = os.path.dirname(os.path.abspath(__file__))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import obspython as obs  # noqa: E402

from facefx.obs import registry  # noqa: E402

PYTHON_KEY = "python"
_plugin = None

# Register at import time: OBS loads scripts listed in a scene collection before it creates
# that collection's sources, so the filter type must exist by then.
registry.register_filter()


def script_description():
    return ("<b>FaceFX</b>: virtual backgrounds (blur, picture, colour, cut-out, hologram) "
            "for any video source.<br>Add the <i>FaceFX</i> filter to your webcam source "
            "(right-click the source &gt; Filters &gt; + &gt; FaceFX). Analysis runs in a separate "
            "process using FaceFX's Python environment; the filter's Status line shows its state.")


def script_properties():
    props = obs.obs_properties_create()
    obs.obs_properties_add_path(
        props, PYTHON_KEY, "Worker Python (blank: FaceFX's .venv)", obs.OBS_PATH_FILE, "", None)
    info = obs.obs_properties_add_text(
        props, "python_help",
        "Leave blank to use %s. Create it with: python3 %s setup"
        % (os.path.join(ROOT, ".venv"), os.path.join(ROOT, "bootstrap.py")),
        obs.OBS_TEXT_INFO)
    obs.obs_property_text_set_info_word_wrap(info, True)
    return props


def script_load(settings):
    global _plugin
    from facefx.obs.filter import Plugin
    _plugin = Plugin(obs.obs_data_get_string(settings, PYTHON_KEY) or None, root=ROOT)
    registry.holder().impl = _plugin


def script_update(settings):
    if _plugin is not None:
        _plugin.set_python(obs.obs_data_get_string(settings, PYTHON_KEY) or None)


def script_unload():
    """Filters pass video through from here on; everything the plugin owns is released, and
    the facefx modules are forgotten so a reload picks up edited code."""
    global _plugin
    plugin, _plugin = _plugin, None
    registry.holder().impl = None
    if plugin is not None:
        plugin.close()
    for name in [n for n in sys.modules if n == "facefx" or n.startswith("facefx.")]:
        del sys.modules[name]
