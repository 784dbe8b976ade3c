"""Create the role groups of PRODUCT.md §1 and the initiative code sequence row."""

from django.db import migrations

ROLE_GROUPS = ("pm", "executive", "finance", "admin")


def forwards(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    CodeSequence = apps.get_model("initiatives", "CodeSequence")
    for name in ROLE_GROUPS:
        Group.objects.get_or_create(name=name)
    CodeSequence.objects.get_or_create(name="initiative", defaults={"last_value": 0})


def backwards(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLE_GROUPS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("initiatives", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
