"""FaceFX for OBS Studio (Tools > Scripts). Placeholder until the OBS filter lands."""


def script_description():
    return "FaceFX: webcam effects. The OBS filter is not available in this build yet."
