# The model TrunkCommit is now Revision, the name the product uses everywhere. The table keeps
# its name and nothing changes in the database: the rename is in Django's state only.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("pushes", "0004_notification_kinds_revert_and_karma"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RenameModel(old_name="TrunkCommit", new_name="Revision"),
                migrations.AlterModelTable(name="revision", table="pushes_trunkcommit"),
                migrations.AlterField(
                    model_name="revision",
                    name="repository",
                    field=models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="revisions",
                        to="pushes.repository",
                    ),
                ),
            ],
            database_operations=[],
        ),
    ]
