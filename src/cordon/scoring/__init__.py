"""Scorers of `cordon eval`: one module per rule type, registered in the `cordon.scorers` entry points."""
