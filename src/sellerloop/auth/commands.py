"""`sellerloop users add|password|token|revoke`: people who sign in, and API tokens for scripts."""
from __future__ import annotations

import sys
from typing import Annotated

import typer

from sellerloop.console import open_store, out

users_app = typer.Typer(help="People who sign in to the web app, and API tokens for scripts.", no_args_is_help=True)


def _read_password(from_stdin: bool) -> str:
    """From stdin (one line, for scripts), else asked twice without echo."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    return typer.prompt("Password", hide_input=True, confirmation_prompt=True)


@users_app.command("add")
def add_command(
    user_id: Annotated[str, typer.Argument(help="the new user's id, e.g. dana-whitfield")],
    name: Annotated[str, typer.Option("--name", help="the name shown in the app")],
    role: Annotated[str, typer.Option("--role", help="seller, manager, admin or revops")] = "seller",
    manager: Annotated[str | None, typer.Option("--manager", help="their manager's user id")] = None,
    email: Annotated[str | None, typer.Option("--email", help="also lets them sign in with it")] = None,
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="read the password from stdin")] = False,
    no_password: Annotated[bool, typer.Option("--no-password", help="no sign-in yet (set one later)")] = False,
) -> None:
    """Add a person; their record access follows from their role and manager."""
    from sellerloop.auth.service import add_user
    from sellerloop.store.db import session_scope

    password = None if no_password else _read_password(password_stdin)
    with session_scope(open_store()) as session:
        user = add_user(session=session, user_id=user_id, name=name, role=role, manager_id=manager, email=email,
                        password=password)
    out.print(f"added {user.id} ({user.role}){'' if password else '; no password yet: sellerloop users password'}",
              markup=False, highlight=False)


@users_app.command("password")
def password_command(
    user_id: Annotated[str, typer.Argument(help="whose password")],
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="read the password from stdin")] = False,
) -> None:
    """Set or change a person's password."""
    from sellerloop.auth.service import set_password
    from sellerloop.store.db import session_scope

    password = _read_password(password_stdin)
    with session_scope(open_store()) as session:
        set_password(session=session, user_id=user_id, password=password)
    out.print(f"password set for {user_id}", markup=False, highlight=False)


@users_app.command("token")
def token_command(
    user_id: Annotated[str, typer.Argument(help="whose token: a script acts with this person's rights")],
    name: Annotated[str, typer.Option("--name", help="what the token is for")],
) -> None:
    """Make an API token (printed once; send it as `Authorization: Bearer TOKEN`)."""
    from sellerloop.auth.service import create_token
    from sellerloop.store.db import session_scope

    with session_scope(open_store()) as session:
        token = create_token(session=session, user_id=user_id, name=name)
    sys.stdout.write(token + "\n")


@users_app.command("revoke")
def revoke_command(token_id: Annotated[str, typer.Argument(help="the id in sl_<id>_...")]) -> None:
    """Revoke an API token at once."""
    from sellerloop.auth.service import revoke_token
    from sellerloop.store.db import session_scope

    with session_scope(open_store()) as session:
        revoke_token(session=session, token_id=token_id)
    out.print(f"revoked {token_id}", markup=False, highlight=False)


@users_app.command("sign-out")
def sign_out_command(user_id: Annotated[str, typer.Argument(help="whose browser sessions to end")]) -> None:
    """Sign a person out of every browser at once (a lost laptop, someone leaving)."""
    from sellerloop.auth.service import end_sessions
    from sellerloop.errors import NotFound
    from sellerloop.records.models import User
    from sellerloop.store.db import session_scope

    with session_scope(open_store()) as session:
        if session.get(User, user_id) is None:
            raise NotFound(f"no user with id {user_id!r}")
        ended = end_sessions(session=session, user_id=user_id)
    out.print(f"signed {user_id} out of {ended} browser session(s)", markup=False, highlight=False)
