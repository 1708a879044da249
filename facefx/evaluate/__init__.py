"""Evaluations against labelled data (`facefx eval ...`)."""
