#!/usr/bin/env python3
"""A stand-in for the servers Helix runs beside gloss (pylsp, ruff, rust-analyzer), which this
machine does not have: a language server on stdio, standard library only, that answers hover at
once with a marker the test looks for on the screen.

usage: standin_lsp.py NAME [--no-hover]

NAME goes into the hover text, so the screen shows which server answered. --no-hover advertises
no hover at all (Helix then never asks), for a server that must run but not add a hover page.
Every message received is appended to $STANDIN_LSP_LOG, if set, one JSON object a line.
"""
import json
import os
import sys

NAME = sys.argv[1] if len(sys.argv) > 1 else "stand-in"
HOVER = "--no-hover" not in sys.argv[2:]
LOG = os.environ.get("STANDIN_LSP_LOG")
stdin, stdout = sys.stdin.buffer, sys.stdout.buffer


def marker(line):
    """What the test looks for: the server's name and the (0-based) line it was asked about,
    so a hover answered for the wrong place does not pass."""
    return "STANDIN-HOVER %s line %d" % (NAME, line)


def send(message):
    message["jsonrpc"] = "2.0"
    body = json.dumps(message).encode()
    stdout.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
    stdout.flush()


def receive():
    length = None
    while True:
        line = stdin.readline()
        if not line:
            return None
        line = line.strip()
        if not line:
            break
        key, _, value = line.decode("ascii").partition(":")
        if key.strip().lower() == "content-length":
            length = int(value)
    if length is None:
        return None
    return json.loads(stdin.read(length))


def handle(message):
    method, request_id = message.get("method"), message.get("id")
    params = message.get("params") or {}
    if method is None:
        return  # a response to a request we never send
    if method == "initialize":
        capabilities = {"textDocumentSync": 1}
        if HOVER:
            capabilities["hoverProvider"] = True
        send({"id": request_id, "result": {
            "capabilities": capabilities,
            "serverInfo": {"name": NAME + " (stand-in)", "version": "0"}}})
    elif method == "textDocument/hover":
        line = params["position"]["line"]
        send({"id": request_id, "result": {"contents": {
            "kind": "markdown", "value": marker(line) + "\n\nanswered at once by the stand-in."}}})
    elif method == "shutdown":
        send({"id": request_id, "result": None})
    elif method == "exit":
        sys.exit(0)
    elif request_id is not None:
        send({"id": request_id, "error": {"code": -32601, "message": "not handled: " + method}})


def main():
    while True:
        message = receive()
        if message is None:
            return
        if LOG:
            with open(LOG, "a") as log:
                log.write(json.dumps({"server": NAME, **message}) + "\n")
        handle(message)


if __name__ == "__main__":
    main()
