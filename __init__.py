"""kotae: question answering over Japanese and English documents with cited passages."""

__version__ = "0.1.0"
