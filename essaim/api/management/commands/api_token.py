"""`essaim api_token create|list|revoke`: issue, list and revoke API tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from essaim.accounts.models import User
from essaim.api.models import ApiToken, Scope
from essaim.api.services import TokenNotFound, create_token, revoke_token


def _local(moment: datetime) -> str:
    return f"{timezone.localtime(moment):%Y-%m-%d %H:%M}"


class Command(BaseCommand):
    help = "Create, list or revoke API tokens. A token is printed once, at creation."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        create = actions.add_parser("create", help="Issue a token acting as a user.")
        create.add_argument("--user", required=True, help="E-mail of the user the token acts as.")
        create.add_argument("--name", required=True, help="What the token is for.")
        create.add_argument(
            "--read-only", action="store_true", help="Limit the token to reads (scope 'read')."
        )
        create.add_argument(
            "--scope",
            action="append",
            choices=Scope.values,
            help="A scope to grant (repeat for several); default: read and write. Reading "
            "contacts needs 'contacts:read', never granted unless asked.",
        )
        create.add_argument(
            "--network",
            action="append",
            default=[],
            help="Accept the token only from this CIDR network (IPv4 or IPv6; repeat for several).",
        )
        actions.add_parser("list", help="List tokens (prefix, user, name, dates).")
        revoke = actions.add_parser("revoke", help="Revoke a token by its prefix.")
        revoke.add_argument("prefix", help="The 8 characters after 'ess_'.")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "create":
            self._create(options)
        elif action == "list":
            self._list()
        elif action == "revoke":
            self._revoke(options["prefix"])

    def _create(self, options: dict[str, Any]) -> None:
        email = options["user"].strip().lower()
        user = User.objects.filter(email=email).first()
        if user is None:
            raise CommandError(f"No user with the address {email}.")
        if not user.is_active:
            raise CommandError(f"{email} is deactivated: its tokens would not work.")
        if options["read_only"]:
            scopes = [Scope.READ]
        else:
            scopes = options["scope"] or [Scope.READ, Scope.WRITE]
        try:
            token, raw = create_token(
                user=user, name=options["name"], scopes=scopes, networks=options["network"]
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(raw)
        self.stderr.write(
            f"Token {token.prefix} for {email} ({user.get_role_display()}). "
            "Copy it now: it is not stored and will not be shown again."
        )

    def _list(self) -> None:
        tokens = ApiToken.objects.select_related("user").order_by("-created_at", "-id")
        for token in tokens:
            state = f"revoked {_local(token.revoked_at)}" if token.revoked_at else "live"
            used = _local(token.last_used_at) if token.last_used_at else "never"
            scopes = ",".join(token.scopes) or "none"
            networks = ",".join(token.networks) or "any"
            self.stdout.write(
                f"{token.prefix}  {token.user.email:<32} {token.name:<24} scopes={scopes:<10} "
                f"networks={networks} created {_local(token.created_at)}  used {used}  {state}"
            )

    def _revoke(self, prefix: str) -> None:
        try:
            # Accept a pasted token too: ess_<prefix>_<secret>.
            token, changed = revoke_token(prefix=prefix.strip().removeprefix("ess_")[:8])
        except TokenNotFound as exc:
            raise CommandError(f"No token with the prefix {prefix!r}.") from exc
        if changed:
            self.stdout.write(f"Revoked {token.prefix} ({token.name}, {token.user.email}).")
        else:
            self.stdout.write(f"{token.prefix} was already revoked.")
