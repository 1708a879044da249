"""FaceFX inside OBS Studio: standard library (and obspython) only; nothing here imports numpy."""
