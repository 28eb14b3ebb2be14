"""The README says what runs: its one-file server is examples/weather.py, its curl example
gets the answer it shows from that server, and every ``_meta`` key it names is one edgemcp
reads or writes (edgemcp.protocol.meta)."""

import itertools
import json
import re
import shlex

import httpx

from edgemcp.protocol import meta

from .conftest import ROOT, Server

README = (ROOT / "README.md").read_text()


def block_after(heading: str, language: str) -> str:
    """The first fenced ``language`` block after ``heading``."""
    start = README.index(heading)
    opening = README.index(f"```{language}\n", start) + len(f"```{language}\n")
    return README[opening:README.index("```\n", opening)]


def test_the_one_file_server_is_the_example() -> None:
    assert block_after("## A server in one file", "python") == (ROOT / "examples" / "weather.py").read_text()


def test_the_curl_example_gets_the_answer_shown() -> None:
    words = shlex.split(block_after("## Calling it over HTTP", "bash").replace("\\\n", " "))
    assert words[:2] == ["curl", "-s"]
    headers = dict(h.split(": ", 1) for flag, h in itertools.pairwise(words) if flag == "-H")
    body = json.loads(words[words.index("-d") + 1])
    shown = json.loads(block_after("## Calling it over HTTP", "json"))
    server = Server("examples.weather:app")
    try:
        response = httpx.post(words[2].replace("127.0.0.1:8000", f"127.0.0.1:{server.port}"),
                              headers=headers, content=json.dumps(body))
    finally:
        server.stop()
    assert response.status_code == 200
    answer = response.json()
    correlation = answer["result"]["_meta"][meta.CORRELATION_ID]
    shown["result"]["_meta"][meta.CORRELATION_ID] = correlation  # random per request
    assert answer == shown


def test_every_meta_key_named_is_a_real_one() -> None:
    known = {value for name, value in vars(meta).items() if name.isupper() and isinstance(value, str)}
    named = set(re.findall(r"(?:dev\.edgemcp|io\.modelcontextprotocol)/[A-Za-z]+", README))
    assert named and named <= known, named - known
