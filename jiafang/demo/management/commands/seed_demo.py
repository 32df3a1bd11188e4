"""`manage.py seed_demo`: the synthetic demo district (development and demo machines only).

    manage.py seed_demo                       # 3 schools, ~1,500 students, a login per role
    manage.py seed_demo --reset               # delete the demo and build it again
    manage.py seed_demo --delete              # delete the demo only
    manage.py seed_demo --if-empty            # build it only into a database without schools
    manage.py seed_demo --schools 200 --students 300000 --seed 7   # a city, for load tests
"""

import time

from django.core.management.base import BaseCommand, CommandError
from django_scopes import scopes_disabled

from jiafang.demo.generator import DemoSpec, demo_build
from jiafang.demo.services import (
    DemoNotAllowed,
    demo_conflicts,
    demo_ensure_allowed,
    demo_exists,
    demo_logins,
    demo_reset,
    format_logins_table,
    schools_exist,
)


class Command(BaseCommand):
    help = "Create the synthetic demo district with a login for every role (DEBUG or DEMO_MODE only)."

    def add_arguments(self, parser):
        defaults = DemoSpec()
        parser.add_argument("--seed", type=int, default=defaults.seed,
                            help="random seed: the same seed gives the same names and numbers")
        parser.add_argument("--schools", type=int, default=defaults.schools)
        parser.add_argument("--students", type=int, default=defaults.students,
                            help="enrolled students in total, spread over the schools")
        parser.add_argument("--reset", action="store_true",
                            help="delete the existing demo data first, then build it again")
        parser.add_argument("--delete", action="store_true",
                            help="delete the existing demo data and stop")
        parser.add_argument("--if-empty", action="store_true",
                            help="for `make run`: build the demo only if the database has no "
                                 "school at all; otherwise say so in one line and stop (exit 0)")

    def handle(self, *args, **options):
        try:
            demo_ensure_allowed()
        except DemoNotAllowed as exc:
            raise CommandError(str(exc)) from None
        with scopes_disabled():  # school data sits behind ScopedManagers
            self.seed(options)

    def seed(self, options) -> None:
        spec = DemoSpec(seed=options["seed"], schools=options["schools"],
                        students=options["students"])
        try:
            spec.validate()
        except ValueError as exc:
            raise CommandError(str(exc)) from None

        log = self.stdout.write
        if options["if_empty"] and not (options["reset"] or options["delete"]):
            if demo_exists():
                log("Demo district present (seed_demo --reset rebuilds it).")
                return
            if schools_exist():
                log("The database has schools of its own: no demo data added.")
                return
        if options["reset"] or options["delete"]:
            started = time.perf_counter()
            deleted = demo_reset()
            summary = ", ".join(f"{k} {v}" for k, v in sorted(deleted.items()) if v)
            log(f"Deleted the demo data in {time.perf_counter() - started:.1f} s"
                f"{': ' + summary if summary else ' (there was none)'}.")
            if options["delete"]:
                return
        elif demo_exists():
            log(self.style.WARNING(
                "The demo district already exists; nothing done. "
                "Use --reset to build it again."))
            log(format_logins_table(demo_logins()))
            return

        conflicts = demo_conflicts()
        if conflicts:
            raise CommandError("Cannot build the demo, these rows are in the way: "
                               + "; ".join(conflicts) + ". seed_demo --delete removes demo "
                               "left-overs; rename anything else.")

        log(f"Building the demo district: {spec.schools} schools, {spec.students:,} students, "
            f"seed {spec.seed} …")
        result = demo_build(spec, log=log)
        for step, seconds in result.timings:
            log(f"  {step:<32} {seconds:8.1f} s")
        log(f"  {'total':<32} {result.seconds:8.1f} s")
        log("Rows: " + ", ".join(f"{k} {v:,}" for k, v in result.counts.items()))
        log(self.style.SUCCESS("Demo district ready."))
        if not options["if_empty"]:  # `make run` prints the table itself (demo_logins)
            log(format_logins_table(demo_logins()))
