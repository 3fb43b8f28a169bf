"""Settings for the HTTP benchmark's gunicorn: the product's, plus one bare view to compare
with (bench.urls). Never used by the product itself."""

from releasebot.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
