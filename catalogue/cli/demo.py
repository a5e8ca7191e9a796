"""`catalogue demo`: replay the bundled real sources, harvest them, serve the catalogue."""

from __future__ import annotations

from pathlib import Path

import click

from catalogue.cli.base import Context, catch_up_index, console, main, pass_ctx
from catalogue.cli.harvesting import harvest_one
from catalogue.cli.processes import check_secret, serve_app


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--no-serve", is_flag=True, help="Harvest the demo sources, then exit.")
@pass_ctx
def demo(ctx: Context, host: str, port: int, no_serve: bool) -> None:
    """Replay recorded real OAI-PMH sources locally, harvest them over HTTP, serve the app."""
    if not no_serve:
        check_secret(ctx, host)
    from catalogue.demo.replay import DEMO_SOURCES, start_replay_server, stop_replay_server

    server, base_url = start_replay_server()
    console.print(f"replaying recorded OAI-PMH sources at [bold]{base_url}[/]")
    from catalogue.search.indexer import indexing_alongside

    failed = []
    with indexing_alongside(ctx.settings):
        for spec in DEMO_SOURCES:
            url = f"{base_url}{spec.path}"
            existing = ctx.store.get_source(spec.key)
            if existing is None:
                ctx.store.add_source(
                    spec.key,
                    spec.type,
                    url,
                    metadata_prefix=spec.metadata_prefix,
                    config=spec.config,
                )
            elif existing.url != url:
                # The replay server gets a new port each run; the records stay the same.
                ctx.store.update_source(spec.key, url=url)
            if not harvest_one(ctx, spec.key, full=False):
                failed.append(spec.key)
    catch_up_index(ctx)
    if failed:
        stop_replay_server(server)
        raise click.ClickException(f"demo harvest failed for: {', '.join(failed)}")
    total = ctx.store.count_records()
    console.print(f"[green]{total} records harvested[/]")
    if no_serve:
        stop_replay_server(server)
        return
    base = f"http://{host}:{port}"
    token = demo_token(ctx)
    console.print(
        "open:\n"
        f"  {base}/search                    search the records (start here)\n"
        f"  {base}/                          home: facets, newest records, sources\n"
        f"  {base}/api/records?q=data        search API (facets: type, year, subject, ...)\n"
        f"  {base}/api/sources               harvest sources and their last runs\n"
        f"  {base}/oai?verb=Identify         OAI-PMH provider (oai_dc, oai_datacite, datacite)\n"
        f"  {base}/api/docs                  ingest and search API (OpenAPI: /api/openapi.json)\n"
        f"  {base}/admin                     admin pages (sign in: tokens create --role admin)\n"
        "deposit a record with the demo's depositor token:\n"
        f"  curl -H 'Authorization: Bearer {token}' -H 'Content-Type: application/json' \\\n"
        f'    -d \'{{"metadata": {{"titles": [{{"title": "My data"}}], '
        f'"types": {{"resourceTypeGeneral": "Dataset"}}}}}}\' {base}/api/records',
        soft_wrap=True,
    )
    serve_app(ctx, host, port, 8, with_indexer=True, with_scheduler=True)


def demo_token(ctx: Context) -> str:
    """The demo's depositor token, created once and kept (mode 0600) in the data directory,
    because the store keeps only token hashes and the demo prints it on every start."""
    path = Path(ctx.settings.data_dir) / "demo-depositor-token"
    if path.exists():
        secret = path.read_text().strip()
        if ctx.store.find_token(secret) is not None:
            return secret
    _, secret = ctx.store.create_token("demo", "depositor", created_by="catalogue demo")
    path.touch(mode=0o600)
    path.write_text(secret + "\n")
    return secret


# -- API tokens ----------------------------------------------------------------
