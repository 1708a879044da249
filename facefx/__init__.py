"""FaceFX: real-time webcam effects for video meetings and streaming."""
__version__ = "0.1.0"
