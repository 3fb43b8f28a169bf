"""`GET /api/pushes/<id>/notes/`: a push's release notes as Markdown, and how the schema says so.

The answer is `text/markdown; charset=utf-8`. A refusal (not signed in, no such push) is the
API's one error shape in JSON whatever the client asked for: `MarkdownRenderer` hands anything
but the notes' text to DRF's JSON renderer and says so in the Content-Type.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.renderers import BaseRenderer, JSONRenderer

from common.serializers import error_responses

MARKDOWN = "text/markdown"


class MarkdownRenderer(BaseRenderer):
    media_type = MARKDOWN
    format = "md"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        if isinstance(data, str):
            return data.encode(self.charset)
        # A refusal in the error shape: JSON, as every other answer of the API.
        response = (renderer_context or {}).get("response")
        if response is not None:
            response["Content-Type"] = JSONRenderer.media_type
        return JSONRenderer().render(data, JSONRenderer.media_type, renderer_context)


NOTES_SCHEMA = extend_schema(
    operation_id="pushes_notes",
    responses={
        (200, MARKDOWN): OpenApiResponse(
            OpenApiTypes.STR,
            description="The push's release notes in Markdown (CommonMark): a heading with the "
            "push (label, branch, kind, tag, state, when in the repository's zone), then a "
            "section per outcome (Shipped, Conflicts, Tests failed, Left out / rolled to a "
            "later push, Reverted, Not out yet) with a line per pick: number, short sha, "
            "title, review link, requestor and risk.",
        ),
        **{(code, "application/json"): answer for code, answer in error_responses(404).items()},
    },
    description="Release notes of one push: every pick it shipped, picked, or moved on to a "
    "later push while it ran, grouped by outcome.",
)
