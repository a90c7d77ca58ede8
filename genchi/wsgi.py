import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "genchi.settings")
application = get_wsgi_application()

# A web server runs no management command, so the start-up checks run here: a data folder
# others can read stops the server with the message that says how to fix it.
from django.core.exceptions import ImproperlyConfigured  # noqa: E402

from genchi.core.checks import data_folder_is_private  # noqa: E402

for problem in data_folder_is_private():
    raise ImproperlyConfigured(problem.msg)
