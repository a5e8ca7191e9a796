"""`catalogue tokens`: create, list and revoke API tokens."""

from __future__ import annotations

import click
from rich.console import Console
from rich.table import Table

from catalogue.cli.base import Context, console, main, pass_ctx
from catalogue.store import TOKEN_ROLES


@main.group()
def tokens() -> None:
    """Create, list and revoke bearer tokens of the ingest API."""


@tokens.command("create")
@click.option(
    "--role",
    type=click.Choice(TOKEN_ROLES),
    required=True,
    help="admin: everything (registering schemas too); depositor: deposit and change records; "
    "reader: reads only.",
)
@click.option("--name", help="Who or what uses it (recorded as created_by/updated_by).")
@pass_ctx
def tokens_create(ctx: Context, role: str, name: str | None) -> None:
    """Create a token and print it, alone, on stdout (it is shown only this once)."""
    import getpass

    name = name or f"{role}-token"
    if not name.strip() or len(name) > 200:
        raise click.BadParameter("1-200 characters", param_hint="--name")
    token, secret = ctx.store.create_token(name, role, created_by=getpass.getuser())
    console.print(f"created token {token.id} ({token.role}) named [bold]{token.name}[/]")
    click.echo(secret)


@tokens.command("list")
@pass_ctx
def tokens_list(ctx: Context) -> None:
    """List tokens (never their secrets)."""
    table = Table("id", "name", "role", "created", "last used", "revoked")
    for token in ctx.store.list_tokens():
        table.add_row(
            str(token.id),
            token.name,
            token.role,
            f"{token.created_at:%Y-%m-%d %H:%M}",
            f"{token.last_used_at:%Y-%m-%d %H:%M}" if token.last_used_at else "never",
            f"{token.revoked_at:%Y-%m-%d %H:%M}" if token.revoked_at else "",
        )
    Console().print(table)


@tokens.command("revoke")
@click.argument("token_id", type=int)
@pass_ctx
def tokens_revoke(ctx: Context, token_id: int) -> None:
    """Revoke token TOKEN_ID (see `tokens list`); it stops working at once."""
    token = ctx.store.revoke_token(token_id)
    if token is None:
        raise click.ClickException(f"no token {token_id}")
    console.print(f"revoked token {token.id} ({token.name})")
