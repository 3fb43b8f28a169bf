from __future__ import annotations

from django.apps import AppConfig


class PushesConfig(AppConfig):
    name = "pushes"
    verbose_name = "Trains, pushes and picks"

    def ready(self) -> None:
        from django.contrib.auth import get_user_model
        from django.db.models.signals import post_delete, post_save

        from pushes import models
        from pushes.statuscache import status_changed, user_saved

        # What a revision status shows: saving or deleting any of these drops stored answers.
        shown = (
            models.Engineer,
            models.Repository,
            models.Revision,
            models.ReleaseBranch,
            models.Push,
            models.Pick,
            models.BranchCommit,
        )
        for model in shown:
            post_save.connect(status_changed, sender=model, dispatch_uid=f"status-{model.__name__}")
            post_delete.connect(
                status_changed, sender=model, dispatch_uid=f"status-del-{model.__name__}"
            )
        from rest_framework.authtoken.models import Token

        # Tokens are kept beside the answers (releasebot/authentication.py).
        post_save.connect(status_changed, sender=Token, dispatch_uid="status-token")
        post_delete.connect(status_changed, sender=Token, dispatch_uid="status-del-token")
        post_save.connect(user_saved, sender=get_user_model(), dispatch_uid="status-user")
        post_delete.connect(status_changed, sender=get_user_model(), dispatch_uid="status-del-user")

        from django.db.models.signals import pre_delete

        from karma.models import Karma
        from pushes.services.risk_index import karma_changed, pick_deleted, push_deleting

        # Stars are an input of risk: the risk dashboard's kept ranks of the user's picks.
        post_save.connect(karma_changed, sender=Karma, dispatch_uid="risk-karma")
        post_delete.connect(karma_changed, sender=Karma, dispatch_uid="risk-del-karma")
        post_delete.connect(pick_deleted, sender=models.Pick, dispatch_uid="risk-del-pick")
        pre_delete.connect(push_deleting, sender=models.Push, dispatch_uid="risk-del-push")
