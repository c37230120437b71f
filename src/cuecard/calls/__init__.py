"""Calls: what voice runtimes report (open, events, turns, close) and the calls API."""
