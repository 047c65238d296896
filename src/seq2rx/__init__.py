"""seq2rx: from a patient's sequencing reads to treatment insight."""

__version__ = "0.1.0"
