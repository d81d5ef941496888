"""localstripe (a Stripe API fake, from PyPI) served the way the harness starts servers: on
127.0.0.1 and a free port, `listening on http://HOST:PORT` first, and `GET /_config/health`
answering 200 (localstripe asks a key of every path but its `/_config/` ones).

Runs as a file with the Python of the venv bench/peers.py makes (localstripe and aiohttp are
no dependency of this project):

    .cache/bench-peers/localstripe/bin/python bench/localstripe_peer.py STORE_FILE

localstripe keeps its state by pickling the whole store to a file after every write; that is
kept as it is, only moved from /tmp/localstripe.pickle to STORE_FILE (so that runs do not
share it), and the store starts empty.
"""

from __future__ import annotations

import pickle
import socket
import sys

from aiohttp import web
from localstripe import resources, server


def main() -> None:
    store_file = sys.argv[1]

    def dump_to_disk(store: resources.Store) -> None:
        with open(store_file, "wb") as f:
            pickle.dump(store, f, protocol=pickle.HIGHEST_PROTOCOL)

    resources.Store.dump_to_disk = dump_to_disk

    async def health(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    server.app.router.add_get("/_config/health", health)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    host, port = sock.getsockname()[:2]
    print(f"listening on http://{host}:{port}", flush=True)
    web.run_app(server.app, sock=sock, print=None, access_log=None)


if __name__ == "__main__":
    main()
