import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()

# A production web worker will not boot while demo accounts (public passwords) exist; gunicorn then halts.
from onewindow.core.guards import refuse_demo_accounts_in_production  # noqa: E402  (needs django.setup())

refuse_demo_accounts_in_production(tolerate_unreachable_database=True)

# Signed exchange calls (/exchange/v1/...) take a lean path past the middleware they do not use
# (docs/exchange.md "Performance"); every other request goes to Django as before.
from onewindow.exchange.wsgi import exchange_wsgi  # noqa: E402

application = exchange_wsgi(application)  # type: ignore[assignment]
