"""Tools for running the workflow, not analysis: comparing two runs, checking SLURM's accounting."""
