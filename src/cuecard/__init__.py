"""Cuecard: a self-hostable, Talkover-compatible backend for voice agents and their trainings."""

__version__ = "0.1.0"
