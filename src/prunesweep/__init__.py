"""prunesweep: the sparsest network that still does its job, with statistics over seeds."""

__version__ = "0.1.0"
