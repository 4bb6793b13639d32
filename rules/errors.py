"""Errors raised by the rules package."""

from __future__ import annotations


class PackError(Exception):
    """A rule pack cannot be loaded.

    The message names the file, the key path and what is wrong, one problem a line;
    ``problems`` holds the same lines as a list.
    """

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        if len(self.problems) == 1:
            message = self.problems[0]
        else:
            message = f"{len(self.problems)} problems:\n" + "\n".join(
                f"  - {problem}" for problem in self.problems
            )
        super().__init__(message)


class FactsError(ValueError):
    """Facts handed to the evaluator do not follow the contract (say which and why)."""


class ModelOutputError(RuntimeError):
    """A zen model (e.g. a pack's ``rules_model``) answered outside its contract."""
