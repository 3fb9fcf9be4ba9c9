"""App-ready exports: TFLite Metadata + labels that MediaPipe Tasks and the LiteRT Task Library load
as they are (``metadata``), label helpers (``labels``), ``predict`` and ``inspection``."""
