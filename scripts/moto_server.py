"""moto's DynamoDB-compatible server, one request at a time.

`moto_server` serves requests on threads, and moto applies a conditional UpdateItem as a read and
then a write with no lock between them, so two concurrent requests on one item can both pass
their condition and one update is lost. DynamoDB never does that: each request on an item is
atomic. Serialising the requests (connections stay concurrent) gives moto the same per-request
atomicity, so the contract suite's races test our conditions, not moto's threads.

Usage: python scripts/moto_server.py PORT
"""

import os
import signal
import sys
import threading

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import run_simple


def main() -> None:
    port = int(sys.argv[1])
    os.environ.setdefault("MOTO_PORT", str(port))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    app = DomainDispatcherApplication(create_backend_app)
    lock = threading.Lock()

    def one_at_a_time(environ, start_response):
        with lock:
            # The whole body is produced inside the lock: moto may build it lazily.
            return list(app(environ, start_response))

    run_simple(
        "127.0.0.1",
        port,
        one_at_a_time,
        threaded=True,
        request_handler=MotoRequestHandler,
    )


if __name__ == "__main__":
    main()
