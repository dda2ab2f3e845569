"""Usernames unique regardless of case, in the database; refuses to run over duplicates."""

from django.db import migrations, models
from django.db.models import Count
from django.db.models.functions import Lower


def refuse_duplicates(apps, schema_editor):
    User = apps.get_model("accounts", "User")
    clashes = (
        User.objects.annotate(folded=Lower("username"))
        .values("folded")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .values_list("folded", flat=True)
    )
    groups = [
        sorted(User.objects.filter(username__iexact=folded).values_list("username", flat=True))
        for folded in clashes
    ]
    if groups:
        listed = "; ".join(", ".join(names) for names in sorted(groups))
        raise RuntimeError(
            "Cannot make usernames unique regardless of case: these users differ only in the "
            f"case of their names: {listed}. Rename (or merge) all but one of each, then migrate "
            "again."
        )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_user_token_key"),
    ]

    operations = [
        migrations.RunPython(refuse_duplicates, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="user",
            constraint=models.UniqueConstraint(
                Lower("username"),
                name="accounts_user_username_ci_unique",
                violation_error_message="A user with that username already exists.",
            ),
        ),
    ]
