"""Rendering: the patient and cohort HTML reports (Jinja2 templates over documents only) and
MultiQC's custom content. Imports nothing from the analysis layers.
"""
