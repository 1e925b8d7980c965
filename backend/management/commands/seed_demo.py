import secrets

from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from rest_framework.authtoken.models import Token


class Command(BaseCommand):
    help = (
        "Load demo data for local use: an admin login (a new password each run, printed), its API "
        "token, and each app's demo data (apps provide a seed_demo(stdout) method on their AppConfig). "
        "Safe to run again."
    )

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")

    def handle(self, *args, username, **options):
        User = get_user_model()
        password = secrets.token_urlsafe(12)
        admin, _ = User.objects.get_or_create(username=username, defaults={"email": f"{username}@example.com"})
        admin.is_staff = admin.is_superuser = admin.is_active = True
        admin.set_password(password)
        admin.save()
        token, _ = Token.objects.get_or_create(user=admin)

        # Apps in INSTALLED_APPS order: campaigns before reporting, whose demo rows need line items.
        for config in apps.get_app_configs():
            seed = getattr(config, "seed_demo", None)
            if callable(seed):
                seed(self.stdout, password=password)

        self.stdout.write(self.style.SUCCESS("Demo data loaded."))
        self.stdout.write(f"  Admin login:  {username} / {password}")
        self.stdout.write(f"  API token:    {token.key}   (Authorization: Token {token.key})")
