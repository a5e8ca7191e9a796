"""A synthetic OAI-PMH 2.0 endpoint for benchmarks: N generated oai_dc records, real HTTP.

Run as a script (the benchmark starts it in a subprocess so it never competes with the
measured process for the GIL)::

    python benchmarks/synthetic_oai.py --page-size 500 [--port 0]

It prints ``PORT <n>`` once listening. The record count is part of the path:
``/oai/<n>`` serves a repository of ``n`` records, so one server covers every size.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

OAI_NS = "http://www.openarchives.org/OAI/2.0/"
BASE_DATE = datetime(2020, 1, 1)
SUBJECTS = ("climate", "genomics", "astronomy", "linguistics", "chemistry", "economics")

_RECORD = (
    "<record><header><identifier>oai:bench:{n}</identifier>"
    "<datestamp>{stamp}</datestamp><setSpec>{subject}</setSpec></header>"
    '<metadata><oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" '
    'xmlns:dc="http://purl.org/dc/elements/1.1/">'
    "<dc:title>Synthetic dataset number {n} about {subject}</dc:title>"
    "<dc:creator>Doe, Jane</dc:creator><dc:creator>Roe, Richard</dc:creator>"
    "<dc:subject>{subject}</dc:subject><dc:subject>benchmark</dc:subject>"
    "<dc:description>Measurements collected for record {n}. Lorem ipsum dolor sit amet, "
    "consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna "
    "aliqua.</dc:description>"
    "<dc:publisher>Benchmark Repository</dc:publisher><dc:date>{year}-03-04</dc:date>"
    "<dc:type>Dataset</dc:type><dc:format>text/csv</dc:format>"
    "<dc:identifier>https://doi.org/10.5555/bench.{n}</dc:identifier>"
    "<dc:language>en</dc:language><dc:rights>CC-BY-4.0</dc:rights>"
    "</oai_dc:dc></metadata></record>"
)


def _records(start: int, stop: int) -> str:
    return "".join(
        _RECORD.format(
            n=n,
            stamp=(BASE_DATE + timedelta(seconds=n)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            subject=SUBJECTS[n % len(SUBJECTS)],
            year=2000 + n % 25,
        )
        for n in range(start, stop)
    )


def respond(total: int, query: dict[str, list[str]], page_size: int) -> str:
    verb = query.get("verb", [""])[0]
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    head = (
        f'<?xml version="1.0" encoding="UTF-8"?><OAI-PMH xmlns="{OAI_NS}">'
        f"<responseDate>{now}</responseDate><request>http://bench/oai</request>"
    )
    if verb == "Identify":
        body = (
            "<Identify><repositoryName>Synthetic</repositoryName><baseURL>http://bench/oai"
            "</baseURL><protocolVersion>2.0</protocolVersion><adminEmail>a@b.c</adminEmail>"
            "<earliestDatestamp>2020-01-01T00:00:00Z</earliestDatestamp>"
            "<deletedRecord>no</deletedRecord><granularity>YYYY-MM-DDThh:mm:ssZ</granularity>"
            "</Identify>"
        )
    elif verb == "ListMetadataFormats":
        body = (
            "<ListMetadataFormats><metadataFormat><metadataPrefix>oai_dc</metadataPrefix>"
            "<schema>http://www.openarchives.org/OAI/2.0/oai_dc.xsd</schema>"
            "<metadataNamespace>http://www.openarchives.org/OAI/2.0/oai_dc/</metadataNamespace>"
            "</metadataFormat></ListMetadataFormats>"
        )
    elif verb == "ListRecords":
        start = int(query.get("resumptionToken", ["0"])[0])
        stop = min(total, start + page_size)
        token = str(stop) if stop < total else ""
        body = (
            f'<ListRecords>{_records(start, stop)}<resumptionToken cursor="{start}" '
            f'completeListSize="{total}">{token}</resumptionToken></ListRecords>'
        )
    else:
        body = '<error code="badVerb">illegal verb</error>'
    return head + body + "</OAI-PMH>"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--page-size", type=int, default=500)
    args = parser.parse_args()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802 - http.server naming
            parts = urlsplit(self.path)
            total = int(parts.path.rstrip("/").rsplit("/", 1)[-1])
            data = respond(total, parse_qs(parts.query), args.page_size).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/xml; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *a: object) -> None:  # noqa: A002
            pass

    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    print(f"PORT {server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
