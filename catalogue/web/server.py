"""The production HTTP server (waitress), answering even unparseable requests in the API's
JSON error shape.

waitress refuses some requests before any application code runs (raw non-ASCII bytes in
the request target: "Bad URI"; oversized headers; bad chunking) and answers them with its
own text/plain page. Clients of the API parse every error as {status, message, errors};
so the channel's error task is replaced by one that writes that shape.
"""

from __future__ import annotations

import json
from typing import Any

from waitress.channel import HTTPChannel
from waitress.server import create_server
from waitress.task import ErrorTask


class JsonErrorTask(ErrorTask):
    def execute(self) -> None:
        error = self.request.error
        body = json.dumps(
            {
                "status": error.code,
                "message": error.reason,
                "errors": [{"field": "", "message": str(error.body)[:300]}],
            }
        ).encode()
        self.status = f"{error.code} {error.reason}"
        self.response_headers.append(("Content-Type", "application/json"))
        self.set_close_on_finish()
        self.content_length = len(body)
        self.write(body)


class JsonErrorChannel(HTTPChannel):
    error_task_class = JsonErrorTask


def make_server(app: Any, **adjustments: Any) -> Any:
    """A waitress server for ``app`` (call ``.run()``), its protocol errors in JSON."""
    socket_map: dict[int, Any] = {}
    server = create_server(app, map=socket_map, **adjustments)
    for dispatcher in [server, *socket_map.values()]:
        if hasattr(dispatcher, "channel_class"):
            dispatcher.channel_class = JsonErrorChannel
    return server
