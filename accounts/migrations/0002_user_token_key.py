"""Every user gets a key of their own, carried in their tokens (claim `tk`)."""

import secrets

from django.db import migrations, models

import accounts.models


def fill_keys(apps, schema_editor):
    # AddField computes a callable default once for all existing rows: give each its own.
    User = apps.get_model("accounts", "User")
    for pk in User.objects.values_list("pk", flat=True).iterator():
        User.objects.filter(pk=pk).update(token_key=secrets.token_hex(16))


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="user",
            name="token_key",
            field=models.CharField(
                default=accounts.models.new_token_key, editable=False, max_length=32
            ),
        ),
        migrations.RunPython(fill_keys, migrations.RunPython.noop),
    ]
