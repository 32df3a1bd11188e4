"""`manage.py demo_logins`: print the demo logins if the demo exists; silent otherwise.

Meant for `make run`, which prints it on every start. Exits 0 whatever it finds, also on a
database that is not migrated yet.
"""

from django.core.management.base import BaseCommand
from django.db import DatabaseError

from jiafang.demo.services import demo_allowed, demo_exists, demo_logins, format_logins_table


class Command(BaseCommand):
    help = "Print the table of demo logins (if the demo district exists)."

    def handle(self, *args, **options):
        try:
            exists = demo_exists()
        except DatabaseError:  # not migrated yet
            return
        if not exists:
            return
        if not demo_allowed():
            # Never advertise a known password on a production deployment; do say it is there.
            self.stderr.write("Warning: demo accounts exist but DEBUG and DEMO_MODE are off. "
                              "Remove them with `seed_demo --delete` on a demo machine.")
            return
        self.stdout.write(format_logins_table(demo_logins()))
