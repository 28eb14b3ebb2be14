"""The ten tool functions every benchmark server registers (stdlib only).

``echo(text)`` and ``add(a, b)`` are the two the workloads call; the other eight make each
server build a realistic ten-tool app at import (cold start, tools/list size).
"""


def echo(text: str) -> str:
    """Echo the text back."""
    return text


def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def upper(text: str) -> str:
    """Upper-case the text."""
    return text.upper()


def lower(text: str) -> str:
    """Lower-case the text."""
    return text.lower()


def reverse(text: str) -> str:
    """Reverse the text."""
    return text[::-1]


def length(text: str) -> int:
    """Length of the text."""
    return len(text)


def multiply(a: int, b: int) -> int:
    """Multiply two integers."""
    return a * b


def subtract(a: int, b: int) -> int:
    """Subtract b from a."""
    return a - b


def concat(a: str, b: str) -> str:
    """Concatenate two strings."""
    return a + b


def repeat(text: str, times: int) -> str:
    """Repeat the text."""
    return text * times


TOOLS = [echo, add, upper, lower, reverse, length, multiply, subtract, concat, repeat]
