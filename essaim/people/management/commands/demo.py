"""Fill the base with realistic synthetic French contacts (`essaim demo --contacts N`), then let
the other apps add their part (essaim.people.services.demo.register_step)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from essaim.people.services.demo import run_steps, seed_demo_contacts, seed_demo_history


class Command(BaseCommand):
    help = (
        "Fill the base with N synthetic French contacts (with consent records and tags), and "
        "give the demo accounts their team, roles and missions."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--contacts", type=int, default=2000)
        parser.add_argument("--seed", type=int, default=2007)

    def handle(self, *args: Any, **options: Any) -> None:
        created = seed_demo_contacts(count=options["contacts"], seed=options["seed"])
        self.stdout.write(f"demo: {created} contacts created")
        self.stdout.write(f"demo: {seed_demo_history(seed=options['seed'])}")
        for line in run_steps():
            self.stdout.write(f"demo: {line}")
